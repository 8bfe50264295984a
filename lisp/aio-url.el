;;; aio-url.el --- Awaitable `url-retrieve' for aio  -*- lexical-binding: t -*-

;;; Commentary:

;; A thin wrapper of `url-retrieve' that hands out url.el's own response
;; buffer: unibyte, as url.el lays it out, owned by the caller from then
;; on.  A canceled or abandoned request leaves no buffer behind.  The
;; native HTTP engine will replace this later.

;;; Code:

(require 'url)
(require 'aio-promise)

(defun aio--url-discard (buffer)
  "Kill BUFFER, a url.el response buffer, and its connection, if live."
  (when (buffer-live-p buffer)
    (let ((process (get-buffer-process buffer)))
      (when process (delete-process process)))
    (let ((kill-buffer-query-functions nil))
      (kill-buffer buffer))))

(defun aio-url-retrieve (url &optional silent inhibit-cookies)
  "Return a promise of (STATUS . BUFFER) from retrieving URL with url.el.
STATUS and BUFFER are what `url-retrieve' hands its callback; the
caller owns BUFFER and should kill it.  SILENT and INHIBIT-COOKIES are
passed on to `url-retrieve'.  A synchronous error becomes a rejection;
canceling the promise stops the transfer."
  (unless (stringp url)
    (signal 'wrong-type-argument (list 'stringp url)))
  (let ((promise (aio-promise)))
    (condition-case err
        (let ((buffer
               (url-retrieve url
                             (lambda (status)
                               (let ((buffer (current-buffer)))
                                 (if (aio-promise-result promise)
                                     (aio--url-discard buffer)
                                   (aio-resolve promise
                                                (aio--value-fn
                                                 (cons status buffer))))))
                             nil silent inhibit-cookies)))
          (unless (aio-promise-result promise)
            (setf (aio-promise-canceller promise)
                  (lambda () (aio--url-discard buffer)))))
      (error (aio-resolve promise (aio--error-fn err))))
    promise))

(provide 'aio-url)
;;; aio-url.el ends here
