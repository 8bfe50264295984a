;;; aio-sem.el --- Semaphores for aio  -*- lexical-binding: t -*-

;;; Commentary:

;; A counting semaphore whose waiters wake in FIFO order.  Waiters are
;; kept in a list with a pointer to its last cell, so that both posting
;; and waiting are O(1) however many tasks wait.

;;; Code:

(require 'cl-lib)
(require 'aio-promise)

(cl-defstruct (aio-sem (:constructor aio--make-sem (value))
                       (:copier nil))
  "A semaphore; see `aio-sem'.
VALUE is the count, never below zero.  WAITERS are the promises of
the waiting `aio-sem-wait' calls, oldest first; LAST is WAITERS' last
cell."
  (value 0)
  (waiters nil)
  (last nil))

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
  (let (waiter)
    ;; Waiters canceled meanwhile are skipped and dropped.
    (while (and (setq waiter (pop (aio-sem-waiters sem)))
                (aio-promise-result waiter)))
    (if waiter
        (aio-resolve waiter #'ignore)
      (cl-incf (aio-sem-value sem))))
  nil)

(defun aio-sem-wait (sem)
  "Decrement SEM's count, waiting while it is zero.
Return nil when no wait is needed, so that `aio-await' goes on at
once, and otherwise a promise that resolves when a post wakes it."
  (aio--check-sem sem)
  (if (> (aio-sem-value sem) 0)
      (progn (cl-decf (aio-sem-value sem)) nil)
    (let ((waiter (aio-promise))
          (cell (list nil)))
      (setcar cell waiter)
      (if (aio-sem-waiters sem)
          (setcdr (aio-sem-last sem) cell)
        (setf (aio-sem-waiters sem) cell))
      (setf (aio-sem-last sem) cell)
      waiter)))

(provide 'aio-sem)
;;; aio-sem.el ends here
