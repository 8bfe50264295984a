;;; aio-async.el --- Async functions for aio: await, lambda, defun  -*- lexical-binding: t -*-

;;; Commentary:

;; An async function is a generator driven by promises: its body is
;; lowered by aio-coroutine.el into a step function and a frame, or by
;; generator.el when it binds a dynamic variable around an await.
;; `aio-await' becomes an `iter-yield' of the awaited promise; the driver
;; resumes the generator from the ready queue with the promise's value
;; function, which the body calls at the await point.  So a result comes
;; back as a value and an error is signaled right where the body awaited,
;; and a cancellation is delivered the same way: the driver resumes the
;; body with a value function that signals `aio-cancel'.
;;
;; Awaiting something that is not a promise does not yield at all.
;; Awaiting a resolved promise yields only when it has to: when the task
;; was resumed straight from the ready queue, the queue is empty and the
;; slice has time left, yielding would only put this task back at the
;; head of the queue and run it at once, so the body simply goes on.  In
;; every other case (first step of a task, other callbacks waiting, slice
;; used up, a cancellation pending) it yields, which keeps the program's
;; order FIFO, keeps deep chains of async calls off the Lisp stack, and
;; lets Emacs breathe.
;;
;; Each step of a body runs inside `save-current-buffer', and a resumed
;; body continues in the buffer that was current when it paused: while
;; it is paused, other code keeps its own current buffer.
;;
;; For `aio-list-tasks' and `aio-trace-mode', a task carries a name (its
;; `aio-defun', or where its `aio-lambda' or `aio-with-async' body is),
;; and a pause notes when it happened and which await it was.  Tracing
;; costs one test of a variable per pause, resume and end while it is
;; off; awaits that do not pause cost nothing more.

;;; Code:

