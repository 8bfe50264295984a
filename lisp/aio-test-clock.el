;;; aio-test-clock.el --- Virtual time for testing async code  -*- lexical-binding: t -*-

;; SPDX-License-Identifier: GPL-3.0-or-later

;;; Commentary:

;; `aio-with-test-clock' runs its body on a clock of its own, as trio's
;; MockClock does: `aio-sleep' (and so `aio-timeout' and
;; `aio-with-timeout') waits on that clock, not on the native loop, as
;; does the TIMEOUT of `aio-wait-for'.  The clock starts at 0 and stands
;; still while anything is ready to run; when `aio-wait-for' finds
;; nothing to do, the clock jumps to the next deadline and wakes what
;; waits for it.  A test of code that sleeps for an hour so runs in
;; milliseconds, and always the same way: timers due at the same time
;; fire in the order they were started.  `aio-test-clock-advance' moves
;; the clock by hand.
;;
;; The clock is a dynamic binding: code run from outside the body, such
;; as an Emacs timer of another package, sees real time.  Real work (a
;; process, an HTTP request) still takes real time; the clock jumps as
;; soon as nothing is ready, so a real operation waited for under a
;; virtual timeout loses the race unless `aio-test-clock-autojump' says
;; to wait for it.

;;; Code:

(require 'cl-lib)
(require 'aio-promise)

(defvar aio-test-clock-autojump 0
  "When the clock of `aio-with-test-clock' jumps ahead by itself.
A number: after `aio-wait-for' has found nothing ready to run for
that many real seconds (0: at once).  Nil: never; only
`aio-test-clock-advance' moves it.")

(cl-defstruct (aio--test-clock (:constructor aio--make-test-clock)
                               (:copier nil) (:predicate nil))
  "The virtual clock of `aio-with-test-clock'.
NOW is its time in seconds; TIMERS the pending sleeps, soonest first,
each a vector [DEADLINE SERIAL PROMISE RESULT]; SERIAL the number of
sleeps started so far, which orders sleeps due at the same time."
  (now 0) (timers nil) (serial 0))

(defun aio--test-clock-insert (clock timer)
  "Add TIMER to the pending sleeps of CLOCK, in deadline order."
  (let ((deadline (aref timer 0))
        (timers (aio--test-clock-timers clock)))
    (if (or (null timers) (< deadline (aref (car timers) 0)))
        (push timer (aio--test-clock-timers clock))
      (while (and (cdr timers) (<= (aref (cadr timers) 0) deadline))
        (setq timers (cdr timers)))
      (setcdr timers (cons timer (cdr timers))))))

(defun aio--test-clock-remove (clock timer)
  "Forget TIMER, a sleep of CLOCK that was canceled."
  (setf (aio--test-clock-timers clock) (delq timer (aio--test-clock-timers clock))))

