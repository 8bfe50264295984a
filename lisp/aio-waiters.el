;;; aio-waiters.el --- FIFO queues of waiting promises for aio  -*- lexical-binding: t -*-

;;; Commentary:

;; The waiters of a semaphore, lock, event, queue or select: a FIFO of
;; entries (PROMISE . DATA), a list with a pointer to its last cell so
;; that adding and taking are O(1).
;;
;; Cancellation safety: a waiter canceled while it waits is a resolved
;; promise, which `aio--waiters-pop' skips, so it takes nothing.  So
;; that a program that waits with timeouts again and again does not
;; fill the queue with canceled waiters, adding to a queue that has
;; doubled since it was last compacted compacts it: the queue holds at
;; most twice its live waiters (plus a few), at an amortized O(1) cost.
;; A waiter canceled after it was served is the business of the
;; returner its server gave it (see `aio--grant').

;;; Code:

(require 'cl-lib)
(require 'aio-promise)

(cl-defstruct (aio--waiters (:constructor aio--make-waiters ())
                            (:copier nil)
                            (:predicate nil))
  "A FIFO of waiting promises.
HEAD is the list of entries (PROMISE . DATA), oldest first, LAST its
last cell, SIZE its length, LIMIT the size that triggers the next
compaction."
  (head nil) (last nil) (size 0) (limit 32))

(defconst aio--waiters-compact-floor 32
  "The smallest size at which a queue of waiters is compacted.")

(defun aio--waiters-compact (waiters)
  "Unlink, in place, the entries of WAITERS whose promises are resolved."
  (let ((head (aio--waiters-head waiters))
        (size 0))
    (while (and head (aio-promise-result (car (car head))))
      (setq head (cdr head)))
    (let ((cell head))
      (while cell
        (setq size (1+ size))
        (while (and (cdr cell) (aio-promise-result (car (cadr cell))))
          (setcdr cell (cddr cell)))
        (unless (cdr cell)
          (setf (aio--waiters-last waiters) cell))
        (setq cell (cdr cell))))
    (unless head
      (setf (aio--waiters-last waiters) nil))
    (setf (aio--waiters-head waiters) head
          (aio--waiters-size waiters) size
          (aio--waiters-limit waiters) (max aio--waiters-compact-floor
                                            (* 2 size)))))

(defun aio--waiters-add (waiters &optional data)
  "Add a new waiter with DATA at the end of WAITERS; return its promise."
  (when (>= (aio--waiters-size waiters) (aio--waiters-limit waiters))
    (aio--waiters-compact waiters))
  (let* ((promise (aio-promise))
         (cell (list (cons promise data))))
    (if (aio--waiters-head waiters)
        (setcdr (aio--waiters-last waiters) cell)
      (setf (aio--waiters-head waiters) cell))
    (setf (aio--waiters-last waiters) cell)
    (cl-incf (aio--waiters-size waiters))
    promise))

(defun aio--waiters-pop (waiters)
  "Remove the oldest waiter of WAITERS still waiting; return its entry.
The entry is (PROMISE . DATA); nil when nobody waits.  Canceled
waiters on the way are dropped."
  (let (entry)
    (while (and (setq entry (pop (aio--waiters-head waiters)))
                (progn (cl-decf (aio--waiters-size waiters))
                       (aio-promise-result (car entry))))
      nil)
    (unless (aio--waiters-head waiters)
      (setf (aio--waiters-last waiters) nil))
    entry))

(defun aio--waiters-live-p (waiters)
  "Return non-nil if some waiter of WAITERS still waits."
  (let ((head (aio--waiters-head waiters)))
    (while (and head (aio-promise-result (car (car head))))
      (setq head (cdr head)))
    (and head t)))

(defun aio--waiters-take-all (waiters)
  "Empty WAITERS; return the entries still waiting, oldest first."
  (let ((entries (aio--waiters-head waiters)))
    (setf (aio--waiters-head waiters) nil
          (aio--waiters-last waiters) nil
          (aio--waiters-size waiters) 0)
    (cl-loop for entry in entries
             unless (aio-promise-result (car entry)) collect entry)))

(provide 'aio-waiters)
;;; aio-waiters.el ends here
