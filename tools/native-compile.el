;;; native-compile.el --- Native-compile a copy of the Lisp for the tests  -*- lexical-binding: t; -*-

;;; Commentary:

;; emacs -Q --batch -L DIR -l tools/native-compile.el DIR/FILE.el...
;; Native-compiles each FILE, whose .elc is already beside it, the .eln
;; files going to DIR/cache/, as package.el does on an Emacs with native
;; compilation.  The Makefile runs several of these side by side.
;; Without native compilation it says so and does nothing;
;; tools/native-check.el then skips the test run.

;;; Code:

(let ((files (mapcar #'expand-file-name command-line-args-left)))
  (setq command-line-args-left nil)
  (if (not (and (fboundp 'native-comp-available-p) (native-comp-available-p)))
      (message "native-compile: this Emacs has no native compilation; skipped")
    (when files
      (push (expand-file-name "cache/" (file-name-directory (car files)))
            native-comp-eln-load-path)
      (dolist (file files)
        (native-compile file))
      (message "native-compile: %d files" (length files)))))

;;; native-compile.el ends here
