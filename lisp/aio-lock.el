;;; aio-lock.el --- Mutual exclusion for async functions  -*- lexical-binding: t -*-

;;; Commentary:

;; A lock held by one async function at a time, handed to its waiters
;; in FIFO order.  Releasing with waiters passes the lock straight to
;; the oldest one, so no newcomer can overtake them.  Cancellation-safe
;; as the semaphore is: a waiter canceled while it waits never holds the
;; lock, and one canceled after the lock was handed to it releases it.

;;; Code:

(require 'cl-lib)
(require 'aio-promise)
(require 'aio-async)
(require 'aio-waiters)

(cl-defstruct (aio-lock (:constructor aio-lock ())
                        (:conc-name aio--lock-)
                        (:copier nil))
  "A lock for async functions; see `aio-with-lock'.
LOCKED is non-nil while somebody holds it; WAITERS are the waiting
`aio-lock-acquire' calls.  RETURNER, made once, releases it again for
a waiter canceled after it was granted the lock (see `aio--grant')."
  (locked nil)
  (waiters (aio--make-waiters))
  (returner nil))

(put 'aio-lock 'function-documentation
     "Return a new lock, free.
Take it with `aio-with-lock', or with `aio-lock-acquire' and
`aio-lock-release'.")

(defun aio--check-lock (object)
  "Signal `wrong-type-argument' unless OBJECT is an `aio-lock'."
  (unless (aio-lock-p object)
    (signal 'wrong-type-argument (list 'aio-lock-p object))))

(defun aio-lock-acquire (lock)
  "Take LOCK, waiting while it is held by somebody else.
Return nil when LOCK is free (it is then taken, and `aio-await' goes
on at once), else a promise that resolves once LOCK is handed over.
Canceling that promise, or the task awaiting it, never leaves the lock
taken.  Release it with `aio-lock-release'."
  (aio--check-lock lock)
  (if (aio--lock-locked lock)
      (aio--waiters-add (aio--lock-waiters lock))
    (setf (aio--lock-locked lock) t)
    nil))

(defun aio-lock-release (lock)
  "Release LOCK, handing it to the oldest waiter if there is one.
Signal an error if LOCK is not held."
  (aio--check-lock lock)
  (unless (aio--lock-locked lock)
    (error "Releasing an aio-lock that is not held"))
  (let ((entry (aio--waiters-pop (aio--lock-waiters lock))))
    (if entry
        (aio--grant (car entry) nil
                    (or (aio--lock-returner lock)
                        (setf (aio--lock-returner lock)
                              (lambda () (aio-lock-release lock)))))
      (setf (aio--lock-locked lock) nil)))
  nil)

(defun aio-lock-locked-p (lock)
  "Return non-nil if LOCK is held."
  (aio--check-lock lock)
  (aio--lock-locked lock))

(defmacro aio-with-lock (lock &rest body)
  "Run BODY holding LOCK, an `aio-lock'; return BODY's value.
Only valid in an async function: wait for LOCK, run BODY, and release
LOCK however BODY ends, cancellation included."
  (declare (indent 1) (debug (form body)))
  (let ((held (make-symbol "lock")))
    `(let ((,held ,lock))
       (aio-await (aio-lock-acquire ,held))
       (unwind-protect (progn ,@body)
         (aio-lock-release ,held)))))

(provide 'aio-lock)
;;; aio-lock.el ends here
