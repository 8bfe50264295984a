;;; aio-probe-capture.el --- Probe: the library's local names survive a user's defvar  -*- lexical-binding: t -*-

;;; Commentary:

;; Run in a child Emacs by aio-probe-test.el.  Interpreted code decides
;; at run time whether a `let' is lexical or dynamic: after a user's
;; `(defvar settled nil)', the library's own interpreted `(let ((settled
;; ...)) ...)' binds dynamically, and a closure that uses `settled'
;; later sees another value.
;;
;; The probe collects every unprefixed name the library binds (in
;; `let', `let*', argument lists, `dolist', `dotimes', `condition-case'
;; ...), declares each one special with `defvar' as a user might, loads
;; the library from its sources (interpreted), and runs a workload of
;; every combinator and primitive (aio-probe-capture-workload.el).  Each
;; step must give the value it gives without the declarations.
;;
;; The workload's own names are left out of the declarations, and so
;; are the names the probe's compiled helpers use: the probe must not
;; capture itself.

;;; Code:

(require 'cl-lib)
(require 'aio-probe-child)

(defconst aio-probe-capture--binders
  '(let let* when-let when-let* if-let if-let* pcase-let pcase-let* cl-letf)
  "Forms whose first argument is a list of bindings.")

(defconst aio-probe-capture--lambdas
  '(lambda defun defmacro defsubst cl-defun cl-defmacro cl-defsubst aio-defun)
  "Forms with an argument list: second element for `lambda', third else.")

(defun aio-probe-capture--name-p (symbol)
  "Return non-nil if SYMBOL is a variable name a user might declare."
  (and (symbolp symbol) symbol (not (eq symbol t)) (not (keywordp symbol))
       (not (string-prefix-p "&" (symbol-name symbol)))
       (not (string-match-p "aio" (symbol-name symbol)))))

(defun aio-probe-capture--bound-names (form)
  "Return the names FORM binds, anywhere inside it."
  (let ((names nil)
        (seen (make-hash-table :test #'eq)))
    (cl-labels
        ((add (x) (when (aio-probe-capture--name-p x) (push x names)))
         (args (list) (while (consp list)
                        (add (if (consp (car list)) (caar list) (car list)))
                        (setq list (cdr list))))
         (walk (x)
           (when (and (consp x) (not (gethash x seen)))
             (puthash x t seen)
             (let ((head (car x)))
               (cond
                ((memq head aio-probe-capture--binders)
                 (when (listp (cadr x))
                   (dolist (binding (cadr x))
                     (add (if (consp binding) (car binding) binding)))))
                ((eq head 'lambda) (when (listp (cadr x)) (args (cadr x))))
                ((memq head aio-probe-capture--lambdas)
                 (when (listp (nth 2 x)) (args (nth 2 x))))
                ((eq head 'aio-lambda) (when (listp (cadr x)) (args (cadr x))))
                ((memq head '(dolist dotimes))
                 (when (consp (cadr x)) (add (car (cadr x)))))
                ((eq head 'condition-case) (add (cadr x)))))
             ;; Walk every element, dotted tails too.
             (let ((tail x))
               (while (consp tail)
                 (walk (car tail))
                 (setq tail (cdr tail)))))))
      (walk form))
    names))

(defun aio-probe-capture--file-forms (file)
  "Return the top-level forms of FILE."
  (with-temp-buffer
    (insert-file-contents file)
    (let ((forms nil))
      (condition-case nil
          (while t (push (read (current-buffer)) forms))
        (end-of-file nil))
      (nreverse forms))))

(defun aio-probe-capture--symbols (form)
  "Return every symbol in FORM."
  (let ((symbols nil))
    (cl-labels ((walk (x)
                  (cond ((symbolp x) (push x symbols))
                        ((consp x) (walk (car x)) (walk (cdr x)))
                        ((vectorp x) (mapc #'walk x)))))
      (walk form))
    symbols))

(defun aio-probe-capture-names (lisp-directory spared)
  "Return the names the library in LISP-DIRECTORY binds, minus SPARED.
Names that are special already are left out: they were never lexical."
  (let ((names nil))
    (dolist (file (directory-files lisp-directory t "\\`aio.*\\.el\\'"))
      (dolist (form (aio-probe-capture--file-forms file))
        (setq names (nconc (aio-probe-capture--bound-names form) names))))
    (sort (cl-remove-if (lambda (name) (or (special-variable-p name) (boundp name)
                                           (memq name spared)))
                        (delete-dups names))
          #'string<)))

(defconst aio-probe-capture--workload
  (expand-file-name "aio-probe-capture-workload.el"
                    (file-name-directory (or load-file-name buffer-file-name)))
  "The workload, loaded once the library is.")

(defun aio-probe-capture-main ()
  "Declare the library's names special, load it, and run the workload."
  ;; Emacs's own variables the library binds (such as
  ;; `byte-compile-log-warning-function') are special once their
  ;; library is loaded: load those first, so that only the library's
  ;; own names are declared (a nil `defvar' would clobber Emacs's).
  (dolist (feature '(bytecomp seq cl-generic url url-http edebug help-fns warnings))
    (require feature))
  (let* ((lisp (file-name-directory (expand-file-name (locate-library "aio"))))
         (spared (delete-dups
                  (append (aio-probe-capture--symbols
                           (aio-probe-capture--file-forms aio-probe-capture--workload))
                          ;; What runs interpreted in this probe besides.
                          (cl-loop for file in '("aio-probe-child.el" "aio-probe-capture.el")
                                   append (aio-probe-capture--symbols
                                           (aio-probe-capture--file-forms
                                            (expand-file-name
                                             file (file-name-directory
                                                   aio-probe-capture--workload))))))))
         (names (if (aio-probe-param :declare t) (aio-probe-capture-names lisp spared) nil)))
    (dolist (name names)
      (eval `(defvar ,name nil) t))
    ;; The library's sources, even where .elc files lie beside them:
    ;; a directory of links to the sources and the module comes first.
    (let ((sources (make-temp-file "aio-capture-" t)))
      (dolist (file (directory-files lisp t "\\`aio.*\\.\\(?:el\\|so\\)\\'"))
        (make-symbolic-link file (expand-file-name (file-name-nondirectory file) sources)))
      ;; Kept to the end: files autoloaded later come from there too.
      (add-hook 'kill-emacs-hook (lambda () (delete-directory sources t)))
      (push sources load-path)
      (require 'aio))
    (load aio-probe-capture--workload nil t)
    (aio-probe-report
     (list :declared (length names)
           :names names
           :interpreted (not (byte-code-function-p (symbol-function 'aio-all-settled)))
           :steps (funcall (intern "aio-probe-capture-run"))))))

(provide 'aio-probe-capture)
;;; aio-probe-capture.el ends here
