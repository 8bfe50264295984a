;;; aio-cancel.el --- Shields for aio  -*- lexical-binding: t -*-

;;; Commentary:

;; `aio-shield' keeps a promise from being canceled by those who await
;; it.  (Timeouts, which cancel, are in aio-time.el.)

;;; Code:

(require 'aio-promise)

(defun aio-shield (promise)
  "Return a promise that settles as PROMISE does, but shields it.
Canceling the returned promise, or an async function awaiting it,
leaves PROMISE and the work behind it running."
  (aio--check-promise promise)
  (let ((shield (aio-promise)))
    (aio-listen promise (apply-partially #'aio-resolve shield))
    shield))

(provide 'aio-cancel)
;;; aio-cancel.el ends here
