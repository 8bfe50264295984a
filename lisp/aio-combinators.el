;;; aio-combinators.el --- Promises of several promises: all, settled, any, race  -*- lexical-binding: t -*-

;;; Commentary:

;; Promises of other promises' outcomes: `aio-catch' turns one outcome
;; into a value, `aio-all' waits for every value, `aio-all-settled' for
;; every outcome, `aio-any' for the first success, `aio-race' for the
;; first outcome.
;;
;; Elements that are not promises count as values already there.
;; Canceling the combined promise cancels the inputs still pending that
;; nothing else waits for.  Once `aio-any' or `aio-race' has its answer,
;; the losers still pending are canceled the same way, unless
;; `:cancel-losers' is nil; a loser that had resolved with a resource
;; (a semaphore permit, a queue item) gives it back.
;;
;; The `let' variables the callbacks share are named `aio--...': loaded
;; uncompiled, a `let' of a name that the user declared special with
;; `defvar' would bind it dynamically, and the callbacks, which run
;; after the `let' has ended, would see the user's variable instead.

;;; Code:

(require 'cl-lib)
(require 'aio-promise)

(define-error 'aio-all-failed "Every promise failed")

(defun aio--outcome (value-function)
  "Return (:success . VALUE) or (:error . CONDITION) from VALUE-FUNCTION."
  (condition-case err
      (cons :success (funcall value-function))
    ((error aio-cancel) (cons :error err))))

(defun aio--resolve-outcome (promise value-function)
  "Resolve PROMISE with the outcome of VALUE-FUNCTION, see `aio--outcome'."
  (aio-resolve promise (aio--value-fn (aio--outcome value-function))))

(defun aio--release-all (listened)
  "Let go of the promises in LISTENED, a list of (PROMISE . CALLBACK).
Those nobody else waits for are canceled, see `aio--release'."
  (dolist (entry listened)
    (aio--release (car entry) (cdr entry))))

(defun aio-catch (promise)
  "Return a promise of PROMISE's outcome that is never rejected.
It resolves to (:success . VALUE), or (:error . CONDITION) where
CONDITION is the whole error, such as (aio-timeout . 0.5) or, for a
canceled promise, (aio-cancel . REASON).  Canceling the returned
promise cancels PROMISE, unless something else waits for it."
  (aio--check-promise promise)
  (let* ((caught (aio-promise))
         (callback (apply-partially #'aio--resolve-outcome caught)))
    (aio-listen promise callback)
    (setf (aio-promise-release caught)
          (apply-partially #'aio--release promise callback))
    caught))

(defun aio--check-list (object)
  "Signal `wrong-type-argument' unless OBJECT is a proper list."
  (unless (proper-list-p object)
    (signal 'wrong-type-argument (list 'listp object))))

