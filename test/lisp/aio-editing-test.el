;;; aio-editing-test.el --- Tests of editor support for aio-defun  -*- lexical-binding: t -*-

;;; Commentary:

;; imenu, font-lock, edebug specs and autoload cookies for `aio-defun'.

;;; Code:

(require 'ert)
(require 'aio-test-helpers)
(require 'aio)
(require 'imenu)

(defconst aio-editing-test--dir
  (file-name-directory (or load-file-name buffer-file-name)))

(aio-deftest aio-defun-in-imenu ()
  (with-temp-buffer
    (emacs-lisp-mode)
    (insert "(aio-defun my-async-thing (x)\n  (aio-await x))\n(defun my-plain (y) y)\n")
    (let ((index (funcall imenu-create-index-function)))
      (should (assoc "my-async-thing" index))
      (should (assoc "my-plain" index)))))

(aio-deftest aio-defun-font-lock ()
  (with-temp-buffer
    (emacs-lisp-mode)
    (insert "(aio-defun my-async-thing (x)\n  (aio-await x))\n")
    (font-lock-ensure)
    (goto-char (point-min))
    (search-forward "my-async")
    (should (eq 'font-lock-function-name-face (get-text-property (point) 'face)))
    (search-forward "(aio-awa")
    (should (eq 'font-lock-keyword-face (get-text-property (point) 'face)))))

(aio-deftest aio-macros-have-edebug-specs ()
  (dolist (macro '(aio-await aio-lambda aio-defun aio-with-async
                   aio-with-promise aio-chain))
    (should (get macro 'edebug-form-spec))))

(aio-deftest aio-defun-autoload-cookie ()
  ;; Generate autoloads for the fixture in one Emacs with aio loaded,
  ;; then use them in a fresh Emacs that has not loaded aio.
  (let* ((dir (make-temp-file "aio-autoload-" t))
         (emacs (expand-file-name invocation-name invocation-directory))
         (lisp (file-name-directory (locate-library "aio")))
         (loaddefs (expand-file-name "fixture-loaddefs.el" dir)))
    (unwind-protect
        (progn
          (copy-file (expand-file-name "aio-fixture.el" aio-editing-test--dir)
                     (file-name-as-directory dir))
          (should (zerop (call-process
                          emacs nil nil nil "-Q" "--batch" "-L" lisp
                          "-l" "aio"
                          "--eval" (format "(make-directory-autoloads %S %S)"
                                           dir loaddefs))))
          (with-temp-buffer
            (insert-file-contents loaddefs)
            (should (search-forward "(autoload 'aio-fixture-add" nil t))
            (should-not (search-forward "(aio-defun" nil t)))
          (with-temp-buffer
            (should (zerop (call-process
                            emacs nil t nil "-Q" "--batch" "-L" lisp "-L" dir
                            "-l" loaddefs
                            "--eval"
                            "(progn
  (princ (format \"%S %S\\n\" (featurep 'aio)
                 (autoloadp (symbol-function 'aio-fixture-add))))
  (princ (format \"%S\\n\" (car (help-split-fundoc
                                 (documentation 'aio-fixture-add)
                                 'aio-fixture-add))))
  (princ (format \"%S\\n\" (commandp 'aio-fixture-add)))
  (let ((promise (aio-fixture-add 1 2)))
    (princ (format \"%S\\n\" (aio-wait-for promise 10)))))")))
            (should (equal (concat "nil t\n"
                                   "\"(aio-fixture-add A B &optional C &rest MORE)\"\n"
                                   "t\n3\n")
                           (buffer-string)))))
      (delete-directory dir t))))

(aio-deftest aio-defun-known-from-the-autoloads-alone ()
  ;; The autoloads of aio-editing.el, as package.el makes them, in a
  ;; fresh Emacs that cannot load aio: imenu and font-lock know
  ;; `aio-defun' already.
  (let* ((dir (make-temp-file "aio-autoload-" t))
         (emacs (expand-file-name invocation-name invocation-directory))
         (loaddefs (expand-file-name "aio-loaddefs.el" dir)))
    (unwind-protect
        (progn
          (copy-file (locate-library "aio-editing.el") (file-name-as-directory dir))
          (should (zerop (call-process emacs nil nil nil "-Q" "--batch"
                                       "--eval" (format "(make-directory-autoloads %S %S)"
                                                        dir loaddefs))))
          (delete-file (expand-file-name "aio-editing.el" dir))
          (with-temp-buffer
            (should (zerop (call-process
                            ;; Twice, as when aio-editing.el is loaded after them.
                            emacs nil t nil "-Q" "--batch" "-l" loaddefs "-l" loaddefs
                            "--eval"
                            "(progn
  (require 'imenu)
  (with-temp-buffer
    (emacs-lisp-mode)
    (insert \"(aio-defun my-async-thing (x)\\n  (aio-await x))\\n\")
    (font-lock-ensure)
    (goto-char (point-min))
    (search-forward \"my-async\")
    (let ((face (get-text-property (point) 'face))
          (specs 0))
      (dolist (spec (cdr (assq 'emacs-lisp-mode font-lock-keywords-alist)))
        (when (string-match-p \"aio-defun\" (format \"%S\" (car spec)))
          (setq specs (1+ specs))))
      (princ (format \"%S %S %S %S\\n\"
                     (featurep 'aio-editing)
                     (car (assoc \"my-async-thing\" (funcall imenu-create-index-function)))
                     face specs)))))")))
            (should (equal "nil \"my-async-thing\" font-lock-function-name-face 1\n"
                           (buffer-string)))))
      (delete-directory dir t))))

(provide 'aio-editing-test)
;;; aio-editing-test.el ends here
