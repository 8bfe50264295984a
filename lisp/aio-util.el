;;; aio-util.el --- Callbacks, chains and combinators for aio  -*- lexical-binding: t -*-

;;; Commentary:

;; Glue between callback-style code and promises (`aio-make-callback',
;; `aio-chain'), and functions that combine promises (`aio-catch',
;; `aio-all').  All of them are built on `aio-listen', so they work the
;; same inside async functions and under `aio-wait-for'.

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
  (let* ((promise (aio-promise))
         (callback
          (if once
              (lambda (&rest args)
                (aio-resolve promise
                             (aio--value-fn (if tag (cons tag args) args))))
            (lambda (&rest args)
              (let ((next (aio-promise)))
                (aio-resolve promise
                             (aio--value-fn
                              (cons next (if tag (cons tag args) args))))
                (setq promise next))))))
    (cons callback promise)))

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

(defun aio-catch (promise)
  "Return a promise of PROMISE's outcome that is never rejected.
It resolves to (:success . VALUE), or (:error . CONDITION) where
CONDITION is the whole error, such as (aio-timeout . 0.5)."
  (aio--check-promise promise)
  (let ((caught (aio-promise)))
    (aio-listen promise
                (lambda (value-function)
                  (aio-resolve caught
                               (aio--value-fn
                                (condition-case err
                                    (cons :success (funcall value-function))
                                  (error (cons :error err)))))))
    caught))

(defun aio-all (promises)
  "Return a promise of the list of the values of PROMISES, in order.
It is rejected with the first error among them, as soon as that one
fails.  Elements of PROMISES that are not promises count as values.
Usable with `aio-await' and with `aio-wait-for'."
  (unless (proper-list-p promises)
    (signal 'wrong-type-argument (list 'listp promises)))
  (let* ((all (aio-promise))
         (values (copy-sequence promises))
         (pending 0))
    (cl-loop for cell on values
             for item = (car cell)
             when (aio-promise-p item)
             do (cl-incf pending)
             (let ((cell cell))
               (aio-listen item
                           (lambda (value-function)
                             (condition-case err
                                 (progn
                                   (setcar cell (funcall value-function))
                                   (when (zerop (cl-decf pending))
                                     (aio-resolve all (aio--value-fn values))))
                               (error (aio-resolve all (aio--error-fn err))))))))
    (when (zerop pending)
      (aio-resolve all (aio--value-fn values)))
    all))

(provide 'aio-util)
;;; aio-util.el ends here
