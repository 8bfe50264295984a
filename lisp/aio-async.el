;;; aio-async.el --- Async functions for aio: await, lambda, defun  -*- lexical-binding: t -*-

;;; Commentary:

;; An async function is a generator (generator.el) driven by promises.
;; `aio-await' becomes an `iter-yield' of the awaited promise; the driver
;; resumes the generator from the ready queue with the promise's value
;; function, which the body calls at the await point.  So a result comes
;; back as a value and an error is signaled right where the body awaited,
;; and a later cancellation can be delivered the same way.
;;
;; Awaiting something that is not a promise does not yield at all.
;; Awaiting a resolved promise yields only when it has to: when the task
;; was resumed straight from the ready queue, the queue is empty and the
;; slice has time left, yielding would only put this task back at the
;; head of the queue and run it at once, so the body simply goes on.  In
;; every other case (first step of a task, other callbacks waiting, slice
;; used up) it yields, which keeps the program's order FIFO, keeps deep
;; chains of async calls off the Lisp stack, and lets Emacs breathe.

;;; Code:

(require 'cl-lib)
(require 'generator)
(require 'macroexp)
(require 'aio-promise)

(defvar aio--direct nil
  "Non-nil while a task resumed directly by the ready queue runs.")

;;;; The driver

;; Paused tasks live in this table, under a number, and the callback
;; waiting on the awaited promise holds only that number.  Were it to
;; hold the task itself, a chain of async calls N deep would be an object
;; graph N deep (promise -> callback -> task -> its promise -> ...), and
;; Emacs 28's garbage collector marks such a graph recursively in C: it
;; overflows the C stack near 100,000 levels.  The price is that a task
;; awaiting a promise nobody will ever resolve stays here for good,
;; where it can at least be seen.
(defvar aio--paused (make-hash-table :test #'eq)
  "Paused tasks: a number mapped to (GENERATOR . PROMISE).")

(defvar aio--task-counter 0
  "The number given to the most recently paused task.")

(defun aio--resume (id value-function)
  "Resume the paused task numbered ID with VALUE-FUNCTION."
  (let ((task (gethash id aio--paused)))
    (remhash id aio--paused)
    (aio--step (car task) (cdr task) value-function t)))

(defun aio--resumer (id)
  "Return the callback that resumes the paused task numbered ID.
A function of its own, so that even an interpreted closure holds ID
and nothing else."
  (lambda (value-function) (aio--resume id value-function)))

(defun aio--step (iter promise value-function direct)
  "Run ITER, the generator of PROMISE's task, up to its next pause.
VALUE-FUNCTION is what the paused `aio-await' receives.  DIRECT is
non-nil when the ready queue resumes the task."
  (let ((aio--direct direct))
    (condition-case err
        (let ((awaited (iter-next iter value-function))
              (id (setq aio--task-counter (1+ aio--task-counter))))
          (puthash id (cons iter promise) aio--paused)
          (aio-listen awaited (aio--resumer id)))
      (iter-end-of-sequence
       (aio-resolve promise (aio--value-fn (cdr err))))
      (error
       (aio-resolve promise (aio--error-fn err)))
      (quit
       (aio-resolve promise (aio--error-fn err))
       (signal (car err) (cdr err))))))

(defun aio--start (iter)
  "Start the task run by generator ITER and return its promise."
  (let ((promise (aio-promise)))
    (aio--step iter promise nil nil)
    promise))

(defvar aio--await-var nil
  "While an async body is expanded, the variable its awaits work in.")

(defun aio--pause-p (value)
  "Return non-nil if awaiting VALUE must pause the async function.
It need not when VALUE is not a promise, nor when VALUE is resolved
and pausing would only resume the task at once: the task was resumed
straight from the ready queue, nothing else waits there, and the
slice has time left."
  (and (aio-promise-p value)
       (not (and aio--direct
                 (aio-promise-result value)
                 (null aio--queue-head)
                 (aio--slice-left-p)))))

(defun aio--now (value)
  "Return the value of awaiting VALUE, which needs no pause."
  (if (aio-promise-p value)
      (funcall (aio-promise-result value))
    value))

;;;; Expansion of async bodies

;; Every await of one body shares one variable, an argument of the
;; generator: generator.el turns each `let' around a yield into several
;; states, each a closure made anew for every call of the async function,
;; and their weight in memory is what garbage collection pays for.
(defun aio--await-expansion (expr)
  "Return the code that awaits EXPR inside an async body."
  (let ((var aio--await-var))
    `(if (aio--pause-p (setq ,var ,expr))
         (funcall (iter-yield ,var))
       (aio--now ,var))))

(defun aio--check-yields (form in-function)
  "Signal an error if FORM yields from inside a nested function.
FORM is fully macroexpanded.  IN-FUNCTION is non-nil inside a lambda."
  (while (consp form)
    (let ((head (car form)))
      (cond
       ((eq head 'quote) (setq form nil))
       ((and (eq head 'function) (eq (car-safe (cadr form)) 'lambda))
        (aio--check-yields (cddr (cadr form)) t)
        (setq form nil))
       ((and (eq head 'iter-yield) in-function)
        (error "`aio-await' inside a nested function (such as a lambda \
passed to `mapc') cannot pause the async function around it: await in \
the async body itself (e.g. loop with `dolist'), or make the inner \
function an `aio-lambda' and await the promise it returns"))
       (t
        (aio--check-yields head in-function)
        (setq form (cdr form)))))))

(defun aio--expand-body (body)
  "Return BODY, an async function's forms, fully macroexpanded.
`aio-await' is expanded here, to work in `aio--await-var'; an await
that cannot work is an error."
  (let ((expanded (macroexpand-all
                   (macroexp-progn body)
                   (cons (cons 'aio-await #'aio--await-expansion)
                         macroexpand-all-environment))))
    (aio--check-yields expanded nil)
    expanded))

(defun aio--check-lexical (macro)
  "Signal an error if code using MACRO is not lexically bound."
  (unless lexical-binding
    (error "`%s' needs lexical binding: put \"-*- lexical-binding: t -*-\" \
on the first line of the file" macro)))

(defun aio--call-form (arglist)
  "Return forms that pass the variables of ARGLIST on, and whether to apply."
  (let (args rest)
    (while arglist
      (let ((arg (pop arglist)))
        (cond ((eq arg '&optional))
              ((eq arg '&rest) (setq rest (pop arglist)))
              (t (push arg args)))))
    (cons (nreverse args) rest)))

(defun aio--async-body (body)
  "Return a form to start BODY as a task."
  (let ((aio--await-var (make-symbol "awaited")))
    `(aio--start (funcall (iter-lambda (,aio--await-var)
                            ,(aio--expand-body body))
                          nil))))

;;;; Public macros

(defmacro aio-await (expr)
  "Pause the async function until EXPR's promise resolves; return its value.
If the promise was rejected, its error is signaled here.  A value of
EXPR that is not a promise is returned at once.  Only valid directly
in the body of `aio-lambda', `aio-defun' or `aio-with-async'."
  (declare (debug (form)))
  (ignore expr)
  (error "`aio-await' used outside an async function: use it directly \
in the body of `aio-lambda', `aio-defun' or `aio-with-async', or wait \
with `aio-wait-for' in ordinary code"))

(defmacro aio-lambda (arglist &rest body)
  "Return an async function of ARGLIST with BODY.
The function, when called, runs BODY up to its first pause and returns
a promise of BODY's value.  BODY may start with a docstring and an
`interactive' form, and may use `aio-await'.

\(fn ARGLIST [DOCSTRING] [INTERACTIVE] BODY...)"
  (declare (indent defun) (doc-string 2)
           (debug (&define lambda-list lambda-doc &rest sexp)))
  (aio--check-lexical 'aio-lambda)
  (let ((parsed (macroexp-parse-body body)))
    `(lambda ,arglist ,@(car parsed) ,(aio--async-body (cdr parsed)))))

(defconst aio--async-note
  "This function is asynchronous: it returns an `aio-promise' of its value."
  "The line added to the documentation of each `aio-defun' function.")

(defun aio--async-doc (doc)
  "Return DOC with a line saying the function is asynchronous.
A trailing \"(fn ...)\" usage line stays at the end."
  (let* ((usage-start (and doc (string-match "\n\n(fn\\(?: .*\\)?)\\'" doc)))
         (text (if usage-start (substring doc 0 usage-start) doc)))
    (concat (and text (not (equal text "")) (concat text "\n\n"))
            aio--async-note
            (and usage-start (substring doc usage-start)))))

(defmacro aio-defun (name arglist &rest body)
  "Define NAME as an async function of ARGLIST with BODY.
Like `defun': BODY may start with a docstring, `declare' forms and an
`interactive' form.  Calling NAME runs BODY up to its first pause and
returns a promise of BODY's value.  BODY may use `aio-await'.

\(fn NAME ARGLIST [DOCSTRING] [DECLARE] [INTERACTIVE] BODY...)"
  (declare (indent defun) (doc-string 3)
           (debug (&define name lambda-list lambda-doc
                           [&optional ("declare" def-declarations)]
                           &rest sexp)))
  (aio--check-lexical 'aio-defun)
  (let* ((parsed (macroexp-parse-body body))
         (decls (car parsed))
         (doc (and (stringp (car decls)) (pop decls))))
    `(defun ,name ,arglist
       ,(aio--async-doc doc)
       ,@decls
       ,(aio--async-body (cdr parsed)))))

(defconst aio--next-turn (let ((promise (aio-promise)))
                           (setf (aio-promise-result promise) #'ignore)
                           promise)
  "A resolved promise: awaiting it first thing moves a task to a later turn.")

(defun aio--where (body)
  "Return a short description of where BODY, an `aio-with-async' body, is."
  (let ((file (macroexp-file-name))
        (form (let ((print-length 4) (print-level 2))
                (prin1-to-string (car body)))))
    (format "`aio-with-async' body %s%s"
            (truncate-string-to-width form 60 nil nil "...")
            (if file (format " (in %s)" (file-name-nondirectory file)) ""))))

(defmacro aio-with-async (&rest body)
  "Run BODY asynchronously, starting on a later turn of the event loop.
Return BODY's promise.  BODY may use `aio-await'.  If BODY fails and
nobody listens to the promise, the error is reported through
`aio-unhandled-error-function'."
  (declare (indent 0) (debug (&rest sexp)))
  (aio--check-lexical 'aio-with-async)
  `(aio--watch ,(aio--async-body `((aio-await aio--next-turn) ,@body))
               ,(aio--where body)))

(provide 'aio-async)
;;; aio-async.el ends here
