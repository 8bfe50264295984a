;;; aio-editing.el --- Editor support for aio-defun  -*- lexical-binding: t -*-

;;; Commentary:

;; What makes `aio-defun' feel like `defun' in an editor: font-lock of
;; the defined name, an imenu entry (both from the package's autoloads,
;; before aio is loaded), and an autoload cookie that yields a real
;; `autoload' form.  Emacs 28's autoload.el copies a form it does
;; not know verbatim into the loaddefs file, which would define the whole
;; function at startup; the advice below teaches it `aio-defun' instead.

;;; Code:

(require 'lisp-mode)
(require 'macroexp)
(require 'aio-async)

(declare-function make-autoload "autoload" (form file &optional expansion))

;; These go into the package's autoloads too, so that a file visited
;; before aio is loaded already shows `aio-defun' as a definition.  They
;; refer to nothing of this file: only to lisp-mode, which Emacs
;; preloads.  Run twice (autoloads, then this file), they add once.
;;;###autoload
(let ((keywords
       `((,(concat "(\\(aio-defun\\)\\_>[ \t']*\\(" lisp-mode-symbol-regexp "\\)?")
          (1 font-lock-keyword-face)
          (2 font-lock-function-name-face nil t))
         ("(\\(aio-\\(?:await\\|lambda\\|with-async\\)\\)\\_>"
          (1 font-lock-keyword-face)))))
  (unless (assoc keywords (cdr (assq 'emacs-lisp-mode font-lock-keywords-alist)))
    (font-lock-add-keywords 'emacs-lisp-mode keywords))
  (add-to-list 'lisp-imenu-generic-expression
               (list nil (concat "^\\s-*(aio-defun\\s-+\\(" lisp-mode-symbol-regexp "\\)") 1)
               t))

;;;###autoload
(defun aio-make-autoload (form file &optional _expansion)
  "Return the autoload for FORM in FILE if FORM is an `aio-defun', else nil.
Meant as `:before-until' advice on `make-autoload'."
  (when (and (eq (car-safe form) 'aio-defun) (symbolp (nth 1 form)))
    (let* ((decls (car (macroexp-parse-body (nthcdr 3 form))))
           (doc (and (stringp (car decls)) (car decls)))
           (interactive (assq 'interactive decls)))
      (make-autoload `(defun ,(nth 1 form) ,(nth 2 form)
                        ,@(and doc (list doc))
                        ,@(and interactive (list interactive))
                        nil)
                     file))))

;; Advice on a function not yet loaded waits for its definition, so this
;; needs no `with-eval-after-load'.
;;;###autoload
(advice-add 'make-autoload :before-until #'aio-make-autoload)

(provide 'aio-editing)
;;; aio-editing.el ends here
