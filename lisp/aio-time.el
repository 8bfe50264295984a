;;; aio-time.el --- Sleeps, idle waits and timeouts for aio  -*- lexical-binding: t -*-

;;; Commentary:

;; `aio-sleep' runs on the native loop's timers.  `aio-idle' sits on
;; Emacs's idle timers, since only Emacs knows when the user is idle.
;; `aio-timeout' sits on the native `aio-sleep', so
;; that many pending timeouts cost Emacs no timers at all.  Canceling
;; either promise stops what is behind it.
;;
;; `aio-with-timeout' bounds the time a part of an async function
;; may take: when it expires, the function is canceled at its await, as
;; `aio-cancel' does, with a reason that is this timeout's own; the form
;; recognizes that reason on the way out and turns it into
;; `aio-timeout'.  Any other cancellation passes through untouched.

;;; Code:

(require 'cl-lib)
(require 'aio-promise)
(require 'aio-native)
(require 'aio-async)

(declare-function aio-native--timer-stage "aio-native-module" (id seconds))
(declare-function aio-native--timer-cancel "aio-native-module" (id))

(declare-function aio--test-clock-sleep "aio-test-clock" (clock promise seconds result))

(defun aio-sleep (seconds &optional result)
  "Return a promise that resolves with RESULT after SECONDS.
SECONDS is a non-negative number.  The timer runs on the native loop,
so thousands of sleeps cost no more to create than a few; `aio-cancel'
on the promise stops the timer.  Sleeps started together reach the
loop together, a millisecond after the first: one shorter than that
may end up to a millisecond late.  Inside `aio-with-test-clock', the
sleep is on the test clock instead."
  (aio-native--check-seconds seconds)
  (let ((promise (aio-promise)))
    (cond
     ((zerop seconds)
      ;; Nothing to wait for: the ready queue alone gives the delay.
      (aio-resolve promise (aio--value-fn result)))
     (aio--test-clock
      (aio--test-clock-sleep aio--test-clock promise seconds result))
     (t
      ;; The loop thread knows when it started and for how long (see
      ;; `aio-native--sleep-times'): Lisp keeps the promise alone, with
      ;; the result when there is one.
      (let ((id (aio-native--register
                 (if result (cons promise result) promise)
                 (and aio-native--trackers (format "sleep %ss" seconds)))))
        ;; Staged: a burst of sleeps wakes the loop thread once.
        (aio-native--timer-stage id seconds)
        ;; The id itself, not a closure: see `aio--cancel-1'.
        (setf (aio-promise-release promise) id))))
    promise))

(defun aio-native--cancel-sleep (id)
  "Stop the native timer of operation ID, whose promise was canceled."
  (aio-native--stop id #'aio-native--timer-cancel))

(defun aio-idle (seconds &optional result)
  "Return a promise that resolves with RESULT once Emacs is idle for SECONDS.
Idle means no user input, as for `run-with-idle-timer'.  SECONDS is
checked as `aio-sleep' checks it: a number from 0 to about 31 years."
  (aio-native--check-seconds seconds)
  (let ((aio--promise (aio-promise)))
    (setf (aio-promise-release aio--promise)
          (apply-partially #'cancel-timer
                           (run-with-idle-timer seconds nil #'aio-resolve
                                                aio--promise (aio--value-fn result))))
    aio--promise))

(defun aio-timeout (seconds)
  "Return a promise rejected with (aio-timeout . SECONDS) after SECONDS."
  (aio-native--check-seconds seconds)
  (let ((aio--promise (aio-promise))
        (aio--sleep (aio-sleep seconds)))
    (aio-listen aio--sleep
                (lambda (_)
                  (aio-resolve aio--promise
                               (lambda () (signal 'aio-timeout seconds)))))
    (setf (aio-promise-release aio--promise) (apply-partially #'aio-cancel aio--sleep))
    aio--promise))

;;;; Timeouts

(cl-defstruct (aio--timeout (:constructor aio--make-timeout (task seconds))
                            (:copier nil))
  "An armed `aio-with-timeout'.
TASK is the number of the task it bounds, SECONDS its duration, SLEEP
the promise of its timer, LIVE nil once the form has ended, EXPIRED
non-nil once the timer has canceled the task."
  task seconds (sleep nil) (live t) (expired nil))

(defun aio--timeout-arm (seconds task)
  "Arm a timeout of SECONDS for TASK, the running task; return it.
With SECONDS nil, return nil: no timeout."
  (when seconds
    (let ((timeout (aio--make-timeout (aio--task-id task) seconds)))
      ;; `aio-sleep' checks SECONDS.
      (setf (aio--timeout-sleep timeout) (aio-sleep seconds))
      (aio-listen (aio--timeout-sleep timeout)
                  (apply-partially #'aio--timeout-expire timeout))
      timeout)))

(defun aio--timeout-expire (timeout _value-function)
  "Cancel the task TIMEOUT bounds, unless the form has ended.
Called when TIMEOUT's timer fires."
  (when (aio--timeout-live timeout)
    (setf (aio--timeout-expired timeout) t)
    (aio--cancel-run (aio--live-task (aio--timeout-task timeout))
                     timeout)))

(defun aio--timeout-disarm (timeout)
  "End TIMEOUT: stop its timer and withdraw its cancellation if pending."
  (when timeout
    (setf (aio--timeout-live timeout) nil)
    (aio-cancel (aio--timeout-sleep timeout))
    (aio--withdraw-cancel (aio--timeout-task timeout) timeout)))

(defun aio--timeout-check (timeout condition)
  "Signal CONDITION, a cancellation, again, or `aio-timeout' if TIMEOUT's."
  (if (and timeout (eq (cdr condition) timeout))
      (signal 'aio-timeout (aio--timeout-seconds timeout))
    (signal (car condition) (cdr condition))))

(defmacro aio-with-timeout (seconds &rest body)
  "Run BODY, but no longer than SECONDS; return BODY's value.
Only valid in an async function.  If BODY is still running after
SECONDS, it is canceled at the await where it is paused, as
`aio-cancel' does (its `unwind-protect' cleanups run, and what it
awaited is canceled unless something else waits for it), and the form
signals (aio-timeout . SECONDS).  SECONDS nil means no limit.  A
cancellation of the function from elsewhere passes through as it is.

If BODY catches the cancellation and returns normally, so does the
form.

\(fn SECONDS BODY...)"
  (declare (indent 1) (debug (form body)))
  (unless (aio--in-async-body-p)
    (error "`aio-with-timeout' used outside an async function: use it \
in the body of `aio-lambda', `aio-defun' or `aio-with-async', or give \
`aio-wait-for' a TIMEOUT in ordinary code"))
  (let ((timeout (make-symbol "timeout"))
        (err (make-symbol "err")))
    `(let ((,timeout (aio--timeout-arm ,seconds (aio--task-marker 'aio-with-timeout))))
       (unwind-protect
           (condition-case ,err
               (progn ,@body)
             (aio-cancel (aio--timeout-check ,timeout ,err)))
         (aio--timeout-disarm ,timeout)))))

(provide 'aio-time)
;;; aio-time.el ends here
