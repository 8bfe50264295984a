;;; aio-cancel.el --- Shields and timeouts for aio  -*- lexical-binding: t -*-

;;; Commentary:

;; `aio-shield' keeps a promise from being canceled by those who await
;; it.  `aio-with-timeout' bounds the time a part of an async function
;; may take: when it expires, the function is canceled at its await, as
;; `aio-cancel' does, with a reason that is this timeout's own; the form
;; recognizes that reason on the way out and turns it into
;; `aio-timeout'.  Any other cancellation passes through untouched.

;;; Code:

(require 'cl-lib)
(require 'aio-promise)
(require 'aio-async)
(require 'aio-native)

(defun aio-shield (promise)
  "Return a promise that settles as PROMISE does, but shields it.
Canceling the returned promise, or an async function awaiting it,
leaves PROMISE and the work behind it running."
  (aio--check-promise promise)
  (let ((shield (aio-promise)))
    (aio-listen promise (apply-partially #'aio-resolve shield))
    shield))

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

(provide 'aio-cancel)
;;; aio-cancel.el ends here
