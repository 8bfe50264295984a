;;; native-check.el --- Make sure a test run uses native code  -*- lexical-binding: t; -*-

;;; Commentary:

;; Loaded before the ERT files of the native-compiled run (see the
;; Makefile): exits 0 at once on an Emacs without native compilation,
;; and fails if the library it loads is not native code, so that the
;; run cannot silently test byte code instead.

;;; Code:

(if (not (and (fboundp 'native-comp-available-p) (native-comp-available-p)))
    (progn (message "native-check: no native compilation in this Emacs; run skipped")
           (kill-emacs 0))
  (require 'aio)
  (dolist (function '(aio-resolve aio-sleep aio--step aio-http-request))
    (unless (subr-native-elisp-p (symbol-function function))
      (message "native-check: %s is not native code" function)
      (kill-emacs 1)))
  (message "native-check: running on native-compiled Lisp"))

;;; native-check.el ends here
