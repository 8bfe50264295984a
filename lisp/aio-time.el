;;; aio-time.el --- Idle waits and timeouts for aio  -*- lexical-binding: t -*-

;;; Commentary:

;; `aio-idle' sits on Emacs's idle timers, since only Emacs knows when
;; the user is idle.  `aio-timeout' sits on the native `aio-sleep', so
;; that many pending timeouts cost Emacs no timers at all.  Canceling
;; either promise stops what is behind it.

;;; Code:

(require 'aio-promise)
(require 'aio-native)

(defun aio-idle (seconds &optional result)
  "Return a promise that resolves with RESULT once Emacs is idle for SECONDS.
Idle means no user input, as for `run-with-idle-timer'.  SECONDS is
checked as `aio-sleep' checks it: a number from 0 to about 31 years."
  (aio-native--check-seconds seconds)
  (let ((aio--promise (aio-promise)))
    (setf (aio-promise-canceller aio--promise)
          (apply-partially #'cancel-timer
                           (run-with-idle-timer seconds nil #'aio-resolve
                                                aio--promise (aio--value-fn result))))
    aio--promise))

(defun aio-timeout (seconds)
  "Return a promise rejected with (aio-timeout . SECONDS) after SECONDS."
  (aio-native--check-seconds seconds)
  (let ((aio--promise (aio-promise))
        (aio--sleep (aio-sleep seconds)))
    (aio-listen aio--sleep
                (lambda (_)
                  (aio-resolve aio--promise
                               (lambda () (signal 'aio-timeout seconds)))))
    (setf (aio-promise-canceller aio--promise) (apply-partially #'aio-cancel aio--sleep))
    aio--promise))

(provide 'aio-time)
;;; aio-time.el ends here