(defun aio-all (promises)
  "Return a promise of the list of the values of PROMISES, in order.
It is rejected with the first error among them, as soon as that one
fails.  Elements of PROMISES that are not promises count as values.
Canceling the returned promise cancels those of PROMISES still
pending that nothing else waits for.  Usable with `aio-await' and
with `aio-wait-for'."
  (aio--check-list promises)
  (let* ((aio--all (aio-promise))
         (aio--values (copy-sequence promises))
         (aio--pending 0)
         (listened nil))
    (cl-loop for cell on aio--values
             for item = (car cell)
             when (aio-promise-p item)
             do (cl-incf aio--pending)
             (let* ((aio--cell cell)
                    (callback
                     (lambda (value-function)
                       (condition-case err
                           (progn
                             (setcar aio--cell (funcall value-function))
                             (when (zerop (cl-decf aio--pending))
                               (aio-resolve aio--all (aio--value-fn aio--values))))
                         ((error aio-cancel)
                          (aio-resolve aio--all (aio--error-fn err)))))))
               (push (cons item callback) listened)
               (aio-listen item callback)))
    (if (zerop aio--pending)
        (aio-resolve aio--all (aio--value-fn aio--values))
      (setf (aio-promise-release aio--all)
            (apply-partially #'aio--release-all listened)))
    aio--all))

(defun aio--combine (promises on-outcome)
  "Listen to each of PROMISES; return the list of (PROMISE . CALLBACK).
ON-OUTCOME is called with the index of an element, the element and
its value function: at once, in order, for the elements that are not
promises, and from the ready queue for the others as they resolve."
  (let ((listened nil) (index 0))
    (dolist (item promises)
      (if (aio-promise-p item)
          (let ((callback (apply-partially on-outcome index item)))
            (push (cons item callback) listened)
            (aio-listen item callback))
        (funcall on-outcome index item (aio--value-fn item)))
      (setq index (1+ index)))
    (nreverse listened)))

(defun aio-all-settled (promises)
  "Return a promise of the outcomes of PROMISES, once all are resolved.
It resolves to a list, in the order of PROMISES, of (:success . VALUE)
and (:error . CONDITION) as `aio-catch' gives them, and is never
rejected.  Elements that are not promises count as values."
  (aio--check-list promises)
  (let* ((aio--settled (aio-promise))
         (aio--outcomes (make-vector (length promises) nil))
         (aio--pending (length promises))
         (listened
          (aio--combine promises
                        (lambda (i _item value-function)
                          (aset aio--outcomes i (aio--outcome value-function))
                          (when (zerop (setq aio--pending (1- aio--pending)))
                            (aio-resolve aio--settled
                                         (aio--value-fn (append aio--outcomes nil))))))))
    (when (zerop aio--pending)
      (aio-resolve aio--settled (aio--value-fn (append aio--outcomes nil))))
    (setf (aio-promise-release aio--settled)
          (apply-partially #'aio--release-all listened))
    aio--settled))

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
  (let* ((aio--race (aio-promise))
         (aio--cancel-losers cancel-losers)
         (aio--listened nil)
         (aio--done nil))
    (setq aio--listened
          (aio--combine
           promises
           (lambda (_i item value-function)
             (if aio--done
                 (when aio--cancel-losers
                   (aio--abandon item))
               (setq aio--done t)
               (aio-resolve aio--race value-function)
               ;; An element that is not a promise wins while LISTENED
               ;; is still being built: let go of the others below.
               (when (and aio--cancel-losers aio--listened)
                 (aio--let-go aio--listened item))))))
    (when (and aio--done aio--cancel-losers)
      (aio--let-go aio--listened nil))
    (unless aio--done
      (setf (aio-promise-release aio--race)
            (apply-partially #'aio--release-all aio--listened)))
    aio--race))

(cl-defun aio-any (promises &key (cancel-losers t))
  "Return a promise of the value of the first of PROMISES to succeed.
It is rejected only if all of them fail, with the error
\(aio-all-failed . CONDITIONS), CONDITIONS the errors in the order of
PROMISES (so at once if PROMISES is empty).  An element that is not a
promise succeeds at once.  Unless CANCEL-LOSERS is nil, the others are
canceled once one succeeds, as far as nothing else waits for them.

\(fn PROMISES &key (CANCEL-LOSERS t))"
  (aio--check-list promises)
  (let* ((aio--any (aio-promise))
         (aio--cancel-losers cancel-losers)
         (aio--errors (make-vector (length promises) nil))
         (aio--failures 0)
         (aio--listened nil)
         (aio--done nil))
    (setq aio--listened
          (aio--combine
           promises
           (lambda (i item value-function)
             (let ((outcome (aio--outcome value-function)))
               (cond
                (aio--done
                 (when (and aio--cancel-losers (eq (car outcome) :success))
                   (aio--abandon item)))
                ((eq (car outcome) :success)
                 (setq aio--done t)
                 (aio-resolve aio--any value-function)
                 (when (and aio--cancel-losers aio--listened)
                   (aio--let-go aio--listened item)))
                (t
                 (aset aio--errors i (cdr outcome))
                 (when (= (setq aio--failures (1+ aio--failures)) (length promises))
                   (setq aio--done t)
                   (aio-resolve aio--any (aio--error-fn
                                          (cons 'aio-all-failed
                                                (append aio--errors nil)))))))))))
    (when (and aio--done aio--cancel-losers)
      (aio--let-go aio--listened nil))
    (when (null promises)
      (aio-resolve aio--any (aio--error-fn (list 'aio-all-failed))))
    (unless aio--done
      (setf (aio-promise-release aio--any)
            (apply-partially #'aio--release-all aio--listened)))
    aio--any))

(provide 'aio-combinators)
;;; aio-combinators.el ends here
