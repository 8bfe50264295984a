;;; aio-site.el --- Where async functions and their awaits are  -*- lexical-binding: t -*-

;;; Commentary:

;; What the debugging tools say about an async function (its file and
;; line, which await a task is paused at, which errors a `condition-case'
;; around that await catches) is worked out while the function is
;; macroexpanded, and kept in constants of the expanded code: a *site*
;; for each await, and an *info* for each async function.  Keeping
;; them costs nothing at run time: a pausing await already stores one
;; constant in a variable, and a task already keeps its name.
;;
;; Lines are found as text.  Whoever expands the macro has just read
;; the top-level form around it, from a buffer whose point is after
;; that form: the byte compiler's input buffer, `eval-buffer''s buffer,
;; or the " *load*" buffer of `load'.  An await gets a line when the
;; form around the expansion holds exactly one form `equal' to it; the
;; comparison, not the heuristic, decides, so a line is either right or
;; missing.  Edebug's instrumentation is stripped before comparing.

;;; Code:

(require 'cl-lib)
(require 'macroexp)

;;;; Sites and infos

(cl-defstruct (aio--site (:type vector) (:constructor aio--make-site)
                         (:copier nil) (:predicate nil))
  "Where an await is, kept as a constant of the expanded code.
FUNCTION is the function the awaited form calls, or nil (see
`aio--site'); FORM a short printed form of the awaited expression;
LINE the line of the await, or nil (its file is its function's, see
`aio--info'); HANDLERS the conditions that
the `condition-case' forms of the async body around the await catch
\(t catches everything), for the debugger's guess whether an error
arriving there is handled."
  function form line handlers)

(cl-defstruct (aio--info (:type vector) (:constructor aio--make-info)
                         (:copier nil) (:predicate nil))
  "What is known of an async function, kept as a constant of its code.
KIND is `aio-defun', `aio-lambda' or `aio-with-async' (or nil, for
another macro built on `aio--async-body'); FILE and LINE
where it is defined, or nil; ARGLIST its lambda list; LOCALS nil, or
a vector naming the variable each slot of its frame holds (nil for
slots that hold none), see `aio--coroutine'."
  kind file line arglist locals)

;;;; Edebug's instrumentation

(defun aio--strip-edebug (form &optional depth)
  "Return FORM without the code Edebug's instrumentation added.
DEPTH counts the levels already entered: a form nested deeper than a
few hundred levels, a dotted list or a circular one is returned as it
is (Edebug makes none of those), so that a bad form passed to a macro
is refused by the macro rather than looping here."
  (setq depth (or depth 0))
  (cond
   ((or (atom form) (> depth 200) (not (proper-list-p form))) form)
   ((and (eq (car form) 'edebug-after) (= (length form) 4))
    (aio--strip-edebug (nth 3 form) (1+ depth)))
   ((and (eq (car form) 'edebug-enter)
         (eq (car-safe (nth 3 form)) 'function)
         (eq (car-safe (cadr (nth 3 form))) 'lambda))
    (macroexp-progn (aio--strip-edebug (cddr (cadr (nth 3 form))) (1+ depth))))
   (t (let ((out nil))
        (dolist (item form)
          (let ((stripped (aio--strip-edebug item (1+ depth))))
            ;; An instrumented body is one `edebug-enter' form: splice it.
            (if (and (eq (car-safe stripped) 'progn)
                     (eq (car-safe item) 'edebug-enter))
                (setq out (append (reverse (cdr stripped)) out))
              (push stripped out))))
        (nreverse out)))))

;;;; Source text

(defvar aio--source nil
  "While an async form is expanded: (BUFFER BEG . END) of its source.
BEG and END delimit the top-level form read last, or the value is
nil when unknown.  See `aio--with-source'.")

(defun aio--load-buffer ()
  "Return the buffer `load' is reading source from, or nil."
  (let ((found nil))
    (dolist (buffer (buffer-list))
      (when (string-prefix-p " *load*" (buffer-name buffer))
        (setq found buffer)))
    found))

(defun aio--source-region ()
  "Return (BUFFER BEG . END) of the top-level form being expanded, or nil.
That is the form just read, before point, or, as \[eval-defun]
expands it, the one around point."
  (let ((buffer (if (and load-in-progress (not (macroexp-compiling-p)))
                    ;; Nil when `load' reads no buffer: then nothing is known.
                    (aio--load-buffer)
                  (current-buffer))))
    (when buffer
      (with-current-buffer buffer
        (with-syntax-table emacs-lisp-mode-syntax-table
          (let* ((outer (car (nth 9 (save-excursion (syntax-ppss)))))
                 (beg (or outer (ignore-errors (scan-sexps (point) -1))))
                 (end (if outer (ignore-errors (scan-sexps outer 1)) (point))))
            (and beg end (< beg end) (eq (char-after beg) ?\()
                 (cons buffer (cons beg end)))))))))

(defmacro aio--with-source (&rest body)
  "Run BODY with `aio--source' set for the async form being expanded.
A form nested in another keeps the outer form's region."
  (declare (indent 0) (debug t))
  `(let ((aio--source (or aio--source (ignore-errors (aio--source-region)))))
     ,@body))

(defun aio--source-file ()
  "Return the file the async form being expanded comes from, or nil."
  (or (macroexp-file-name)
      (and aio--source (buffer-file-name (car aio--source)))))

(defvar read-with-symbol-positions)

(defun aio--read-at (position)
  "Return the form at POSITION in the current buffer, or nil.
Emacs 28's byte compiler notes where it read each symbol of the form
it compiles, from the same buffer: this read must not replace that."
  (ignore-errors
    (save-excursion
      (goto-char position)
      (with-suppressed-warnings ((obsolete read-with-symbol-positions))
        (let ((read-with-symbol-positions nil))
          (read (current-buffer)))))))

(defun aio--source-line (head form)
  "Return the line of FORM in the source, if it is there exactly once.
FORM is a list whose car is HEAD; it is compared, without Edebug's
instrumentation, with each form starting with \"(HEAD\" in the
region of `aio--source'."
  (when aio--source
    (cl-destructuring-bind (buffer beg . end) aio--source
      (when (buffer-live-p buffer)
        (let ((wanted (aio--strip-edebug form))
              (needle (concat "(" (symbol-name head)))
              (found nil)
              (count 0))
          (with-current-buffer buffer
            (save-excursion
              (save-match-data
                (with-syntax-table emacs-lisp-mode-syntax-table
                  (goto-char beg)
                  (while (and (< count 2) (search-forward needle end t))
                    (let ((start (match-beginning 0)))
                      (when (and (memq (char-after) '(?\s ?\t ?\n ?\)))
                                 ;; `syntax-ppss' moves point.
                                 (not (save-excursion (nth 8 (syntax-ppss start))))
                                 (equal wanted (aio--read-at start)))
                        (setq count (1+ count)
                              found (line-number-at-pos start t)))))))))
          (and (= count 1) found))))))

;;;; Building sites and infos

(defvar print-symbols-bare)

(defun aio--short-form (form &optional width)
  "Return FORM printed on one line, no wider than WIDTH (default 60).
Symbols print bare, without the positions Emacs 29's byte compiler
gives them."
  (let ((print-length 4) (print-level 3) (print-escape-newlines t)
        (print-symbols-bare t))
    (truncate-string-to-width (prin1-to-string (aio--strip-edebug form))
                              (or width 60) nil nil "...")))

(defun aio--site (expr)
  "Return the function called by EXPR, an expanded awaited form, or nil.
Nil also for a special form or `funcall'."
  (let ((head (car-safe (aio--strip-edebug expr))))
    (and head (symbolp head)
         (not (special-form-p head))
         (not (memq head '(funcall apply)))
         head)))

(defun aio--site-where (site info)
  "Return a string saying where SITE is: file and line, or its form.
INFO is the `aio--info' of the async function SITE is in, or nil: the
file is that function's."
  (let ((file (and info (aio--info-file info)))
        (line (aio--site-line site)))
    (cond ((and file line)
           (format "%s:%d" (file-name-nondirectory file) line))
          (file (format "%s (in %s)" (aio--site-form site)
                        (file-name-nondirectory file)))
          (t (aio--site-form site)))))

(defun aio--site-catches-p (site condition)
  "Return non-nil if the handlers around SITE catch CONDITION."
  (let ((handlers (aio--site-handlers site)))
    (or (memq t handlers)
        (cl-loop for c in (get (car condition) 'error-conditions)
                 thereis (memq c handlers)))))

(provide 'aio-site)
;;; aio-site.el ends here
