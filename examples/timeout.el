;;; timeout.el --- A timeout around a slow request  -*- lexical-binding: t; -*-

;;; Commentary:

;; emacs -Q --batch -L lisp -L examples -l examples/timeout.el
;; Shows: `aio-with-timeout' around a request to a server that never
;; answers.  At the deadline the request is cancelled (the native
;; transfer is aborted, as `aio-native-stats' shows), its cleanup runs,
;; and the form signals `aio-timeout', which the caller handles.

;;; Code:

(require 'aio)
(require 'local-server)

(aio-defun timeout-fetch (url seconds)
  "Fetch URL, giving up after SECONDS; return the status or `too-slow'."
  (condition-case nil
      (aio-with-timeout seconds
        (unwind-protect
            (aio-http-response-status (aio-await (aio-http-request url :proxy "")))
          (message "  cleanup ran for %s" url)))
    (aio-timeout 'too-slow)))

(let ((base (local-server-start)))
  (unwind-protect
      (progn
        (message "A fast page with a 2 s limit: %S"
                 (aio-wait-for (timeout-fetch (concat base "/bytes/10") 2)))
        (message "A page that never comes, with a 0.5 s limit: %S"
                 (aio-wait-for (timeout-fetch (concat base "/slow") 0.5)))
        (message "HTTP transfers still pending: %d"
                 (plist-get (aio-native-stats) :http-pending)))
    (local-server-stop)))

(provide 'timeout)
;;; timeout.el ends here
