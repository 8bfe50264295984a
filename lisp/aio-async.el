;;; aio-async.el --- Async functions for aio: await, lambda, defun  -*- lexical-binding: t -*-

;;; Commentary:

;; The public macros of async functions.  An async function is a
;; generator driven by promises: its body is expanded by aio-expand.el
;; and lowered by aio-coroutine.el (or generator.el), and each call
;; runs as a task of the driver, aio-driver.el.

;;; Code:

(require 'cl-lib)
(require 'macroexp)
(require 'aio-promise)
(require 'aio-site)
(require 'aio-coroutine)
(require 'aio-driver)
(require 'aio-expand)

;;;; Starting async bodies

(defun aio--async-body (body arglist &optional name step-var kind whole)
  "Return the code to start BODY as a task named NAME (see `aio--task').
ARGLIST is the lambda list of the function whose body BODY is.  The
value is a list (BINDINGS FORM CHECK): FORM starts the task where
ARGLIST's variables are bound; if STEP-VAR is non-nil, BINDINGS may
bind it, around the function, to code FORM uses (see
`aio--coroutine'); CHECK is nil or code to put where it is evaluated
once, for the byte compiler (see `aio--lint-form').  KIND is the
async macro, and WHOLE the form of its call: they say where the
function is, for `aio--info'."
  (aio--with-source
    (let* ((edebug (aio--edebug-unwrap body name))
           (forms (if edebug (nth 2 edebug) body))
           (aio--await-var (make-symbol "awaited"))
           (expanded (aio--macroexpand-body forms))
           (walked (aio--walk expanded nil nil))
           (lowered (aio--coroutine aio--await-var arglist walked
                                    (and (car edebug) edebug)))
           (info (aio--make-info :kind kind
                                 :file (aio--source-file)
                                 :line (and whole (aio--source-line kind whole))
                                 :arglist arglist
                                 :locals (and lowered aio--co-last-locals)))
           (start-args (list (macroexp-quote name) (macroexp-quote info)))
           (check (and (not edebug) kind (aio--lint-form kind arglist expanded))))
      (cond
       ((null lowered)
        (let ((iter `(funcall (iter-lambda (,aio--await-var) ,walked) nil)))
          (list nil
                (aio--quiet
                 `(aio--start ,(if (car edebug)
                                   `(aio--edebug-iter ',(car edebug) ,(nth 1 edebug) ,iter)
                                 iter)
                              ,@start-args))
                check)))
       (step-var
        (list `((,step-var ,(aio--quiet `(function ,(car lowered)))))
              (aio--quiet `(aio--start (vector ,step-var ,@(cdr lowered)) ,@start-args))
              check))
       (t
        (list nil
              (aio--quiet `(aio--start (vector (function ,(car lowered)) ,@(cdr lowered))
                                       ,@start-args))
              check))))))

