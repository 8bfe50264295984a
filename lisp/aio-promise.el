;;; aio-promise.el --- Promises and the ready queue for aio  -*- lexical-binding: t -*-

;;; Commentary:

;; The promise core of `aio': the `aio-promise' record, value functions,
;; resolution, cancellation, and the single ready queue from which every
;; callback runs.
;;
;; A promise is resolved with a *value function*: a function of no
;; arguments that returns the value or re-signals the error.  Success and
;; failure thus travel the same path, and the condition survives intact.
;;
;; Callbacks are never called from `aio-listen' or `aio-resolve'.  They go
;; into one global FIFO, and one drain runs that FIFO in slices of
;; `aio-batch-seconds', rescheduling itself with a single zero-delay timer
;; so that input, redisplay and process output get their turn between
;; slices.  One timer per callback would make large fan-outs quadratic,
;; since Emacs keeps its timers in a sorted list.  The timer is one of
;; two made once and armed in turn (see `aio--drain-timers').
;;
;; Cancellation.  `aio-cancel' is its own root condition, not an
;; `error': a plain (condition-case nil ... (error ...)) around an await
;; must not swallow a cancellation.  Catch it deliberately with a
;; handler for `aio-cancel' (or for both, as in ((error aio-cancel)
;; ...)).  Canceling cascades: a canceller may cancel further promises,
;; and an async function cancels what it awaits; those cancellations go
;; through one work list, so that a chain of any depth is canceled
;; without deep recursion.
;;
;; Returners.  Some promises hand over a resource when they resolve: a
;; semaphore permit, a lock, an item of a queue.  If whoever awaited
;; such a promise is canceled after it resolved but before it could take
;; the value, the resource would be lost; the promise's *returner*, run
;; by `aio--abandon', gives it back.
;;
;; This file must not require `aio-native': that library requires this one.

;;; Code:

(require 'cl-lib)

(define-error 'aio-cancel "Promise was canceled")
;; Its own root: not an `error', so that error handlers let it through.
(put 'aio-cancel 'error-conditions '(aio-cancel))
(define-error 'aio-timeout "Timeout was reached")

(cl-defstruct (aio-promise (:constructor aio-promise ())
                           (:copier nil))
  "A value that becomes available later.
RESULT is nil until the promise is resolved, then its value function.
CALLBACKS holds, newest first, the callbacks waiting for it.
RELEASE lets go of what is behind the promise when nobody wants its
outcome any more.  While the promise is pending it is nil or a function
of no arguments that stops the work; `aio-cancel' calls it.  For a
native sleep it is the number of the timer instead, which costs no
closure, and it may be a pair (FUNCTION . ARGUMENT), called as
\(FUNCTION ARGUMENT).  Once the promise is resolved, it is nil or the returner given
by `aio--grant', which gives a granted resource back.
TASK is nil, or the number of the async function whose promise this
is: `aio-cancel' then cancels the function's body instead."
  (result nil)
  (callbacks nil)
  (release nil)
  (task nil))

(defvar aio-batch-seconds 0.005
  "Longest time, in seconds, one drain of the ready queue may run.
When a slice is used up, the rest of the queue waits for the next
turn of the event loop, so that input and redisplay are not starved.")

(defvar aio-unhandled-error-function #'aio-report-unhandled-error
  "Function called with ERROR and WHERE for an error nobody awaited.
ERROR is the condition, WHERE a string saying where it came from.")

;;;; Argument checks

(defsubst aio--check-promise (object)
  "Signal `wrong-type-argument' unless OBJECT is an `aio-promise'."
  (unless (aio-promise-p object)
    (signal 'wrong-type-argument (list 'aio-promise-p object))))

(defsubst aio--check-function (object)
  "Signal `wrong-type-argument' unless OBJECT is a function."
  (unless (functionp object)
    (signal 'wrong-type-argument (list 'functionp object))))

;;;; Value functions

