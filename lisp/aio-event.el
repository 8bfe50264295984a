;;; aio-event.el --- Events for async functions  -*- lexical-binding: t -*-

;;; Commentary:

;; An event is a flag that async functions can wait for, as asyncio's
;; Event: `aio-event-set' wakes every waiter at once, in the order they
;; came, and waits after it return at once until `aio-event-clear'.  A
;; waiter canceled while it waits leaves nothing behind.

;;; Code:

(require 'cl-lib)
(require 'aio-promise)
(require 'aio-waiters)

(cl-defstruct (aio-event (:constructor aio-event ())
                         (:conc-name aio--event-)
                         (:copier nil))
  "An event; see `aio-event-wait'.
SET is non-nil while it is set; WAITERS are the waiting
`aio-event-wait' calls."
  (set nil)
  (waiters (aio--make-waiters)))

(put 'aio-event 'function-documentation
     "Return a new event, not set.
Wait for it with `aio-event-wait'; set it with `aio-event-set'.")

(defun aio--check-event (object)
  "Signal `wrong-type-argument' unless OBJECT is an `aio-event'."
  (unless (aio-event-p object)
    (signal 'wrong-type-argument (list 'aio-event-p object))))

(defun aio-event-set (event)
  "Set EVENT and wake every task waiting for it."
  (aio--check-event event)
  (unless (aio--event-set event)
    (setf (aio--event-set event) t)
    (dolist (entry (aio--waiters-take-all (aio--event-waiters event)))
      (aio-resolve (car entry) (aio--value-fn t))))
  nil)

(defun aio-event-clear (event)
  "Clear EVENT, so that waiting for it waits again."
  (aio--check-event event)
  (setf (aio--event-set event) nil))

(defun aio-event-is-set (event)
  "Return non-nil if EVENT is set."
  (aio--check-event event)
  (aio--event-set event))

(defun aio-event-wait (event)
  "Wait for EVENT to be set.
Return t if it is set now, so that `aio-await' goes on at once, else a
promise that resolves to t when it is."
  (aio--check-event event)
  (or (aio--event-set event)
      (aio--waiters-add (aio--event-waiters event))))

(provide 'aio-event)
;;; aio-event.el ends here
