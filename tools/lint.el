;;; lint.el --- checkdoc and package-lint over the Lisp files  -*- lexical-binding: t; -*-

;;; Commentary:

;; emacs -Q --batch -L lisp -L PACKAGE-LINT-DIR -l tools/lint.el -f aio-lint FILES...
;; Runs checkdoc on every file and package-lint on every file (with
;; aio-native.el as the package's main file), and looks for `let'
;; bindings that a user's `defvar' would break (tools/lint-lets.el, see
;; `aio-lint-lets') and for calls that load cl-extra, cl-seq or seq
;; on first use (tools/lint-loads.el); prints what they find and exits
;; non-zero if anything was found.  Byte-compilation warnings are
;; checked by `make compile-lisp'.

;;; Code:

(require 'cl-lib)
(require 'checkdoc)
(require 'package-lint)
(load (expand-file-name "lint-lets" (file-name-directory load-file-name))
      nil t)
(load (expand-file-name "lint-loads" (file-name-directory load-file-name))
      nil t)

(defconst aio-lint--loads-exempt '("aio-coroutine.el" "aio-native-build.el")
  "Files allowed to call functions that load late.
The lowering of async bodies runs when code is compiled or loaded, and
the module build runs once; neither is inside a user's operation.")

(defun aio-lint--checkdoc (file)
  "Return checkdoc's complaints about FILE as a list of strings."
  (let ((checkdoc-diagnostic-buffer "*aio-lint-checkdoc*")
        (checkdoc-autofix-flag 'never)
        (checkdoc-spellcheck-documentation-flag nil))
    (when (get-buffer checkdoc-diagnostic-buffer)
      (kill-buffer checkdoc-diagnostic-buffer))
    (with-current-buffer (find-file-noselect file)
      (checkdoc-current-buffer t))
    (let ((buffer (get-buffer checkdoc-diagnostic-buffer)))
      (when buffer
        (with-current-buffer buffer
          (cl-remove-if-not (lambda (line) (string-match-p "^[^ ]+:[0-9]+: " line))
                            (split-string (buffer-string) "\n" t)))))))

(defconst aio-lint--allowed
  '(;; The package is called aio-native, but its API keeps emacs-aio's
    ;; `aio-' prefix: programs written for emacs-aio must run unchanged.
    "\\`\"aio-[^\"]*\" doesn't start with package's prefix \"aio-native\""
    ;; Debian's package-lint 0.16 predates Emacs 28 and so believes that
    ;; (emacs "28.1") names no released version.
    "\\`This makes the package uninstallable in all released Emacs versions")
  "Regexps of package-lint messages that are known, deliberate choices.")

(defun aio-lint--allowed-p (message)
  "Return non-nil if package-lint's MESSAGE matches `aio-lint--allowed'."
  (cl-some (lambda (re) (string-match-p re message)) aio-lint--allowed))

(defun aio-lint--package-lint (file)
  "Return package-lint's complaints about FILE as a list of strings."
  (with-current-buffer (find-file-noselect file)
    (let ((package-lint-main-file "aio-native.el"))
      (delq nil
            (mapcar (lambda (issue)
                      (pcase-let ((`(,line ,col ,type ,message) issue))
                        (unless (aio-lint--allowed-p message)
                          (format "%s:%d:%d: %s: %s" file line col type message))))
                    (package-lint-buffer))))))

(defun aio-lint--loads (files)
  "Return the complaints of `aio-lint-loads' about FILES, as strings."
  (cl-loop for file in files
           unless (member (file-name-nondirectory file) aio-lint--loads-exempt)
           append (aio-lint-loads file)))

(defun aio-lint--lets (files)
  "Return the complaints of `aio-lint-lets' about FILES, as strings."
  ;; Macros expand only once their files are loaded.
  (dolist (file files)
    (require (intern (file-name-base file))))
  (let ((problems nil))
    (dolist (file files)
      (dolist (hazard (aio-lint-lets file))
        (push (aio-lint-lets-message file hazard) problems)))
    (nreverse problems)))

(defun aio-lint ()
  "Lint the files named on the command line; exit 1 if anything is found."
  (let ((problems nil))
    (dolist (file command-line-args-left)
      (setq problems (append problems
                             (aio-lint--checkdoc file)
                             (aio-lint--package-lint file))))
    (setq problems (append problems (aio-lint--lets command-line-args-left)
                           (aio-lint--loads command-line-args-left)))
    (setq command-line-args-left nil)
    (dolist (p problems) (message "%s" p))
    (message "lint: %d problem(s)" (length problems))
    (kill-emacs (if problems 1 0))))

(provide 'aio-lint)
;;; lint.el ends here