(defun aio--value-fn (value)
  "Return a value function giving VALUE."
  ;; Nil is the most common value: share one function for it.
  (if value (lambda () value) #'ignore))

(defun aio--error-fn (condition)
  "Return a value function that signals CONDITION again."
  (lambda () (signal (car condition) (cdr condition))))

;;;; The ready queue

;; A list with a pointer to its last cell, so that both ends are O(1).
;; Each element is (FUNCTION . ARGUMENT).
(defvar aio--ready-head nil
  "The first cell of the ready queue: (FUNCTION . ARGUMENT) items to run.")

(defvar aio--ready-tail nil
  "The last cell of the ready queue, where `aio--enqueue' appends.")

(defvar aio--drain-timer nil
  "The one pending timer that will drain the ready queue, if any.")

(defun aio--make-drain-timer ()
  "Return a timer to run `aio--drain' at once whenever activated."
  (let ((timer (timer-create)))
    (timer-set-function timer #'aio--drain)
    ;; Due since the epoch: first in `timer-list', run on the next turn.
    (timer-set-time timer 0)
    timer))

(defvar aio--drain-timers (vector (aio--make-drain-timer) (aio--make-drain-timer))
  "The two timers that drain the ready queue, armed in turn.
Arming a prepared timer costs a tenth of `run-at-time' and one cons.
Two, because Emacs runs its due timers from a copy of `timer-list'
made before it runs any: a timer that armed itself again while it ran
would be found due again in that copy and run at once, over and over,
starving the timers behind it.  The other one is not in that copy.")

(defvar aio--drain-turn 0
  "The index in `aio--drain-timers' of the timer armed last.")

(defvar aio--draining nil
  "Non-nil while a drain runs; resolving then needs no new timer.")

(defvar aio--deadline 0.0
  "The `float-time' at which the current drain slice ends.")

(defvar aio--budget 0
  "Queue steps left before the clock is looked at again.")

(defconst aio--budget-step 32
  "How many queue steps run between two readings of the clock.
Reading the clock costs more than a typical callback.")

(defsubst aio--enqueue (function argument)
  "Put (FUNCTION . ARGUMENT) at the end of the ready queue."
  (let ((cell (list (cons function argument))))
    (if aio--ready-head
        (setcdr aio--ready-tail cell)
      (setq aio--ready-head cell))
    (setq aio--ready-tail cell)))

(defun aio--check-clock ()
  "Return non-nil if the current drain slice has time left."
  (and (< (float-time) aio--deadline)
       (setq aio--budget aio--budget-step)))

(defsubst aio--slice-left-p ()
  "Return non-nil if the current drain slice may go on."
  (or (> (setq aio--budget (1- aio--budget)) 0)
      (aio--check-clock)))

(defsubst aio--spent ()
  "Tell the ready queue that the callback running now took long.
The queue looks at the clock before the next callback instead of after
`aio--budget-step' of them, so that a run of such callbacks still ends
its slice on time."
  (setq aio--budget 1))

(defun aio--schedule ()
  "Make sure a drain will run for a non-empty ready queue."
  (when (and aio--ready-head (not aio--drain-timer) (not aio--draining))
    (let ((timer (aref aio--drain-timers (setq aio--drain-turn (- 1 aio--drain-turn)))))
      (timer-activate timer)
      (setq aio--drain-timer timer))))

(defun aio--drain ()
  "Run queued callbacks in order for one slice of `aio-batch-seconds'.
What is left waits for a timer on the next turn of the event loop."
  (when aio--drain-timer
    (cancel-timer aio--drain-timer)
    (setq aio--drain-timer nil))
  (let ((aio--draining t)
        (aio--deadline (+ (float-time) aio-batch-seconds))
        (aio--budget aio--budget-step))
    (unwind-protect
        (while (and aio--ready-head (aio--slice-left-p))
          ;; One handler for the whole slice, re-entered after an error,
          ;; costs less than a handler per callback.  A cancellation
          ;; escaping a callback means that what the callback waited for
          ;; was canceled: nothing to report, even when debugging.
          (condition-case nil
              (condition-case-unless-debug err
                  (while (and aio--ready-head (aio--slice-left-p))
                    (let* ((item (car aio--ready-head))
                           (callback (car item)))
                      (setq aio--ready-head (cdr aio--ready-head))
                      (if (fixnump (car-safe callback))
                          (aio--resume (car callback) (cdr callback) (cdr item))
                        (funcall callback (cdr item)))))
                (error (aio--report-callback-error err)))
            (aio-cancel nil)))
      (setq aio--draining nil)
      (aio--schedule))))

(defun aio--report-callback-error (err)
  "Report ERR, signaled by a callback run from the ready queue."
  (message "aio: error in a promise callback: %s"
           (error-message-string err)))

;;;; Errors nobody awaits

(defgroup aio-debugging nil
  "Reporting and debugging the errors of async functions."
  :group 'aio-native
  :prefix "aio-")

(defcustom aio-report-unhandled-errors t
  "Non-nil means report the errors of async functions nobody awaits.
An async function that fails while nothing listens to its promise
\(no `aio-await', `aio-listen', `aio-wait-for', `aio-catch'...),
and nothing starts listening before the end of the turn, has its
error reported once: in the echo area, as a failing command's, when
it ran as a command, else through `aio-unhandled-error-function' (a
warning in *Warnings*).  Nil means drop such errors silently."
  :type 'boolean
  :group 'aio-debugging)

(defcustom aio-unhandled-error-grace-seconds 0
  "Seconds a failed promise nobody listens to waits before it is reported.
0 means the end of the turn: once the callbacks that were ready when
it failed have run.  A longer grace lets code start several async
functions and await them one after the other without a report for
one that fails while an earlier one is awaited; `aio-all' is the
better way to await them."
  :type 'number
  :group 'aio-debugging)

(defvar aio-unhandled-error-function #'aio-report-unhandled-error
  "Function called with ERROR and WHERE for an error nobody awaited.
ERROR is the condition, WHERE a string saying where it came from.
While it runs, `aio--unhandled-chain' holds the async backtrace.")

(defvar aio--unhandled-chain nil
  "The async backtrace of the error being reported; see `aio--last-failure'.")

(defvar aio--commands (make-hash-table :test #'eq :weakness 'key)
  "Promises of async functions run as commands, mapped to their names.
Their failures are reported like those of a command.")

;; Promises watched for an error that nobody awaits, mapped to
;; (CONDITION WHERE CHAIN): the error, a string saying where it came
;; from, and its async backtrace.  Listening to a promise, or calling
;; its value function, removes it.
(defvar aio--unobserved (make-hash-table :test #'eq :weakness 'key))

(defun aio--watch-failure (promise condition where chain)
  "Report PROMISE, failed with CONDITION, if nobody listens to it.
WHERE is a string that says where PROMISE came from, CHAIN the async
backtrace.  Errors only: a cancellation or a quit is deliberate."
  (when (and aio-report-unhandled-errors
             (memq 'error (get (car condition) 'error-conditions)))
    (puthash promise (list condition where chain) aio--unobserved))
  promise)

(defsubst aio--observe (promise)
  "Note that somebody takes care of PROMISE's outcome."
  (unless (zerop (hash-table-count aio--unobserved))
    (remhash promise aio--unobserved)))

(defun aio--observe-failure (promise)
  "Note that somebody took the error of PROMISE, a failed task's promise."
  (aio--observe promise))

(defun aio--check-unobserved (promise)
  "Report PROMISE's error if nobody has listened to PROMISE by now.
With `aio-unhandled-error-grace-seconds', look again after that long."
  (when (gethash promise aio--unobserved)
    (if (and (numberp aio-unhandled-error-grace-seconds)
             (> aio-unhandled-error-grace-seconds 0))
        (run-at-time aio-unhandled-error-grace-seconds nil
                     #'aio--report-unobserved promise)
      (aio--report-unobserved promise))))

(defun aio--report-unobserved (promise)
  "Report PROMISE's error now, if nobody has listened to PROMISE."
  (let ((entry (gethash promise aio--unobserved)))
    (when entry
      (remhash promise aio--unobserved)
      (when aio-report-unhandled-errors
        (let ((command (gethash promise aio--commands)))
          (if command
              (aio--report-command-error (car entry) command)
            (let ((aio--unhandled-chain (nth 2 entry)))
              (funcall aio-unhandled-error-function
                       (car entry) (nth 1 entry)))))))))

(defun aio--report-command-error (condition command)
  "Report CONDITION, the error of the async command COMMAND.
As the command loop reports a failing command: through
`command-error-function', which shows it in the echo area."
  (funcall command-error-function condition (format "%s: " command) nil))

(declare-function aio--chain-string "aio-debug" (chain))

(defun aio-report-unhandled-error (error where)
  "Display a warning about ERROR, which nobody awaited.
WHERE says where the failing code came from.  The warning shows the
async backtrace too, when there is one (see `aio-backtrace')."
  (display-warning 'aio
                   (format "Unhandled error in %s: %s %S%s"
                           where (error-message-string error) error
                           (if (and aio--unhandled-chain (fboundp 'aio--chain-string))
                               (concat "\n" (aio--chain-string aio--unhandled-chain))
                             ""))
                   :error))

;;;; Promises

(defun aio-result (promise)
  "Return PROMISE's value function, or nil while it is unresolved."
  (aio--check-promise promise)
  (aio-promise-result promise))

(defun aio-listen (promise callback)
  "Call CALLBACK with PROMISE's value function once PROMISE is resolved.
CALLBACK is never called from here, even for a resolved promise: all
callbacks run later, from the ready queue, in the order in which they
became ready."
  (aio--check-promise promise)
  (aio--check-function callback)
  (aio--listen promise callback))

(defun aio--listen (promise callback)
  "Do what `aio-listen' does, without checking PROMISE and CALLBACK.
CALLBACK may also be a resumer of a paused task, (ID . SERIAL): see
`aio--resume'."
  (aio--observe promise)
  (let ((value-function (aio-promise-result promise)))
    (if value-function
        (progn (aio--enqueue callback value-function)
               (aio--schedule))
      (push callback (aio-promise-callbacks promise))))
  nil)

(defun aio-resolve (promise value-function)
  "Resolve PROMISE with VALUE-FUNCTION, unless it is already resolved.
VALUE-FUNCTION is a function of no arguments returning the value or
signaling the error.  PROMISE's callbacks are queued, not called."
  (aio--check-promise promise)
  (aio--check-function value-function)
  (unless (aio-promise-result promise)
    (let ((callbacks (nreverse (aio-promise-callbacks promise))))
      (setf (aio-promise-result promise) value-function
            (aio-promise-callbacks promise) nil
            (aio-promise-release promise) nil)
      (dolist (callback callbacks)
        (aio--enqueue callback value-function))
      (when (and (not (zerop (hash-table-count aio--unobserved)))
                 (gethash promise aio--unobserved))
        (aio--enqueue #'aio--check-unobserved promise))
      (aio--schedule)))
  nil)

(defmacro aio-with-promise (promise &rest body)
  "Evaluate BODY and resolve PROMISE with its value or error.
A cancellation signaled by BODY rejects PROMISE too."
  (declare (indent 1) (debug (form body)))
  (let ((err (make-symbol "err")))
    `(aio-resolve ,promise
                  (condition-case ,err
                      (aio--value-fn (progn ,@body))
                    ((error aio-cancel) (aio--error-fn ,err))))))

(defun aio--unlisten (promise callback)
  "Remove one registration of CALLBACK from unresolved PROMISE."
  (let ((callbacks (aio-promise-callbacks promise)))
    (setf (aio-promise-callbacks promise)
          (if (eq (car callbacks) callback)
              (cdr callbacks)
            ;; Rare: keep it simple, since a callback is registered once.
            (delq callback callbacks)))))

(defun aio--release (promise callback)
  "Stop CALLBACK listening to PROMISE; cancel PROMISE if nobody else listens.
This is how a combinator, or an async function being canceled, lets
go of what it waited for: the work behind PROMISE stops when nothing
else waits for its outcome."
  (unless (aio-promise-result promise)
    (aio--unlisten promise callback)
    (unless (aio-promise-callbacks promise)
      (aio-cancel promise))))

;;;; Returners

;; A resolved promise has nothing to stop, since `aio-cancel' does
;; nothing to it: its RELEASE slot holds the returner instead.

(defun aio--grant (promise value returner)
  "Resolve PROMISE with VALUE, a resource that RETURNER gives back.
RETURNER, a function of no arguments, is called by `aio--abandon' if
whoever waits for PROMISE is canceled before taking VALUE."
  (aio-resolve promise (aio--value-fn value))
  (setf (aio-promise-release promise) returner))

(defun aio--abandon (promise)
  "Give back what resolved PROMISE handed over, since nobody will take it."
  (when (aio-promise-result promise)
    (let ((returner (aio-promise-release promise)))
      (when returner
        (setf (aio-promise-release promise) nil)
        (funcall returner)))))

(declare-function aio--cancel-task "aio-driver" (task reason))
(declare-function aio--resume "aio-driver" (id serial value-function))
(declare-function aio-native--cancel-sleep "aio-time" (id))

(defvar aio--cancel-work nil
  "While `aio-cancel' runs, the cancellations still to carry out.
Each element is (OBJECT . REASON), OBJECT a promise or a task.")

(defvar aio--canceling nil
  "Non-nil while `aio-cancel' works through `aio--cancel-work'.")

(defun aio--cancel-1 (promise reason)
  "Cancel unresolved PROMISE with REASON; see `aio-cancel'."
  (unless (aio-promise-result promise)
    (let ((task (aio-promise-task promise)))
      (if task
          (aio--cancel-task task reason)
        (let ((canceller (aio-promise-release promise)))
          (aio-resolve promise (lambda () (signal 'aio-cancel reason)))
          (when canceller
            (condition-case-unless-debug err
                (cond ((fixnump canceller)
                       ;; A sleep's: the id of its native timer.
                       (aio-native--cancel-sleep canceller))
                      ;; First: an interpreted closure is a cons before Emacs 30.
                      ((functionp canceller) (funcall canceller))
                      (t (funcall (car canceller) (cdr canceller))))
              (error (message "aio: error while canceling: %s"
                              (error-message-string err)))
              (aio-cancel nil))))))))

(defun aio--cancel-run (object reason)
  "Cancel OBJECT, a promise or a task, with REASON, and what that leads to.
Called again while a cancellation runs, just add to the work list."
  (if aio--canceling
      (push (cons object reason) aio--cancel-work)
    (let ((aio--canceling t)
          (aio--cancel-work (list (cons object reason))))
      (while aio--cancel-work
        (let ((item (pop aio--cancel-work)))
          (if (aio-promise-p (car item))
              (aio--cancel-1 (car item) (cdr item))
            (aio--cancel-task (car item) (cdr item))))))))

(defun aio-cancel (promise &optional reason)
  "Cancel PROMISE with REASON if it is unresolved; return non-nil if so.
A plain promise is rejected at once with the error (aio-cancel
. REASON), and the work behind it, if it can be stopped, is stopped
\=(a native timer, a transfer).

The promise of an async function is not rejected at once: the
condition `aio-cancel' is signaled inside its body, at the await
where it is paused, so that its `unwind-protect' cleanups run and a
`condition-case' may catch it; what it was awaiting is canceled too
when nothing else waits for it.  The promise then settles as the body
ends, normally rejected with (aio-cancel . REASON).

`aio-cancel' is not an `error': catch it with a handler for
`aio-cancel' itself."
  (aio--check-promise promise)
  (unless (aio-promise-result promise)
    (aio--cancel-run promise reason)
    t))

;;;; Waiting synchronously

(defconst aio--longest-wait 0.05
  "Longest single wait of `aio-wait-for' for process output, in seconds.
Sentinels do not end such a wait either.")

(defun aio--wait-seconds (deadline)
  "Return how long to wait for process output before looking again.
Emacs does not return from `accept-process-output' when a timer or a
sentinel runs, so wait no longer than until the next timer is due,
`aio--longest-wait', or DEADLINE."
  (let ((next (and timer-list
                   (float-time (time-subtract (timer--time (car timer-list))
                                              nil))))
        (limit (if deadline (- deadline (float-time)) aio--longest-wait)))
    (max 0 (min limit aio--longest-wait
                (if next (+ next 0.0005) aio--longest-wait)))))

(defvar aio-wait-for-grace-seconds 1.0
  "How long `aio-wait-for' lets a promise it canceled settle, in seconds.
When the TIMEOUT of `aio-wait-for' expires, the promise is canceled;
an async function then unwinds on later turns of the ready queue,
and `aio-wait-for' keeps processing events until it has, but no
longer than this, before it signals `aio-timeout'.")

(defcustom aio-wait-for-cancel-on-quit nil
  "Non-nil means quitting `aio-wait-for' cancels what it waits for.
\[keyboard-quit] during `aio-wait-for' signals `quit' there.  With
nil (the default, as emacs-aio does), the promise and the work
behind it go on: an async function keeps running, and can still be
awaited or canceled.  With non-nil, the promise is canceled with the
reason `quit', unless something else waits for it: an async function
then gets `aio-cancel' at its await and unwinds on the following
turns, and a native operation stops."
  :type 'boolean
  :group 'aio-debugging)

(defvar aio--test-clock nil
  "The clock of `aio-with-test-clock' while it runs, else nil.")

(declare-function aio--test-clock-now "aio-test-clock" (clock))
(declare-function aio--test-clock-wait "aio-test-clock" (clock promise deadline))

(defun aio--seconds ()
  "Return the time in seconds: the test clock's if there is one, else real."
  (if aio--test-clock
      (aio--test-clock-now aio--test-clock)
    (float-time)))

(defun aio--wait-until (promise deadline)
  "Process events until PROMISE is resolved or DEADLINE (a time) passes.
DEADLINE is in the seconds of `aio--seconds'."
  (if aio--test-clock
      (aio--test-clock-wait aio--test-clock promise deadline)
    (while (and (null (aio-promise-result promise))
                (or (null deadline) (< (float-time) deadline)))
      (if aio--ready-head
          (progn (aio--drain)
                 (accept-process-output nil 0))
        (accept-process-output nil (aio--wait-seconds deadline))))))

(defun aio-wait-for (promise &optional timeout)
  "Block until PROMISE is resolved, then return its value or signal its error.
Events, timers and process output are processed meanwhile.

With TIMEOUT, a non-negative number of seconds: if PROMISE is still
unresolved by then, cancel it, as asyncio's `wait_for' does (unless
something else also waits for it; `aio-shield' keeps it from being
canceled), give the cancellation up to `aio-wait-for-grace-seconds'
to run its cleanups, and signal (aio-timeout . TIMEOUT).

Quitting (\[keyboard-quit]) signals `quit' from here and, by
default, leaves PROMISE and the work behind it running, as emacs-aio
does; with `aio-wait-for-cancel-on-quit', PROMISE is canceled too.

Inside `aio-with-test-clock', TIMEOUT is in the clock's seconds."
  (aio--check-promise promise)
  (when timeout
    (unless (numberp timeout)
      (signal 'wrong-type-argument (list 'numberp timeout)))
    (unless (>= timeout 0)
      (signal 'args-out-of-range (list timeout))))
  (aio--observe promise)
  (let ((deadline (and timeout (+ (aio--seconds) timeout)))
        (listening (null (aio-promise-result promise))))
    ;; Listening tells others that somebody waits for PROMISE.
    (when listening
      (push #'ignore (aio-promise-callbacks promise)))
    (unwind-protect
        (condition-case err
            (aio--wait-until promise deadline)
          (quit
           (when (and listening (null (aio-promise-result promise)))
             (setq listening nil)
             (aio--unlisten promise #'ignore)
             (when (and aio-wait-for-cancel-on-quit
                        (null (aio-promise-callbacks promise)))
               (aio-cancel promise 'quit)))
           (signal (car err) (cdr err))))
      (when (and listening (null (aio-promise-result promise)))
        (aio--unlisten promise #'ignore)))
    (unless (aio-promise-result promise)
      (unless (aio-promise-callbacks promise)
        (aio-cancel promise)
        (aio--wait-until promise (+ (aio--seconds) aio-wait-for-grace-seconds)))
      (signal 'aio-timeout timeout))
    (funcall (aio-promise-result promise))))

(provide 'aio-promise)
;;; aio-promise.el ends here
