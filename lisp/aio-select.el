;;; aio-select.el --- Waiting on several promises at once for aio  -*- lexical-binding: t -*-

;;; Commentary:

;; A select is a set of promises with a FIFO of members that have
;; resolved and a FIFO of waiters.  It is level-triggered: a member that
;; resolves while nobody waits stays queued until some `aio-select'
;; takes it.  Every waiter is served, in the order it asked.

;;; Code:

(require 'cl-lib)
(require 'aio-promise)

(cl-defstruct (aio-select (:constructor aio--make-select ())
                          (:copier nil))
  "A set of promises to wait on; see `aio-make-select'.
PROMISES are the members, READY the resolved members nobody took yet,
WAITERS the promises returned by `aio-select' still waiting, oldest
first in both."
  (promises nil)
  (ready nil)
  (waiters nil))

(defun aio--check-select (object)
  "Signal `wrong-type-argument' unless OBJECT is an `aio-select'."
  (unless (aio-select-p object)
    (signal 'wrong-type-argument (list 'aio-select-p object))))

(defun aio--select-serve (select)
  "Hand SELECT's resolved members to its waiters, oldest first."
  (while (and (aio-select-ready select) (aio-select-waiters select))
    (let ((waiter (pop (aio-select-waiters select))))
      ;; A waiter canceled meanwhile takes nothing.
      (unless (aio-promise-result waiter)
        (let ((member (pop (aio-select-ready select))))
          (setf (aio-select-promises select)
                (delq member (aio-select-promises select)))
          (aio-resolve waiter (aio--value-fn member)))))))

(defun aio-make-select (&optional promises)
  "Return a new select object holding PROMISES, for `aio-select'."
  (unless (proper-list-p promises)
    (signal 'wrong-type-argument (list 'listp promises)))
  (mapc #'aio--check-promise promises)
  (let ((select (aio--make-select)))
    (dolist (promise promises)
      (aio-select-add select promise))
    select))

(defun aio-select-add (select promise)
  "Add PROMISE to SELECT and return PROMISE."
  (aio--check-select select)
  (aio--check-promise promise)
  (unless (memq promise (aio-select-promises select))
    (setf (aio-select-promises select)
          (nconc (aio-select-promises select) (list promise)))
    (aio-listen promise
                (lambda (_)
                  (when (and (memq promise (aio-select-promises select))
                             (not (memq promise (aio-select-ready select))))
                    (setf (aio-select-ready select)
                          (nconc (aio-select-ready select) (list promise)))
                    (aio--select-serve select)))))
  promise)

(defun aio-select-remove (select promise)
  "Remove PROMISE from SELECT."
  (aio--check-select select)
  (aio--check-promise promise)
  (setf (aio-select-promises select) (delq promise (aio-select-promises select))
        (aio-select-ready select) (delq promise (aio-select-ready select)))
  nil)

(defun aio-select (select)
  "Return a promise of the next member of SELECT to resolve.
The promise resolves to the member promise itself, not its value, and
that member leaves SELECT.  Members that resolved while nobody waited
are handed out in the order they resolved; waiters are served in the
order they called."
  (aio--check-select select)
  (let ((waiter (aio-promise)))
    (setf (aio-select-waiters select)
          (nconc (aio-select-waiters select) (list waiter)))
    (aio--select-serve select)
    waiter))

(provide 'aio-select)
;;; aio-select.el ends here
