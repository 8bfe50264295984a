;;; install-test.el --- Install the package archive as a new user would  -*- lexical-binding: t; -*-

;;; Commentary:

;; Run by `make test-install' in a fresh `emacs -Q --batch' whose HOME is
;; an empty temporary directory:
;;   emacs -Q --batch -l test/install/install-test.el ARCHIVE
;; Installs ARCHIVE with `package-install-file' into an empty
;; `package-user-dir', loads `aio', lets it build its module without a
;; question, and runs a small async program.  Exits non-zero on failure.

;;; Code:

(require 'package)

(defun install-test--fail (format-string &rest args)
  "Print FORMAT-STRING with ARGS and exit with status 1."
  (message "install test FAILED: %s" (apply #'format format-string args))
  (kill-emacs 1))

(let* ((archive (expand-file-name (pop command-line-args-left)))
       (package-user-dir (make-temp-file "aio-install-elpa-" t))
       (package-archives nil))
  (package-initialize)
  (package-install-file archive)
  (unless (package-installed-p 'aio-native)
    (install-test--fail "aio-native is not installed"))
  (let ((dir (package-desc-dir (cadr (assq 'aio-native package-alist)))))
    (message "installed in %s" dir)
    (setq aio-native-always-compile-module t)
    (require 'aio)
    (let ((lisp-dir (file-name-directory (locate-library "aio"))))
      (unless (file-equal-p lisp-dir dir)
        (install-test--fail "aio loaded from %s, not from %s" lisp-dir dir)))
    (eval '(aio-defun install-test--sum (n)
             (let ((total 0))
               (dotimes (i n)
                 (setq total (+ total (aio-await (aio-sleep 0.001 i)))))
               total))
          t)
    (let ((result (aio-wait-for (funcall 'install-test--sum 10))))
      (unless (equal result 45)
        (install-test--fail "the async program returned %S" result)))
    (let ((module (expand-file-name (concat "aio-native-module" module-file-suffix) dir)))
      (unless (file-exists-p module)
        (install-test--fail "no module at %s" module))
      (unless (featurep 'aio-native-module)
        (install-test--fail "the module is not loaded")))
    (message "install test passed: module built in %s" dir)
    (delete-directory package-user-dir t)))

(provide 'install-test)
;;; install-test.el ends here
