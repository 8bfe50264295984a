;;; aio-combinators.el --- Settled, any and race combinators for aio  -*- lexical-binding: t -*-

;;; Commentary:

;; Promises of several promises' outcomes, beside `aio-all' (in
;; aio-util.el): `aio-all-settled' waits for every outcome,
;; `aio-any' for the first success, `aio-race' for the first outcome.
;;
;; Elements that are not promises count as values already there.
;; Canceling the combined promise cancels the inputs still pending that
;; nothing else waits for.  Once `aio-any' or `aio-race' has its answer,
;; the losers still pending are canceled the same way, unless
;; `:cancel-losers' is nil; a loser that had resolved with a resource
;; (a semaphore permit, a queue item) gives it back.

;;; Code:

(require 'cl-lib)
(require 'aio-promise)
(require 'aio-util)

(define-error 'aio-all-failed "Every promise failed")

(defun aio--combine (promises on-outcome)
  "Listen to each of PROMISES; return the list of (PROMISE . CALLBACK).
ON-OUTCOME is called with the index of an element, the element and
its value function: at once, in order, for the elements that are not
promises, and from the ready queue for the others as they resolve."
  (let ((listened nil) (index 0))
    (dolist (item promises)
      (let ((i index))
        (if (aio-promise-p item)
            (let ((callback (lambda (value-function)
                              (funcall on-outcome i item value-function))))
              (push (cons item callback) listened)
              (aio-listen item callback))
          (funcall on-outcome i item (aio--value-fn item))))
      (setq index (1+ index)))
    (nreverse listened)))

(defun aio-all-settled (promises)
  "Return a promise of the outcomes of PROMISES, once all are resolved.
It resolves to a list, in the order of PROMISES, of (:success . VALUE)
and (:error . CONDITION) as `aio-catch' gives them, and is never
rejected.  Elements that are not promises count as values."
  (aio--check-list promises)
  (let* ((settled (aio-promise))
         (outcomes (make-vector (length promises) nil))
         (pending (length promises))
         (listened
          (aio--combine promises
                        (lambda (i _item value-function)
                          (aset outcomes i (aio--outcome value-function))
                          (when (zerop (setq pending (1- pending)))
                            (aio-resolve settled (aio--value-fn
                                                  (append outcomes nil))))))))
    (when (zerop pending)
      (aio-resolve settled (aio--value-fn (append outcomes nil))))
    (setf (aio-promise-canceller settled)
          (lambda () (aio--release-all listened)))
    settled))

(defun aio--let-go (listened winner)
  "Let go of the promises of LISTENED but WINNER, canceling the orphans.
LISTENED is a list of (PROMISE . CALLBACK)."
  (dolist (entry listened)
    (unless (eq (car entry) winner)
      (aio--release (car entry) (cdr entry)))))

(cl-defun aio-race (promises &key (cancel-losers t))
  "Return a promise that settles as the first of PROMISES to resolve.
It takes that one's value or error.  An element that is not a promise
wins at once.  Unless CANCEL-LOSERS is nil, the others are then
canceled, as far as nothing else waits for them.  PROMISES must not
be empty.

\(fn PROMISES &key (CANCEL-LOSERS t))"
  (aio--check-list promises)
  (unless promises
    (signal 'args-out-of-range (list promises)))
  (let* ((race (aio-promise))
         (listened nil)
         (done nil))
    (setq listened
          (aio--combine
           promises
           (lambda (_i item value-function)
             (if done
                 (when cancel-losers
                   (aio--abandon item))
               (setq done t)
               (aio-resolve race value-function)
               ;; An element that is not a promise wins while LISTENED
               ;; is still being built: let go of the others below.
               (when (and cancel-losers listened)
                 (aio--let-go listened item))))))
    (when (and done cancel-losers)
      (aio--let-go listened nil))
    (unless done
      (setf (aio-promise-canceller race)
            (lambda () (aio--release-all listened))))
    race))

(cl-defun aio-any (promises &key (cancel-losers t))
  "Return a promise of the value of the first of PROMISES to succeed.
It is rejected only if all of them fail, with the error
\(aio-all-failed . CONDITIONS), CONDITIONS the errors in the order of
PROMISES (so at once if PROMISES is empty).  An element that is not a
promise succeeds at once.  Unless CANCEL-LOSERS is nil, the others are
canceled once one succeeds, as far as nothing else waits for them.

\(fn PROMISES &key (CANCEL-LOSERS t))"
  (aio--check-list promises)
  (let* ((any (aio-promise))
         (errors (make-vector (length promises) nil))
         (failures 0)
         (listened nil)
         (done nil))
    (setq listened
          (aio--combine
           promises
           (lambda (i item value-function)
             (let ((outcome (aio--outcome value-function)))
               (cond
                (done
                 (when (and cancel-losers (eq (car outcome) :success))
                   (aio--abandon item)))
                ((eq (car outcome) :success)
                 (setq done t)
                 (aio-resolve any value-function)
                 (when (and cancel-losers listened)
                   (aio--let-go listened item)))
                (t
                 (aset errors i (cdr outcome))
                 (when (= (setq failures (1+ failures)) (length promises))
                   (setq done t)
                   (aio-resolve any (aio--error-fn
                                     (cons 'aio-all-failed
                                           (append errors nil)))))))))))
    (when (and done cancel-losers)
      (aio--let-go listened nil))
    (when (null promises)
      (aio-resolve any (aio--error-fn (list 'aio-all-failed))))
    (unless done
      (setf (aio-promise-canceller any)
            (lambda () (aio--release-all listened))))
    any))

(provide 'aio-combinators)
;;; aio-combinators.el ends here