(autoload 'aio--edebug-iter "aio-debug")
(autoload 'aio--edebug-enter "aio-debug")

(defun aio--site-name (macro arglist body)
  "Return a name for a task of MACRO's BODY, with ARGLIST.
It says which macro, shows BODY's first form and, when known, the file."
  (let ((file (aio--source-file))
        (form (aio--short-form (car (aio--strip-edebug body)) 40)))
    (format "%s%s %s%s" macro
            (cond ((eq arglist 'none) "")
                  (arglist (concat " " (aio--short-form arglist)))
                  (t " ()"))
            form
            (if file (format " (in %s)" (file-name-nondirectory file)) ""))))

;;;; Public macros

(defmacro aio-await (expr)
  "Pause the async function until EXPR's promise resolves; return its value.
If the promise was rejected, its error is signaled here; if the
function is canceled while paused, `aio-cancel' is signaled here.  A
value of EXPR that is not a promise is returned at once.

After the pause the function goes on in the buffer that was current
when it paused, or signals `aio-buffer-killed' if that buffer was
killed meanwhile.  An await may stand inside `with-current-buffer',
`with-temp-buffer', `save-current-buffer', `save-excursion',
`save-restriction' and `save-match-data': while the function is
paused, other code sees its own point, restriction and match data,
and the form's come back when it resumes.

Only valid in the body of `aio-lambda', `aio-defun' or
`aio-with-async', not in a nested function nor in the cleanup forms
of `unwind-protect'."
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
           (debug (&define lambda-list lambda-doc
                           [&optional ("interactive" interactive)]
                           def-body)))
  (aio--check-lexical 'aio-lambda)
  (let* ((parsed (macroexp-parse-body body))
         (step (make-symbol "step"))
         (code (aio--async-body (cdr parsed) arglist
                                (aio--site-name 'aio-lambda arglist (cdr parsed))
                                step 'aio-lambda `(aio-lambda ,arglist ,@body)))
         (fn `(lambda ,arglist ,@(car parsed)
                ,(aio--command-form (car parsed) 'aio-lambda (cadr code))))
         ;; The step function is made once, here, not at each call.
         (made (if (car code) `(let ,(car code) ,fn) fn)))
    (if (nth 2 code) `(progn ,(nth 2 code) ,made) made)))

(defun aio--command-form (decls name start)
  "Return START, the form starting a task, for a function with DECLS.
If DECLS, the declarations of an async function NAME, make it a
command, note when it runs as one: see `aio--command-start'."
  (if (assq 'interactive decls)
      `(aio--command-start (called-interactively-p 'any) ',name ,start)
    start))

(defconst aio--async-note
  "This function is asynchronous: it returns an `aio-promise' of its value."
  "What `describe-function' says of each `aio-defun' function.")

(defun aio--describe-async (function)
  "Say in the *Help* buffer that FUNCTION is asynchronous, if it is.
For `help-fns-describe-function-functions': the function's own
docstring stays exactly as its author wrote it, as emacs-aio's does."
  (let ((note (and (symbolp function) (function-get function 'aio--async))))
    (when (stringp note)
      (insert "\n" (substitute-command-keys note) "\n"))))

(add-hook 'help-fns-describe-function-functions #'aio--describe-async)

(defun aio--advertise (arglist decls)
  "Return DECLS with ARGLIST declared as the advertised calling convention.
DECLS are the docstring and `declare' forms of an `aio-defun'.
emacs-aio defines such functions with an argument list of its own and
advertises the real one; its users' tests look for it there."
  (let* ((doc (and (stringp (car decls)) (list (car decls))))
         (rest (if doc (cdr decls) decls))
         (declare (assq 'declare rest)))
    (if (or (null declare) (assq 'advertised-calling-convention (cdr declare)))
        (append doc (if declare rest
                      (cons `(declare (advertised-calling-convention ,arglist nil)) rest)))
      (append doc (mapcar (lambda (form)
                            (if (eq form declare)
                                `(declare (advertised-calling-convention ,arglist nil)
                                          ,@(cdr declare))
                              form))
                          rest)))))

(defmacro aio-defun (name arglist &rest body)
  "Define NAME as an async function of ARGLIST with BODY.
Like `defun': BODY may start with a docstring, `declare' forms and an
`interactive' form.  Calling NAME runs BODY up to its first pause and
returns a promise of BODY's value.  BODY may use `aio-await'.

\(fn NAME ARGLIST [DOCSTRING] [DECLARE] [INTERACTIVE] BODY...)"
  (declare (indent defun) (doc-string 3) (debug defun))
  (aio--check-lexical 'aio-defun)
  (let* ((parsed (macroexp-parse-body body))
         (decls (aio--advertise arglist (car parsed)))
         (doc (and (stringp (car decls)) (pop decls)))
         (code (aio--async-body (cdr parsed) arglist name nil
                                'aio-defun `(aio-defun ,name ,arglist ,@body)))
         (definition `(defun ,name ,arglist
                        ,@(and doc (list doc))
                        ,@decls
                        ,(aio--command-form decls name (cadr code)))))
    `(prog1 ,(if (nth 2 code) `(progn ,(nth 2 code) ,definition) definition)
       (function-put ',name 'aio--async aio--async-note))))

(defun aio--next-turn-body (body)
  "Return BODY, an `aio-with-async' body, starting with a move to the next turn.
An instrumented BODY stays instrumented: the move goes inside."
  (let ((await '(aio-await aio--next-turn)))
    (pcase body
      (`((edebug-enter ,name ,args (function (lambda () . ,forms))))
       `((edebug-enter ,name ,args (function (lambda () ,await ,@forms)))))
      (_ (cons await body)))))

(defmacro aio-with-async (&rest body)
  "Run BODY asynchronously, starting on a later turn of the event loop.
Return BODY's promise.  BODY may use `aio-await'.  If BODY fails and
nobody listens to the promise, the error is reported through
`aio-unhandled-error-function'."
  (declare (indent 0) (debug (&define def-body)))
  (aio--check-lexical 'aio-with-async)
  (let ((code (aio--async-body (aio--next-turn-body body) nil
                               (aio--site-name 'aio-with-async 'none body)
                               nil 'aio-with-async `(aio-with-async ,@body))))
    (if (nth 2 code) `(progn ,(nth 2 code) ,(cadr code)) (cadr code))))


(provide 'aio-async)
;;; aio-async.el ends here
