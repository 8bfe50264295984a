;;; aio-queue.el --- FIFO queues between async functions  -*- lexical-binding: t -*-

;;; Commentary:

;; A queue of items, optionally bounded, as asyncio's Queue: a put waits
;; while the queue is full, a get while it is empty, both served in
;; FIFO order, and items come out in the order they went in.
;; `aio-queue-close' ends it: puts fail at once, gets go on until the
;; queue is drained and then fail with `aio-queue-closed'.
;;
;; A waiting put holds its item until there is room; the put has taken
;; effect when its promise resolves.  A waiting get receives its item
;; when its promise resolves.  Cancellation-safe: a get canceled while
;; it waits takes no item; one canceled after an item was handed to it,
;; before it could run, gives the item back to the head of the queue.
;; A put canceled while it waits puts nothing.

;;; Code:

(require 'cl-lib)
(require 'aio-promise)
(require 'aio-waiters)

(define-error 'aio-queue-closed "Queue is closed")

(cl-defstruct (aio-queue (:constructor aio--make-queue (maxsize))
                         (:conc-name aio--queue-)
                         (:copier nil))
  "A queue of items; see `aio-queue'.
MAXSIZE is nil or the most items it holds; ITEMS the items, oldest
first, LAST their last cell, COUNT their number; GETTERS and PUTTERS
the waiting gets and puts (a put's entry holds its item); CLOSED is
non-nil once `aio-queue-close' was called."
  maxsize (items nil) (last nil) (count 0)
  (getters (aio--make-waiters)) (putters (aio--make-waiters))
  (closed nil))

(defun aio--check-queue (object)
  "Signal `wrong-type-argument' unless OBJECT is an `aio-queue'."
  (unless (aio-queue-p object)
    (signal 'wrong-type-argument (list 'aio-queue-p object))))

(defun aio-queue (&optional maxsize)
  "Return a new empty queue holding at most MAXSIZE items.
MAXSIZE nil means no limit; else it is a positive integer."
  (unless (or (null maxsize) (natnump maxsize))
    (signal 'wrong-type-argument (list 'natnump maxsize)))
  (when (eql maxsize 0)
    (signal 'args-out-of-range (list maxsize)))
  (aio--make-queue maxsize))

(defun aio--queue-push (queue item)
  "Add ITEM at the end of QUEUE's items."
  (let ((cell (list item)))
    (if (aio--queue-items queue)
        (setcdr (aio--queue-last queue) cell)
      (setf (aio--queue-items queue) cell))
    (setf (aio--queue-last queue) cell)
    (cl-incf (aio--queue-count queue))))

(defun aio--queue-pop (queue)
  "Remove and return the first of QUEUE's items, which has some."
  (cl-decf (aio--queue-count queue))
  (prog1 (pop (aio--queue-items queue))
    (unless (aio--queue-items queue)
      (setf (aio--queue-last queue) nil))))

(defun aio--queue-full-p (queue)
  "Return non-nil if QUEUE has no room for another item."
  (let ((maxsize (aio--queue-maxsize queue)))
    (and maxsize (>= (aio--queue-count queue) maxsize))))

(defun aio--queue-give (queue item)
  "Hand ITEM to QUEUE's oldest waiting get; return nil if there is none."
  (let ((entry (aio--waiters-pop (aio--queue-getters queue))))
    (when entry
      (aio--grant (car entry) item (lambda () (aio--queue-return queue item)))
      t)))

(defun aio--queue-return (queue item)
  "Give ITEM back to QUEUE: to a waiting get, or at the head of its items."
  (unless (aio--queue-give queue item)
    (push item (aio--queue-items queue))
    (unless (aio--queue-last queue)
      (setf (aio--queue-last queue) (aio--queue-items queue)))
    (cl-incf (aio--queue-count queue))))

(defun aio--queue-admit (queue)
  "Move the items of waiting puts into QUEUE while it has room."
  (let (entry)
    (while (and (not (aio--queue-full-p queue))
                (setq entry (aio--waiters-pop (aio--queue-putters queue))))
      (aio--queue-push queue (cdr entry))
      (aio-resolve (car entry) (aio--value-fn nil)))))

(defun aio-queue-put (queue item)
  "Put ITEM at the end of QUEUE, waiting while QUEUE is full.
Return nil when ITEM went in at once, so that `aio-await' goes on at
once, else a promise that resolves once it is in.  Canceling that
promise, or the task awaiting it, before then puts nothing.  Signal
`aio-queue-closed' if QUEUE is closed; puts still waiting when it is
closed are rejected with it."
  (aio--check-queue queue)
  (when (aio--queue-closed queue)
    (signal 'aio-queue-closed nil))
  (cond
   ((aio--queue-give queue item) nil)
   ((and (not (aio--queue-full-p queue))
         (not (aio--waiters-live-p (aio--queue-putters queue))))
    (aio--queue-push queue item)
    nil)
   (t (aio--waiters-add (aio--queue-putters queue) item))))

(defun aio-queue-get (queue)
  "Return a promise of the first item of QUEUE, waiting while it is empty.
Once QUEUE is closed and empty, the promise is rejected with
`aio-queue-closed'.  Canceling the promise, or the task awaiting it,
takes no item."
  (aio--check-queue queue)
  (let ((promise (aio-promise)))
    (cond
     ((aio--queue-items queue)
      (let ((item (aio--queue-pop queue)))
        (aio--grant promise item (apply-partially #'aio--queue-return queue item))
        (aio--queue-admit queue)))
     ((aio--queue-closed queue)
      (aio-resolve promise (aio--error-fn (list 'aio-queue-closed))))
     (t (setq promise (aio--waiters-add (aio--queue-getters queue)))))
    promise))

(defun aio-queue-close (queue)
  "Close QUEUE.
Waiting and later puts fail with `aio-queue-closed'; gets take the
items left, then fail with it too, waiting gets at once if there are
none."
  (aio--check-queue queue)
  (unless (aio--queue-closed queue)
    (setf (aio--queue-closed queue) t)
    (let ((closed (aio--error-fn (list 'aio-queue-closed))))
      (dolist (entry (aio--waiters-take-all (aio--queue-putters queue)))
        (aio-resolve (car entry) closed))
      (unless (aio--queue-items queue)
        (dolist (entry (aio--waiters-take-all (aio--queue-getters queue)))
          (aio-resolve (car entry) closed)))))
  nil)

(defun aio-queue-length (queue)
  "Return the number of items in QUEUE, not counting waiting puts."
  (aio--check-queue queue)
  (aio--queue-count queue))

(defun aio-queue-closed-p (queue)
  "Return non-nil if QUEUE was closed."
  (aio--check-queue queue)
  (aio--queue-closed queue))

(provide 'aio-queue)
;;; aio-queue.el ends here
