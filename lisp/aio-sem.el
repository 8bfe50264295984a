;;; aio-sem.el --- Semaphores for aio  -*- lexical-binding: t -*-

;;; Commentary:

;; A counting semaphore whose waiters wake in FIFO order, both posting
;; and waiting O(1) however many tasks wait.  Cancellation-safe: a
;; waiter canceled while it waits takes no permit, and a waiter
;; canceled after a post woke it, before it could run, gives its permit
;; back (see `aio--grant').

;;; Code:

(require 'cl-lib)
(require 'aio-promise)
(require 'aio-waiters)

(cl-defstruct (aio-sem (:constructor aio--make-sem (value))
                       (:copier nil))
  "A semaphore; see `aio-sem'.
VALUE is the count, never below zero.  WAITERS are the waiting
`aio-sem-wait' calls.  RETURNER, made once, posts it again for a
waiter canceled after it was woken (see `aio--grant')."
  (value 0)
  (waiters (aio--make-waiters))
  (-returner nil))

(defun aio--check-sem (object)
  "Signal `wrong-type-argument' unless OBJECT is an `aio-sem'."
  (unless (aio-sem-p object)
    (signal 'wrong-type-argument (list 'aio-sem-p object))))

(defun aio-sem (init)
  "Return a new semaphore with count INIT, a natural number."
  (unless (natnump init)
    (signal 'wrong-type-argument (list 'natnump init)))
  (aio--make-sem init))

(defun aio-sem-post (sem)
  "Increment SEM's count, or wake the oldest task waiting on SEM."
  (aio--check-sem sem)
  (let ((entry (aio--waiters-pop (aio-sem-waiters sem))))
    (if entry
        (aio--grant (car entry) nil
                    (or (aio-sem--returner sem)
                        (setf (aio-sem--returner sem) (lambda () (aio-sem-post sem)))))
      (cl-incf (aio-sem-value sem))))
  nil)

(defun aio-sem-wait (sem)
  "Decrement SEM's count, waiting while it is zero.
Return nil when no wait is needed, so that `aio-await' goes on at
once, and otherwise a promise that resolves when a post wakes it.
Canceling that promise, or the task awaiting it, takes no permit."
  (aio--check-sem sem)
  (if (> (aio-sem-value sem) 0)
      (progn (cl-decf (aio-sem-value sem)) nil)
    (aio--waiters-add (aio-sem-waiters sem))))

(provide 'aio-sem)
;;; aio-sem.el ends here