(require 'cl-lib)
(require 'generator)
(require 'macroexp)
(require 'aio-promise)
(require 'aio-buffers)
(require 'aio-coroutine)
(require 'aio-site)

(define-error 'aio-buffer-killed
  "Buffer killed while an async function was paused in it")

(defvar aio--direct nil
  "Non-nil while a task resumed directly by the ready queue runs.")

;;;; Tasks

;; Live tasks live in this table, under a number, and the callback
;; waiting on the awaited promise holds only that number, as does the
;; task's promise.  Were they to hold the task itself, a chain of async
;; calls N deep would be an object graph N deep (promise -> callback ->
;; task -> its promise -> ...), and Emacs 28's garbage collector marks
;; such a graph recursively in C: it overflows the C stack near 100,000
;; levels.  The price is that a task awaiting a promise nobody will ever
;; resolve stays here for good, where it can at least be seen.

(cl-defstruct (aio--task (:constructor aio--make-task (id iter promise name info))
                         (:copier nil)
                         (:predicate nil))
  "The state of one call of an async function.
ID is its number in `aio--tasks', ITER its generator (a frame, see
`aio--coroutine', or a generator of generator.el), PROMISE the
promise of its value, NAME what it is called in `aio-list-tasks' and
`aio-trace-mode': the symbol an `aio-defun' defines, or a string
saying where an `aio-lambda' or `aio-with-async' body is, or nil;
INFO what else is known of the function, an `aio--info' or nil.
While it is paused, AWAITED is the promise it waits for, RESUMER the
callback listening to AWAITED, SERIAL the number of its pauses so far
\(a resumer acts only for its own pause), BUFFER and BUFFER-NAME the
buffer current at the pause; the name is nil when a killed buffer is
no error, as it never is for a DETACHED task (see
`aio--detach-from-buffer').  PAUSED-AT is the time of its latest pause, in whole
seconds since the epoch, SITE the await it paused at, an `aio--site'
or nil (see `aio--await-site').  CANCELS
lists the reasons of the cancellations requested and not yet
delivered, oldest first."
  id iter promise name info
  (awaited nil) (resumer nil) (serial 0)
  (buffer nil) (buffer-name nil) (detached nil)
  (paused-at nil) (site nil)
  (cancels nil))

(defvar aio--tasks (make-hash-table :test #'eq)
  "Live tasks, running or paused: a number mapped to an `aio--task'.")

(defvar aio--task-counter 0
  "The number given to the most recently started task.")

(defvar aio--current-task nil
  "The task whose body is running, while it runs.")

(defvar aio--await-site nil
  "The await an async body pauses at, set as it pauses; for display.
An `aio--site', a constant of the body's code: the function the
awaited form calls (such as `aio-sem-wait'), the form, its file and
line.  See `aio-list-tasks', `aio-backtrace'.")

(defvar aio--trace-function nil
  "Nil, or a function told of each pause, resume and end of a task.
It is called with EVENT, TASK and VALUE-FUNCTION.  EVENT `pause':
TASK just paused, VALUE-FUNCTION is nil.  EVENT `resume': TASK is
about to resume, still as it was while paused; VALUE-FUNCTION is what
its await receives, unless TASK has a cancellation pending.  EVENT
`finish': TASK has ended and its promise is about to be resolved with
VALUE-FUNCTION.  `aio-trace-mode' sets it.")

(defvar aio--pending-cancels 0
  "How many live tasks have cancellations not yet delivered.
While it is not zero, every await of a promise pauses, so that the
driver can deliver them.")

(defconst aio--next-turn (let ((promise (aio-promise)))
                           (setf (aio-promise-result promise) #'ignore)
                           promise)
  "A resolved promise: awaiting it first thing moves a task to a later turn.")

(defconst aio--detached (let ((promise (aio-promise)))
                          (setf (aio-promise-result promise) #'ignore)
                          promise)
  "What a task awaits once it is let go of a promise others also await.")

;;;; The driver

(defsubst aio--resumer (id serial)
  "Return the callback that resumes task ID after its pause number SERIAL.
Not a closure but the cons (ID . SERIAL), which the ready queue knows
to pass to `aio--resume': a closure would weigh five times as much."
  (cons id serial))

(defun aio--cancel-function (reason)
  "Return a value function that signals (aio-cancel . REASON)."
  (lambda () (signal 'aio-cancel reason)))

(defun aio--take-cancel (task)
  "Remove TASK's oldest pending cancellation; return its value function."
  (let ((reason (pop (aio--task-cancels task))))
    (unless (aio--task-cancels task)
      (setq aio--pending-cancels (1- aio--pending-cancels)))
    (aio--cancel-function reason)))

(defun aio--resume (id serial value-function)
  "Resume task ID, paused for the SERIALth time, with VALUE-FUNCTION.
A pending cancellation is delivered instead of VALUE-FUNCTION."
  (let ((task (gethash id aio--tasks)))
    (when (and task
               (eq serial (aio--task-serial task))
               (aio--task-awaited task))
      (let ((awaited (aio--task-awaited task)))
        (when aio--trace-function
          (funcall aio--trace-function 'resume task value-function))
        (setf (aio--task-awaited task) nil
              (aio--task-resumer task) nil)
        (when (aio--task-cancels task)
          ;; What AWAITED handed over will not be taken.
          (aio--abandon awaited)
          (setq value-function (aio--take-cancel task)))
        (aio--step task value-function t)))))

(defmacro aio--step-body (debugging)
  "Return the body of `aio--step', or of `aio--step-debugging' if DEBUGGING.
The two differ in how an error of the body is caught: only the second
lets `debug-on-error' call the debugger where the error is signaled,
and it calls the step function under the task's name, so that the
debugger's backtrace names the async function."
  `(let ((aio--direct direct)
         (aio--current-task task)
         (awaited nil)
         (buffer nil)
         (site nil)
         (ended nil))
     (when (condition-case err
               (save-current-buffer
                 (let ((paused-in (aio--task-buffer task)))
                   (when paused-in
                     (cond ((eq paused-in (current-buffer)))
                           ((buffer-live-p paused-in) (set-buffer paused-in))
                           ((aio--task-buffer-name task)
                            (setq value-function
                                  (aio--error-fn
                                   (list 'aio-buffer-killed
                                         (aio--task-buffer-name task))))))))
                 (let ((iter (aio--task-iter task)))
                   (if (vectorp iter)
                       (setq awaited ,(if debugging
                                          '(aio--named-step task iter value-function)
                                        '(aio--step-frame iter value-function))
                             ended (null (aref iter aio--co-state-slot)))
                     (setq awaited ,(if debugging
                                        '(aio--named-step task iter value-function)
                                      '(iter-next iter value-function)))))
                 (setq buffer (current-buffer)
                       site aio--await-site)
                 t)
             (iter-end-of-sequence
              (setq awaited (cdr err) ended t))
             (,(if debugging '(debug error) 'error)
              (aio--task-failed task err)
              nil)
             (aio-cancel
              (aio--finish task (aio--error-fn err) nil)
              nil)
             (quit
              (aio--finish task (aio--error-fn err) nil)
              (signal (car err) (cdr err))))
       (if ended
           (aio--finish task (aio--value-fn awaited) t)
         (aio--pause task awaited buffer site)))))

(defun aio--step (task value-function direct)
  "Run TASK up to its next pause; the paused await receives VALUE-FUNCTION.
DIRECT is non-nil when the ready queue resumes the task.
While the user debugs (see `aio--debugging-p'), `aio--step-debugging'
does it instead."
  (if (and debug-on-error (aio--debugging-p))
      (aio--step-debugging task value-function direct)
    (aio--step-body nil)))

(defun aio--debugging-p ()
  "Return non-nil if `debug-on-error' is the user's, not ERT's.
ERT binds it to t around each test on Emacs 28 and 29, which would
send every error of an async function into ERT's debugger, failing
tests that expect the error; `ert-debug-on-error' asks for it."
  (not (and (fboundp 'ert-running-test) (ert-running-test)
            (not (bound-and-true-p ert-debug-on-error)))))

(defvar aio--outer-debugger nil
  "The `debugger' to call when `aio--debugger' decides to debug.")

(autoload 'aio--debugger "aio-debug")

(defun aio--step-debugging (task value-function direct)
  "Do what `aio--step' does, for the debugger.
Run TASK with VALUE-FUNCTION, DIRECT as for `aio--step', but let
`debug-on-error' stop where an error is signaled in its body, through
`aio--debugger', which skips errors an awaiting async function
catches.  A non-local exit from the debugger (such as quitting it)
ends TASK with `quit', so that its promise settles."
  (let ((aio--outer-debugger (if (eq debugger #'aio--debugger)
                                 aio--outer-debugger
                               debugger))
        (debugger #'aio--debugger)
        (done nil))
    (unwind-protect
        (prog1 (aio--step-body t)
          (setq done t))
      (unless done
        (aio--abandon-step task)))))

(defun aio--named-step (task iter value-function)
  "Run ITER, TASK's, with VALUE-FUNCTION, called by TASK's name.
So a backtrace shows the async function, not an anonymous function."
  (let ((name (make-symbol (aio--frame-name task))))
    (if (vectorp iter)
        (progn (fset name (aref iter aio--co-step-slot))
               (funcall name iter value-function))
      (fset name iter)
      (funcall name :next value-function))))

(defun aio--frame-name (task)
  "Return the name under which TASK's body appears in a backtrace."
  (let ((name (aio--task-name task))
        (info (aio--task-info task)))
    (cond ((symbolp name) (if name (symbol-name name) "aio-task"))
          ((and info (aio--info-kind info) (aio--info-file info) (aio--info-line info))
           (format "%s@%s:%d" (aio--info-kind info)
                   (file-name-nondirectory (aio--info-file info))
                   (aio--info-line info)))
          ((and info (aio--info-kind info)) (symbol-name (aio--info-kind info)))
          (t "aio-task"))))

(defun aio--abandon-step (task)
  "End TASK with `quit' if it is live and neither paused nor ended.
For a step left by a non-local exit, such as quitting the debugger."
  (when (and (aio--live-task task) (null (aio--task-awaited task)))
    (aio--finish task (aio--error-fn '(quit)) nil)))

(defun aio--detach-from-buffer ()
  "Let the running task go on when the buffer it paused in is killed.
For the library's own tasks (pumping a stream, waiting for a process),
which never use the buffer they happen to start in: the caller's
buffer, a temporary one perhaps, must not end them."
  (when aio--current-task
    (setf (aio--task-detached aio--current-task) t)))

(defun aio--pause (task awaited buffer site)
  "Note that TASK paused on promise AWAITED with BUFFER current.
SITE is the await it paused at; see `aio--await-site'."
  (let* ((serial (1+ (aio--task-serial task)))
         (resumer (aio--resumer (aio--task-id task) serial)))
    (setf (aio--task-serial task) serial
          (aio--task-awaited task) awaited
          (aio--task-resumer task) resumer
          (aio--task-buffer task) buffer
          ;; The first hop of `aio-with-async' tolerates a killed buffer.
          (aio--task-buffer-name task) (and (not (eq awaited aio--next-turn))
                                            (not (aio--task-detached task))
                                            (buffer-name buffer))
          ;; Unlike `float-time', this allocates nothing.
          (aio--task-paused-at task) (time-convert nil 'integer)
          (aio--task-site task) site)
    (when aio--trace-function
      (funcall aio--trace-function 'pause task nil))
    (aio--listen awaited resumer)
    (when (aio--task-cancels task)
      (aio--deliver-cancel task))))

(defun aio--finish (task value-function normal)
  "End TASK, resolving its promise with VALUE-FUNCTION.
NORMAL is non-nil if the body returned: a cancellation still pending
then rejects the promise instead, as in asyncio."
  (remhash (aio--task-id task) aio--tasks)
  (let ((cancels (aio--task-cancels task)))
    (when cancels
      (setf (aio--task-cancels task) nil)
      (setq aio--pending-cancels (1- aio--pending-cancels))
      (when normal
        (setq value-function (aio--cancel-function (car cancels))))))
  (when aio--trace-function
    (funcall aio--trace-function 'finish task value-function))
  (aio-resolve (aio--task-promise task) value-function))

(defun aio--start (iter &optional name info)
  "Start the task run by ITER and return its promise.
ITER is a frame (see `aio--coroutine') or a generator of generator.el.
NAME names the task and INFO tells more of its function; see `aio--task'."
  (let* ((promise (aio-promise))
         (id (setq aio--task-counter (1+ aio--task-counter)))
         (task (aio--make-task id iter promise name info)))
    (setf (aio-promise-task promise) id)
    (puthash id task aio--tasks)
    (aio--step task nil nil)
    promise))

;;;; Failures

;; A task that fails hands its promise a value function of its own,
;; made by `aio--failure-fn', which signals the error exactly as it was
;; signaled and, on its way, notes two things for the task that
;; receives it: the *chain* of async functions the error has crossed so
;; far (the async backtrace), and whether the debugger has seen it
;; already.  A task failing with the error it just received extends the
;; chain.  All this runs only when a body fails.
;;
;; A failed promise nobody listens to is watched (see `aio--unobserved'
;; in aio-promise.el): listening to it, or calling its value function,
;; in the same turn takes it off the list; else it is reported.

(defvar aio--arriving nil
  "The error a failure's value function signaled last, and where.
A list (CONDITION CHAIN TASK QUIET): CHAIN the async backtrace so
far, TASK the task that received it, QUIET non-nil if the debugger
has already been entered for it.")

(defvar aio--debugged nil
  "The error the debugger was last entered for, and in which task.
A cons (CONDITION . TASK); set by `aio--debugger'.")

(defvar aio--last-failure nil
  "The latest failure of an async function: (CONDITION . CHAIN).
CHAIN lists the async functions the error crossed, the last one
first, the one where it was signaled last; each is (NAME SITE INFO),
NAME and INFO as in `aio--task', SITE where it was paused (where it
was signaled, the await it last resumed from, or nil if none).")

(defun aio--same-error-p (a b)
  "Return non-nil if conditions A and B are the same signaled error."
  (and (eq (car a) (car b)) (eq (cdr a) (cdr b))))

(defun aio--failure-fn (condition chain quiet promise)
  "Return the value function of PROMISE, failed with CONDITION.
It signals CONDITION as it is, after noting CHAIN and QUIET for the
task that receives it (see `aio--arriving'); with QUIET, without
entering the debugger again.  Calling it is taking care of the
error: PROMISE is no longer reported as unhandled."
  (lambda ()
    (aio--observe-failure promise)
    (setq aio--arriving (list condition chain aio--current-task quiet))
    (if quiet
        (let ((debug-on-error nil))
          (signal (car condition) (cdr condition)))
      (signal (car condition) (cdr condition)))))

(defun aio--task-failed (task condition)
  "End TASK, whose body failed with CONDITION, an error.
Extend the async backtrace if CONDITION is the error TASK received
at its await, and watch TASK's promise if nothing listens to it."
  (let* ((arriving aio--arriving)
         (from (and arriving
                    (eq (nth 2 arriving) task)
                    (aio--same-error-p condition (car arriving))
                    arriving))
         (debugged aio--debugged)
         (quiet (or (nth 3 from)
                    (and debugged (eq (cdr debugged) task)
                         (aio--same-error-p condition (car debugged)))))
         (chain (cons (list (aio--task-name task) (aio--task-site task)
                            (aio--task-info task))
                      (nth 1 from)))
         (promise (aio--task-promise task)))
    (setq aio--arriving nil
          aio--last-failure (cons condition chain))
    (when quiet
      (setq aio--debugged nil))
    (unless (aio-promise-callbacks promise)
      (aio--watch-failure promise condition (aio--task-where task) chain))
    (aio--finish task (aio--failure-fn condition chain quiet promise) nil)))

(defun aio--task-where (task)
  "Return a string naming TASK's function, for reports."
  (let ((name (aio--task-name task)))
    (cond ((and name (symbolp name)) (format "`%s'" name))
          (name name)
          (t (format "task %d" (aio--task-id task))))))

(defun aio--command-start (interactive name promise)
  "Return PROMISE, of the async command NAME, noted if INTERACTIVE.
INTERACTIVE is non-nil when NAME runs as a command: an error nobody
awaits is then reported as a failing command's is, in the echo area."
  (when interactive
    (puthash promise name aio--commands))
  promise)

;;;; Cancellation

(defun aio--deliver-cancel (task)
  "Arrange for paused TASK to receive its pending cancellation.
If TASK alone waits for its awaited promise, cancel that promise: the
task resumes when it settles, as a task awaiting a task resumes only
once the inner one has unwound.  Otherwise let go of the promise and
resume TASK on the ready queue."
  (let ((awaited (aio--task-awaited task))
        (resumer (aio--task-resumer task)))
    (unless (aio-promise-result awaited)
      (let ((callbacks (aio-promise-callbacks awaited)))
        (if (and (eq (car callbacks) resumer) (null (cdr callbacks)))
            (aio-cancel awaited (car (aio--task-cancels task)))
          (aio--unlisten awaited resumer)
          (setf (aio--task-awaited task) aio--detached)
          (aio--enqueue resumer #'ignore)
          (aio--schedule))))))

(defun aio--live-task (task)
  "Return TASK, a task or a task number, if it is live, else nil."
  (let ((found (and task (gethash (if (integerp task) task (aio--task-id task))
                                  aio--tasks))))
    (and found (or (integerp task) (eq found task)) found)))

(defun aio--cancel-task (task reason)
  "Request the cancellation of TASK, a task or a task number, with REASON.
A paused task gets it at its await; a running one at its next pause.
Use `aio-cancel' on the task's promise, or `aio--cancel-run', rather
than this, so that cascades are carried out iteratively."
  (let ((live (aio--live-task task)))
    (when live
      (unless (aio--task-cancels live)
        (setq aio--pending-cancels (1+ aio--pending-cancels)))
      (setf (aio--task-cancels live)
            (nconc (aio--task-cancels live) (list reason)))
      (when (aio--task-awaited live)
        (aio--deliver-cancel live)))))

(defun aio--withdraw-cancel (task reason)
  "Withdraw TASK's pending cancellation with REASON (compared with `eq')."
  (let ((live (aio--live-task task)))
    (when (and live (memq reason (aio--task-cancels live)))
      (setf (aio--task-cancels live) (delq reason (aio--task-cancels live)))
      (unless (aio--task-cancels live)
        (setq aio--pending-cancels (1- aio--pending-cancels))))))

;;;; Awaiting

(defvar aio--await-var nil
  "While an async body is expanded, the variable its awaits work in.")

(defmacro aio--result-of (promise)
  "Read the result slot of PROMISE, known to be an `aio-promise'.
The accessor would check PROMISE's type again: an await of a resolved
promise reads the slot twice and its type is checked once before."
  `(aref ,promise ,(cl-struct-slot-offset 'aio-promise 'result)))

(defsubst aio--await-now-p (value)
  "Return non-nil if awaiting VALUE need not pause the async function.
It need not when VALUE is not a promise, nor when VALUE is resolved
and pausing would only resume the task at once: the task was resumed
straight from the ready queue, nothing else waits there, the slice
has time left, and no cancellation waits for delivery."
  (or (not (aio-promise-p value))
      (and aio--direct
           (eq aio--pending-cancels 0)
           (null aio--ready-head)
           (aio--result-of value)
           (aio--slice-left-p))))

(defsubst aio--now (value)
  "Return the value of awaiting VALUE, which needs no pause."
  (if (aio-promise-p value)
      (funcall (aio--result-of value))
    value))

;;;; Expansion of async bodies

;; An async body is expanded in two passes.  `macroexpand-all' first
;; turns every `aio-await' into a marker, (aio--await-marker EXPR), and
;; every `save-match-data' into (aio--save-match-data BODY...).  Then
;; a walker over the expanded code, which knows the special forms,
;; turns each marker into the code that pauses, rewrites the forms
;; no generator can pause in (see aio-buffers.el) when they contain an
;; await, and rejects awaits in places where no pause can work.  Last,
;; `aio--coroutine' (aio-coroutine.el) lowers the result into a state
;; machine, or declines and leaves it to `iter-lambda'.
;;
;; Every await of one body shares one variable: each variable living
;; across a pause is a slot of every call's frame (a closure of every
;; call, with generator.el), and what each call allocates is what
;; garbage collection pays for.

(defun aio--await-marker (_value &optional _where)
  "Stand for an await while an async body is expanded; never called.
WHERE is (FORM . LINE), the awaited form printed short and its line."
  (error "`aio-await' used outside an async function"))

(defun aio--task-marker (_macro)
  "Stand for the running task in MACRO's expansion; never called."
  (error "Form needing an async function used outside one"))

(defun aio--save-match-data (&rest _body)
  "Stand for `save-match-data' while an async body is expanded; never called."
  (error "Internal marker `aio--save-match-data' was not expanded"))

(defvar aio--awaits-seen 0
  "How many awaits the walker of async bodies has expanded so far.")

(defconst aio--generator-forms
  '(and or if progn prog1 prog2 while setq setq-default catch inline throw)
  "Special forms handled like function calls by the walker.")

(defun aio--misplaced (where &optional what)
  "Signal the expansion-time error for WHAT in WHERE.
WHAT is the macro used there, `aio-await' by default; WHERE is as for
`aio--walk'."
  (let ((macro (or what 'aio-await)))
    (pcase where
      ('nested
       (error "`%s' inside a nested function (such as a lambda passed to \
`mapc') cannot pause the async function around it: use it in the async \
body itself (e.g. loop with `dolist'), or make the inner function an \
`aio-lambda' and await the promise it returns" macro))
      ('cleanup
       (error "`%s' in the cleanup forms of `unwind-protect' cannot pause \
\(no generator can resume there): use it in the body of the \
`unwind-protect', or start the cleanup as a task of its own with \
`aio-with-async'" macro))
      ('success
       (error "`%s' inside a `condition-case' that has a `:success' handler \
cannot pause: move it out, or handle success after the `condition-case'"
              macro))
      (_
       (error "`%s' inside `%s' cannot pause the async function: move it \
out of the `%s' form" macro where where)))))

(defvar aio--walk-handlers nil
  "The conditions caught around the code being walked, in the async body.
Bound by the walker in the body of each `condition-case'; t for a
handler of every condition.  Noted in each await's site.")

(defun aio--caught-conditions (handlers)
  "Return the conditions the HANDLERS of a `condition-case' catch.
A handler marked `debug' (as in `condition-case-unless-debug') does
not count: with `debug-on-error' the debugger sees its errors."
  (let ((caught nil))
    (dolist (handler handlers)
      (let ((conditions (car handler)))
        (unless (or (eq conditions :success)
                    (and (consp conditions) (memq 'debug conditions)))
          (dolist (c (if (listp conditions) conditions (list conditions)))
            (push c caught)))))
    caught))

(defun aio--await-form (expr frames where)
  "Return the code that awaits EXPR inside the forms of FRAMES.
FRAMES lists the rewritten forms around the await, innermost first.
WHERE is (FORM . LINE), see `aio--await-marker'.  The await's site
\(see `aio--site') is a constant of the code, stored as it pauses."
  (let ((var aio--await-var)
        (site (aio--make-site :function (aio--site expr)
                              :form (car where)
                              :line (cdr where)
                              :handlers aio--walk-handlers)))
    `(if (aio--await-now-p (setq ,var ,expr))
         (aio--now ,var)
       (setq aio--await-site ',site)
       ,@(if frames
             `(,@(mapcar #'aio--frame-out frames)
               (setq ,var (iter-yield ,var))
               ,@(nreverse (mapcar #'aio--frame-in frames))
               (funcall ,var))
           `((funcall (iter-yield ,var)))))))

(defun aio--walk-list (forms frames where)
  "Walk each of FORMS; see `aio--walk' for FRAMES and WHERE."
  (mapcar (lambda (form) (aio--walk form frames where)) forms))

(defun aio--walk-frame (kind body frames where)
  "Walk BODY of a form of KIND; rewrite the form if BODY awaits."
  (if where
      (aio--frame-plain kind (aio--walk-list body frames where))
    (let* ((frame (aio--frame-make kind))
           (before aio--awaits-seen)
           (walked (aio--walk-list body
                                   (if (aio--frame-swaps-p frame)
                                       (cons frame frames)
                                     frames)
                                   nil)))
      (if (= before aio--awaits-seen)
          (aio--frame-plain kind walked)
        (aio--frame-wrap frame walked)))))

(defun aio--walk (form frames where)
  "Return FORM, fully macroexpanded, with its await markers expanded.
FRAMES lists the rewritten forms around FORM, innermost first.  WHERE
is nil in the async body proper, else the place FORM is in, where an
await cannot work: `nested' (a nested function), `cleanup' (cleanup
forms of `unwind-protect'), `success' (a `condition-case' with a
`:success' handler) or the name of a special form."
  (if (atom form)
      form
    (let ((head (car form)))
      (pcase head
        ('quote form)
        ('function
         (let ((fn (cadr form)))
           (if (eq (car-safe fn) 'lambda)
               `(function (lambda ,(cadr fn)
                            ,@(aio--walk-list (cddr fn) nil 'nested)))
             form)))
        ('aio--await-marker
         (when where (aio--misplaced where))
         (let ((expr (aio--walk (cadr form) frames where)))
           (setq aio--awaits-seen (1+ aio--awaits-seen))
           (aio--await-form expr frames (cadr (nth 2 form)))))
        ('aio--task-marker
         (when where (aio--misplaced where (cadr (cadr form))))
         'aio--current-task)
        ((or 'save-current-buffer 'save-excursion 'save-restriction
             'aio--save-match-data)
         (aio--walk-frame head (cdr form) frames where))
        ((or 'let 'let*)
         `(,head ,(mapcar (lambda (binding)
                            (if (consp binding)
                                (cons (car binding)
                                      (aio--walk-list (cdr binding) frames where))
                              binding))
                          (cadr form))
                 ,@(aio--walk-list (cddr form) frames where)))
        ('cond
         `(cond ,@(mapcar (lambda (clause) (aio--walk-list clause frames where))
                          (cdr form))))
        ('condition-case
         (let ((inside (if (and (null where) (assq :success (nthcdr 3 form)))
                           'success
                         where)))
           `(condition-case ,(nth 1 form)
                ,(let ((aio--walk-handlers
                        (append (aio--caught-conditions (nthcdr 3 form))
                                aio--walk-handlers)))
                   (aio--walk (nth 2 form) frames inside))
              ,@(mapcar (lambda (handler)
                          (cons (car handler)
                                (aio--walk-list (cdr handler) frames inside)))
                        (nthcdr 3 form)))))
        ('unwind-protect
         `(unwind-protect ,(aio--walk (nth 1 form) frames where)
            ,@(aio--walk-list (nthcdr 2 form) frames (or where 'cleanup))))
        ('interactive form)
        (_
         (cond
          ((consp head)                 ; ((lambda ...) ARGS...)
           (cons (aio--walk `(function ,head) frames where)
                 (aio--walk-list (cdr form) frames where)))
          ((and (special-form-p head) (not (memq head aio--generator-forms)))
           (cons head (aio--walk-list (cdr form) frames (or where head))))
          (t
           (cons head (aio--walk-list (cdr form) frames where)))))))))

(defun aio--await-where (expr)
  "Return (FORM . LINE) for an await of EXPR, see `aio--await-marker'."
  (cons (aio--short-form expr)
        (aio--source-line 'aio-await (list 'aio-await expr))))

(defconst aio--body-environment
  (list (cons 'aio-await (lambda (expr)
                           (list 'aio--await-marker expr
                                 (list 'quote (aio--await-where expr)))))
        (cons 'save-match-data (lambda (&rest body)
                                 (cons 'aio--save-match-data body))))
  "Macro definitions in force while an async body is macroexpanded.")

(defun aio--macroexpand-body (body)
  "Return BODY, an async function's forms, as one form fully macroexpanded.
Each `aio-await' becomes a marker; see `aio--walk'."
  (macroexpand-all (macroexp-progn body)
                   (append aio--body-environment macroexpand-all-environment)))

(defun aio--expand-body (body)
  "Return BODY, an async function's forms, fully macroexpanded.
`aio-await' is expanded here, to work in `aio--await-var'; an await
that cannot work is an error."
  (aio--walk (aio--macroexpand-body body) nil nil))

(defun aio--in-async-body-p ()
  "Return non-nil while the body of an async function is macroexpanded."
  aio--await-var)

(defun aio--check-lexical (macro)
  "Signal an error if code using MACRO is not lexically bound."
  (unless lexical-binding
    (error "`%s' needs lexical binding: put \"-*- lexical-binding: t -*-\" \
on the first line of the file" macro)))

;;;; Edebug and the byte compiler

;; Edebug instruments the body of an async function (through the
;; `&define ... def-body' of its debug spec) into one form,
;; (edebug-enter 'NAME ARGS #'(lambda () BODY...)), whose lambda would
;; hide the awaits of BODY.  The expansion takes BODY out of it and
;; enters Edebug again at each step of the function instead, so that
;; stepping goes on when the function resumes after an await.
;;
;; The byte compiler sees the lowered body, not the user's: a `let'
;; moved into the frame is never "unused", and the positions it would
;; give are the expansion's.  So, when compiling, the expansion also
;; holds the user's body as it was macroexpanded, in a function that
;; never runs, which the compiler checks as it would a `defun'; the
;; lowered code is compiled without warnings.

(defvar aio--never nil
  "Always nil: guards code that is there only for the byte compiler.")

(defun aio--lint (&rest _args)
  "Ignore ARGS: code calling this is there for the byte compiler alone."
  nil)

(declare-function byte-compile-set-symbol-position "bytecomp" (sym &optional allow-previous))
(declare-function byte-compile-normal-call "bytecomp" (form))

(defun aio--byte-compile-lint (form)
  "Compile FORM, (aio--lint \='MACRO FUNCTION), as a plain call.
Emacs 28 guesses where a warning is from the symbols it compiles,
looked up in the text: MACRO's, first, is where the async form is.
Emacs 29 knows where each symbol was read instead."
  (when (fboundp 'byte-compile-set-symbol-position)
    (byte-compile-set-symbol-position (cadr (cadr form))))
  (byte-compile-normal-call form))

(put 'aio--lint 'byte-compile #'aio--byte-compile-lint)

(defun aio--edebug-unwrap (body name)
  "Return (EDEBUG-NAME ARGS FORMS) if BODY is instrumented by Edebug, else nil.
NAME names the async function for messages.  Instrumentation of an
unknown shape is reported and dropped: the function then runs, but
cannot be stepped through."
  (when (and (null (cdr body)) (eq (car-safe (car body)) 'edebug-enter))
    (pcase (car body)
      (`(edebug-enter (quote ,edebug-name) ,args (function (lambda () . ,forms)))
       (list edebug-name args forms))
      (_
       (message "Edebug cannot step into %s: unknown instrumentation" name)
       (list nil nil (list (aio--strip-edebug (car body))))))))

(defun aio--awaited (value)
  "Return VALUE: it stands for an await in the byte compiler's copy of a body."
  value)

(defun aio--byte-compile-awaited (form)
  "Compile FORM, (aio--awaited VALUE), as VALUE alone.
An await's value may go unused (it is there to pause); VALUE's may
not, so the byte compiler would warn about it in a plain function:
the call hides it from that check.  Emacs 28 also notes the place of
the await, see `aio--byte-compile-lint'."
  (when (fboundp 'byte-compile-set-symbol-position)
    (byte-compile-set-symbol-position 'aio-await))
  (byte-compile-form (cadr form)))

(put 'aio--awaited 'byte-compile #'aio--byte-compile-awaited)

(defun aio--lint-copy (form)
  "Return FORM, an expanded async body, as the same code without awaits.
An await is replaced by `aio--awaited' around the form it awaits, as
the code would be written in a plain function, so that the byte
compiler warns about it in the same way; the walker of an async body
around it then sees no await there either.  The warnings
`macroexpand-all' left in FORM go: the byte compiler's own expansion
of the copy makes them again."
  (cond
   ((atom form) form)
   (t (pcase (car form)
        ('quote form)
        ('macroexp--funcall-if-compiled nil)
        ('aio--await-marker
         ;; `aio-with-async''s move to the next turn is not the user's.
         (unless (eq (cadr form) 'aio--next-turn)
           (list 'aio--awaited (aio--lint-copy (cadr form)))))
        ('aio--task-marker nil)
        (head
         (let ((out nil)
               (rest (cdr form)))
           (while (consp rest)
             (push (aio--lint-copy (pop rest)) out))
           (cons (if (eq head 'aio--save-match-data) 'progn (aio--lint-copy head))
                 (nconc (nreverse out) rest))))))))

(defun aio--lint-form (kind arglist expanded)
  "Return the code checking EXPANDED, a body with ARGLIST, for warnings.
KIND is the async macro, EXPANDED the body as `aio--macroexpand-body'
returns it.  Nil unless the byte compiler is expanding."
  (when (macroexp-compiling-p)
    `(if aio--never
         (aio--lint ',kind
                    (function (lambda ,arglist
                                ,@(macroexp-unprogn (aio--lint-copy expanded))))))))

(defun aio--quietly (&rest forms)
  "Return the value of the last of FORMS.
The byte compiler compiles FORMS in place, and says nothing about
them: not even what `with-no-warnings' lets through, such as a wrong
number of arguments to a function with an opcode of its own."
  (car (last forms)))

(defvar byte-compile-warnings)
(defvar byte-compile-log-warning-function)
(declare-function byte-compile-form "bytecomp" (form &optional for-effect))

(defun aio--byte-compile-quietly (form)
  "Compile FORM, a call of `aio--quietly', without any warning."
  (let ((byte-compile-warnings nil)
        (byte-compile-log-warning-function #'ignore))
    (byte-compile-form (cons 'progn (cdr form)))))

(put 'aio--quietly 'byte-compile #'aio--byte-compile-quietly)

(defun aio--quiet (form)
  "Return FORM compiled without warnings, when compiling; see above."
  (if (macroexp-compiling-p) `(aio--quietly ,form) form))

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
