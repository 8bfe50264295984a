;;; aio-select.el --- Waiting on several promises at once for aio  -*- lexical-binding: t -*-

;;; Commentary:

;; A select is a set of promises with a FIFO of members that have
;; resolved and a FIFO of waiters.  It is level-triggered: a member that
;; resolves while nobody waits stays queued until some `aio-select'
;; takes it.  Every waiter is served, in the order it asked.  A
;; waiter canceled while it waits takes no member; one canceled after a
;; member was handed to it, before it could run, puts the member back
;; at the head of the resolved ones.

;;; Code:

(require 'cl-lib)
(require 'aio-promise)
(require 'aio-waiters)

(cl-defstruct (aio-select (:constructor aio--make-select ())
                          (:copier nil))
  "A set of promises to wait on; see `aio-make-select'.
PROMISES are the members, READY the resolved members nobody took yet,
oldest first, WAITERS the `aio-select' calls still waiting."
  (promises nil)
  (ready nil)
  (waiters (aio--make-waiters)))

(defun aio--check-select (object)
  "Signal `wrong-type-argument' unless OBJECT is an `aio-select'."
  (unless (aio-select-p object)
    (signal 'wrong-type-argument (list 'aio-select-p object))))

(defun aio--select-serve (select)
  "Hand SELECT's resolved members to its waiters, oldest first."
  (let (entry)
    (while (and (aio-select-ready select)
                (setq entry (aio--waiters-pop (aio-select-waiters select))))
      (let ((member (pop (aio-select-ready select))))
        (setf (aio-select-promises select)
              (delq member (aio-select-promises select)))
        (aio--grant (car entry) member
                    (apply-partially #'aio--select-return select member))))))

(defun aio--select-return (select member)
  "Give MEMBER back to SELECT, first in line among its resolved members."
  (push member (aio-select-promises select))
  (push member (aio-select-ready select))
  (aio--select-serve select))

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
  (let ((waiter (aio--waiters-add (aio-select-waiters select))))
    (aio--select-serve select)
    waiter))

(provide 'aio-select)
;;; aio-select.el ends here