(defun aio--test-clock-sleep (clock promise seconds result)
  "Resolve PROMISE with RESULT after SECONDS of CLOCK; return PROMISE."
  (let* ((timer (vector (+ (aio--test-clock-now clock) seconds)
                        (setf (aio--test-clock-serial clock)
                              (1+ (aio--test-clock-serial clock)))
                        promise result)))
    (aio--test-clock-insert clock timer)
    (setf (aio-promise-release promise)
          (apply-partially #'aio--test-clock-remove clock timer))
    promise))

(defun aio--test-clock-fire (clock time)
  "Move CLOCK to TIME and wake the sleeps due by then, in order.
Each group of sleeps due at the same time is woken at that time, and
what they make ready runs before the clock moves on."
  (let ((timers (aio--test-clock-timers clock)))
    (while (and timers (<= (aref (car timers) 0) time))
      (let ((due (aref (car timers) 0)))
        (setf (aio--test-clock-now clock) (max due (aio--test-clock-now clock)))
        ;; The queue is run right below: no Emacs timer needed for it.
        (let ((aio--draining t))
          (while (and timers (= (aref (car timers) 0) due))
            (let ((timer (pop timers)))
              (setf (aio--test-clock-timers clock) timers)
              (aio-resolve (aref timer 2) (aio--value-fn (aref timer 3))))))
        (aio--test-clock-run)
        (setq timers (aio--test-clock-timers clock))))
    (setf (aio--test-clock-now clock) (max time (aio--test-clock-now clock)))
    (aio--test-clock-run)))

(defun aio--test-clock-run ()
  "Run the ready queue until it is empty."
  (while aio--ready-head
    (aio--drain)))

(defconst aio--test-clock-poll-seconds 0.01
  "Real seconds between two looks at real events while the clock jumps.
Looking costs more than a jump of the clock.")

(defvar aio--test-clock-polled 0.0
  "The `float-time' of the latest look at real events.")

(defun aio--test-clock-idle-p ()
  "Return non-nil if nothing is ready to run.
Real events (process output, timers) are looked at now and then."
  (unless aio--ready-head
    (let ((now (float-time)))
      (when (>= (- now aio--test-clock-polled) aio--test-clock-poll-seconds)
        (setq aio--test-clock-polled now)
        (accept-process-output nil 0)))
    (null aio--ready-head)))

(defun aio--test-clock-wait (clock promise deadline)
  "Run CLOCK's world until PROMISE is resolved or CLOCK reaches DEADLINE."
  (let ((idle-since nil))
    (while (and (null (aio-promise-result promise))
                (or (null deadline) (< (aio--test-clock-now clock) deadline)))
      (cond
       ((not (aio--test-clock-idle-p))
        (setq idle-since nil)
        (aio--drain))
       (t
        (let* ((next (car (aio--test-clock-timers clock)))
               (target (if next
                           (if deadline (min deadline (aref next 0)) (aref next 0))
                         deadline))
               (now (float-time)))
          (unless idle-since
            (setq idle-since now))
          (if (and target (numberp aio-test-clock-autojump)
                   (>= (- now idle-since) aio-test-clock-autojump))
              (progn (setq idle-since nil)
                     (aio--test-clock-fire clock target))
            ;; Nothing virtual to wait for, or not yet: real events.
            (accept-process-output nil 0.01))))))))

(defun aio--test-clock-cancel-all (clock)
  "Cancel the sleeps still pending on CLOCK."
  (let ((timers (aio--test-clock-timers clock)))
    (setf (aio--test-clock-timers clock) nil)
    (dolist (timer timers)
      (aio-cancel (aref timer 2)))))

(defun aio--call-with-test-clock (function)
  "Call FUNCTION with a new test clock; see `aio-with-test-clock'."
  (let* ((clock (aio--make-test-clock))
         (aio--test-clock clock))
    (unwind-protect
        (funcall function)
      (aio--test-clock-cancel-all clock))))

;;;###autoload
(defmacro aio-with-test-clock (&rest body)
  "Run BODY with async time on a virtual clock; return BODY's value.
Within BODY, `aio-sleep', `aio-timeout', `aio-with-timeout' and the
TIMEOUT of `aio-wait-for' count virtual seconds.  The clock starts at
0, see `aio-test-clock-now'.  It stands still while anything is ready
to run, and when `aio-wait-for' finds nothing to do, it jumps to the
next deadline (see `aio-test-clock-autojump'); so code that sleeps
for hours runs at once, and sleeps due at the same time wake in the
order they were started.  `aio-test-clock-advance' moves it by hand.

Sleeps still pending when BODY ends are canceled.  Real work, such as
a process or an HTTP request, still takes real time.

  (aio-with-test-clock
    (aio-wait-for (my-hourly-job))       ; an hour of `aio-sleep'
    (should (= (aio-test-clock-now) 3600)))"
  (declare (indent 0) (debug t))
  `(aio--call-with-test-clock (lambda () ,@body)))

(defun aio--current-test-clock ()
  "Return the running test clock, or signal an error if there is none."
  (or aio--test-clock
      (error "No test clock: use this inside `aio-with-test-clock'")))

(defun aio-test-clock-now ()
  "Return the time, in seconds, of the clock of `aio-with-test-clock'.
It is 0 when the clock starts."
  (aio--test-clock-now (aio--current-test-clock)))

(defun aio-test-clock-advance (seconds)
  "Move the clock of `aio-with-test-clock' ahead by SECONDS.
The sleeps due on the way wake in order, each at its own time, and
what they make ready runs before the clock moves on; so does what
is ready now.  Return the new time."
  (unless (numberp seconds)
    (signal 'wrong-type-argument (list 'numberp seconds)))
  (unless (>= seconds 0)
    (signal 'args-out-of-range (list seconds)))
  (let ((clock (aio--current-test-clock)))
    (aio--test-clock-run)
    (aio--test-clock-fire clock (+ (aio--test-clock-now clock) seconds))
    (aio--test-clock-now clock)))

(provide 'aio-test-clock)
;;; aio-test-clock.el ends here
