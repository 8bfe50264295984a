;;; aio-driver.el --- The driver of async functions: tasks, steps, failures  -*- lexical-binding: t -*-

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
  (let ((name (make-symbol (aio--step-name task))))
    (if (vectorp iter)
        (progn (fset name (aref iter aio--co-step-slot))
               (funcall name iter value-function))
      (fset name iter)
      (funcall name :next value-function))))

(defun aio--step-name (task)
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

(provide 'aio-driver)
;;; aio-driver.el ends here
