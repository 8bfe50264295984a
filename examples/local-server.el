;;; local-server.el --- A tiny HTTP server on 127.0.0.1 for the examples  -*- lexical-binding: t; -*-

;;; Commentary:

;; The examples talk to this server only, never to another machine.  It
;; runs inside the same Emacs, on Emacs's own network processes, while the
;; requests are made by aio-native's loop thread.
;;
;;   GET /bytes/N   answers N bytes of text
;;   GET /slow      never answers (for timeouts)
;;   anything else  404

;;; Code:

(defun local-server--respond (process status body)
  "Send PROCESS an HTTP/1.1 response with STATUS and BODY, then close it."
  (process-send-string
   process
   (format "HTTP/1.1 %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
           status (string-bytes body) body))
  (process-send-eof process))

(defun local-server--filter (process text)
  "Collect TEXT of PROCESS's request; answer once its headers are in."
  (let ((request (concat (or (process-get process :request) "") text)))
    (process-put process :request request)
    (when (and (string-match "\r\n\r\n" request)
               (string-match "\\`GET \\([^ ]*\\) " request))
      (let ((path (match-string 1 request)))
        (cond ((string-match "\\`/bytes/\\([0-9]+\\)\\'" path)
               (local-server--respond process "200 OK"
                                      (make-string (string-to-number (match-string 1 path)) ?x)))
              ((equal path "/slow"))
              (t (local-server--respond process "404 Not Found" "not found\n")))))))

(defun local-server-start ()
  "Start the server on a free port of 127.0.0.1; return its base URL.
Stop it with `local-server-stop'."
  (let ((server (make-network-process
                 :name "local-server" :server t :host "127.0.0.1" :service t
                 :family 'ipv4 :noquery t :coding 'binary
                 :filter #'local-server--filter)))
    (setq local-server--process server)
    (format "http://127.0.0.1:%d" (process-contact server :service))))

(defvar local-server--process nil
  "The listening process of the running server.")

(defun local-server-stop ()
  "Stop the server and close its connections."
  (dolist (process (process-list))
    (when (string-prefix-p "local-server" (process-name process))
      (delete-process process)))
  (setq local-server--process nil))

(provide 'local-server)
;;; local-server.el ends here
