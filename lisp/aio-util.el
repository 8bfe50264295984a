;;; aio-util.el --- Callbacks, chains and combinators for aio  -*- lexical-binding: t -*-

;;; Commentary:

;; Glue between callback-style code and promises (`aio-make-callback',
;; `aio-chain'), and functions that combine promises (`aio-catch',
;; `aio-all').  All of them are built on `aio-listen', so they work the
;; same inside async functions and under `aio-wait-for'.
;;
;; A callback gets what it needs as arguments (see `apply-partially'),
;; or from `let' variables named `aio--...': loaded uncompiled, a `let'
;; of a name that the user declared special with `defvar' would bind it
;; dynamically, and a callback, which runs after the `let' has ended,
;; would see the user's variable instead.

;;; Code:

(require 'cl-lib)
(require 'gv)
(require 'aio-promise)
(require 'aio-async)

(cl-defun aio-make-callback (&key tag once)
  "Return (CALLBACK . PROMISE): a callback and the promise of its first call.
Each call of CALLBACK with ARGS resolves the current promise with
\(NEXT-PROMISE . ARGS), NEXT-PROMISE being the promise of the next call;
with TAG, with (NEXT-PROMISE TAG . ARGS).  With ONCE, only the first
call counts and PROMISE resolves with ARGS, or (TAG . ARGS).  Meant for
process filters and sentinels, read with `aio-chain'."
  (aio--make-callback tag once (aio-promise)))

(defun aio--make-callback (tag once promise)
  "Return (CALLBACK . PROMISE) for `aio-make-callback' with TAG and ONCE.
PROMISE is the promise of the first call."
  (cons (if once
            (lambda (&rest args)
              (aio-resolve promise
                           (aio--value-fn (if tag (cons tag args) args))))
          (lambda (&rest args)
            (let ((next (aio-promise)))
              (aio-resolve promise
                           (aio--value-fn
                            (cons next (if tag (cons tag args) args))))
              (setq promise next))))
        promise))

(defmacro aio-chain (place)
  "Await the promise in PLACE, store the next promise in PLACE, return the value.
The promise must resolve to (NEXT-PROMISE . VALUE), as the promises of
`aio-make-callback' do.  Only valid inside an async function."
  (declare (debug (gv-place)))
  (gv-letplace (getter setter) place
    (let ((result (make-symbol "result")))
      `(let ((,result (aio-await ,getter)))
         ,(funcall setter `(car ,result))
         (cdr ,result)))))

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
    (setf (aio-promise-canceller caught)
          (apply-partially #'aio--release promise callback))
    caught))

(defun aio--string-list-p (object)
  "Return non-nil if OBJECT is a proper list of strings.
A loop, not `cl-every': its first call would load cl-extra (and seq,
compiling its generic functions), tens of milliseconds."
  (and (proper-list-p object)
       (progn (while (and object (stringp (car object)))
                (setq object (cdr object)))
              (null object))))

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
      (setf (aio-promise-canceller aio--all)
            (apply-partially #'aio--release-all listened)))
    aio--all))

(provide 'aio-util)
;;; aio-util.el ends here
