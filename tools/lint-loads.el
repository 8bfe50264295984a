;;; lint-loads.el --- Find run-time calls that load cl-extra, cl-seq or seq  -*- lexical-binding: t; -*-

;;; Commentary:

;; cl-lib autoloads most of its sequence functions (`cl-some',
;; `cl-remove-if', `cl-position'...) from cl-extra and cl-seq, and
;; cl-extra loads seq, whose generic functions are compiled when they
;; are defined: the byte compiler is loaded on the way.  The first call
;; of such a function inside the library, say in a user's first HTTP
;; request, holds Emacs for tens of milliseconds and runs the garbage
;; collector.  `aio-lint-loads' finds those calls in a file, after
;; macros are expanded, so that a macro's own use of them at expansion
;; time is not counted.

;;; Code:

(defconst aio-lint--lazy-libraries '("cl-extra" "cl-seq" "seq")
  "Libraries whose functions load on first call.")

(defun aio-lint--lazy-function-p (symbol)
  "Return the library SYMBOL's function loads from, if one that loads late."
  (when (and (symbolp symbol) (fboundp symbol) (not (special-form-p symbol))
             (not (macrop symbol)))
    (let ((file (symbol-file symbol 'defun)))
      (and file
           (car (member (file-name-sans-extension (file-name-nondirectory file))
                        aio-lint--lazy-libraries))))))

(defun aio-lint--lazy-calls (form)
  "Return the symbols in FORM, fully expanded, that name late-loaded functions."
  (let ((found nil)
        (seen (make-hash-table :test #'eq))
        (todo (list (let ((lexical-binding t)) (macroexpand-all form)))))
    (while todo
      (let ((x (pop todo)))
        (cond ((consp x)
               (unless (gethash x seen)
                 (puthash x t seen)
                 (push (car x) todo)
                 (push (cdr x) todo)))
              ((vectorp x)
               (mapc (lambda (e) (push e todo)) x))
              ((and (symbolp x) (aio-lint--lazy-function-p x))
               (cl-pushnew x found)))))
    (sort found #'string<)))

(defun aio-lint-loads (file)
  "Return the late-loaded functions the forms of FILE call, as strings.
FILE's features must be loaded, so that its macros expand."
  (let ((problems nil))
    (with-temp-buffer
      (set-syntax-table emacs-lisp-mode-syntax-table)
      (insert-file-contents file)
      (goto-char (point-min))
      (condition-case nil
          (while t
            (let* ((line (line-number-at-pos (progn (forward-comment (buffer-size)) (point))))
                   (form (read (current-buffer))))
              (dolist (fn (aio-lint--lazy-calls form))
                (push (format "%s:%d: `%s' is loaded from %s on its first call; \
write the loop out" file line fn (aio-lint--lazy-function-p fn))
                      problems))))
        (end-of-file nil)))
    (nreverse problems)))

(provide 'aio-lint-loads)
;;; lint-loads.el ends here
