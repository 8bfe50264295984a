;;; aio-test-server.el --- The scripted HTTP test server, for the tests  -*- lexical-binding: t; -*-

;;; Commentary:

;; Starts test/servers/scripted_server.py on 127.0.0.1 (HTTP, or HTTPS
;; with a throwaway certificate) on first use, stops it when Emacs
;; exits, and gives the tests its URLs and a few shortcuts.  Shared by
;; every test file that talks HTTP.

;;; Code:

(require 'ert)
(require 'aio)
(require 'aio-http)
(require 'aio-test-helpers)

(defconst aio-test-server--script
  (expand-file-name "../servers/scripted_server.py"
                    (file-name-directory (or load-file-name buffer-file-name)))
  "The scriptable test server.")

(defvar aio-test-server--servers nil
  "Running test servers: an alist of (TLS . (PROCESS . PORT)).")

(defun aio-test-server--stop-servers ()
  "Stop every test server.  Closing its stdin ends it."
  (dolist (entry aio-test-server--servers)
    (let ((process (cadr entry)))
      (when (process-live-p process)
        (delete-process process))
      (kill-buffer (process-buffer process))))
  (setq aio-test-server--servers nil))

(add-hook 'kill-emacs-hook #'aio-test-server--stop-servers)

(defun aio-test-server--port (&optional tls)
  "Return the port of the test server, HTTPS if TLS, starting it if needed."
  (unless (executable-find "python3")
    (ert-skip "python3 is needed for the test server"))
  (when (and tls (not (executable-find "openssl")))
    (ert-skip "openssl is needed for the HTTPS test server"))
  (let ((entry (cdr (assq (and tls t) aio-test-server--servers))))
    (if (and entry (process-live-p (car entry)))
        (cdr entry)
      (let* ((buffer (generate-new-buffer " *aio-http-test-server*"))
             (process (make-process
                       :name "aio-http-test-server" :buffer buffer
                       :command (append (list "python3" aio-test-server--script)
                                        (and tls (list "--tls")))
                       :connection-type 'pipe :noquery t
                       :stderr (get-buffer-create " *aio-http-test-server-stderr*")))
             (deadline (+ (float-time) 10))
             port)
        (while (and (not port) (process-live-p process) (< (float-time) deadline))
          (accept-process-output process 0.05)
          (with-current-buffer buffer
            (goto-char (point-min))
            (when (re-search-forward "^PORT \\([0-9]+\\)\n" nil t)
              (setq port (string-to-number (match-string 1))))))
        (unless port
          (delete-process process)
          (error "The test server did not start"))
        (push (cons (and tls t) (cons process port)) aio-test-server--servers)
        port))))

(defun aio-test-server--ca-file ()
  "Return the certificate file of the HTTPS test server, starting it if needed."
  (aio-test-server--port t)
  (with-current-buffer (process-buffer (cadr (assq t aio-test-server--servers)))
    (goto-char (point-min))
    (and (re-search-forward "^CA \\(.*\\)\n" nil t)
         (match-string 1))))

(defun aio-test-server--url (path &optional tls)
  "Return the URL of PATH on the test server (HTTPS if TLS)."
  (format "%s://127.0.0.1:%d%s" (if tls "https" "http") (aio-test-server--port tls) path))

(defun aio-test-server--refused-url ()
  "Return a URL on 127.0.0.1 whose port nobody listens on."
  (format "http://127.0.0.1:%d/" (aio-test-refused-port)))

(defun aio-test-server--get (path &rest args)
  "Request PATH on the test server with ARGS and wait for the response.
Never through a proxy, whatever the environment says."
  (aio-wait-for (apply #'aio-http-request (aio-test-server--url path) :proxy "" args)
                30))

(defun aio-test-server--failure (url &rest args)
  "Return the condition a request of URL with ARGS is rejected with."
  (condition-case err
      (progn (aio-wait-for (apply #'aio-http-request url :proxy "" args) 30)
             nil)
    (error err)))

(defun aio-test-server--stat (key)
  "Return KEY of `aio-native-stats'."
  (plist-get (aio-native-stats) key))

(defun aio-test-server--no-smuggled-request ()
  "Check that the next requests on pooled connections get their own answers."
  (dotimes (_ 10)
    (should (equal (aio-http-response-body (aio-test-server--get "/hello")) "hello\n"))))

(provide 'aio-test-server)
;;; aio-test-server.el ends here
