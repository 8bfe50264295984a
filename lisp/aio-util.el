;;; aio-util.el --- Callbacks, chains and checks for aio  -*- lexical-binding: t -*-

;;; Commentary:

;; Glue between callback-style code and promises (`aio-make-callback',
;; `aio-chain'), built on `aio-listen', so they work the same inside
;; async functions and under `aio-wait-for'; and argument checks shared
;; by several files.  The combinators are in aio-combinators.el.
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

(defun aio--string-list-p (object)
  "Return non-nil if OBJECT is a proper list of strings.
A loop, not `cl-every': its first call would load cl-extra (and seq,
compiling its generic functions), tens of milliseconds."
  (and (proper-list-p object)
       (progn (while (and object (stringp (car object)))
                (setq object (cdr object)))
              (null object))))

(provide 'aio-util)
;;; aio-util.el ends here
