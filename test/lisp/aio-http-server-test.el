;;; aio-http-server-test.el --- Tests of aio-http-serve  -*- lexical-binding: t; -*-

;;; Commentary:

;; Servers on 127.0.0.1, driven by this project's client
;; (`aio-http-request'), by curl, and by raw connections for what no
;; well-behaved client sends.

;;; Code:

(require 'ert)
(require 'cl-lib)
(require 'aio)
(require 'aio-test-helpers)

(defmacro aio-http-server-test--with (spec &rest body)
  "Run BODY with a server.  SPEC is (VAR HANDLER ARGS...).
VAR is bound to the server, stopped after BODY."
  (declare (indent 1) (debug ((symbolp form &rest form) body)))
  `(let ((,(car spec) (aio-http-serve 0 ,(cadr spec) ,@(cddr spec))))
     (unwind-protect (progn ,@body)
       (aio-http-server-stop ,(car spec)))))

(defun aio-http-server-test--url (server path)
  "Return the URL of PATH on SERVER."
  (format "http://127.0.0.1:%d%s" (aio-http-server-port server) path))

(defun aio-http-server-test--get (server path &rest args)
  "Request PATH from SERVER with ARGS; return the response."
  (aio-test-wait (apply #'aio-http-request (aio-http-server-test--url server path)
                        :proxy "" args)))

(defun aio-http-server-test--raw (server text &optional seconds)
  "Send TEXT to SERVER on a connection of its own; return all it answers.
Waits for the server to close the connection, or SECONDS (default 5)."
  (let* ((buffer (generate-new-buffer " *aio-http-server-test*"))
         (process (make-network-process :name "aio-http-server-test" :buffer buffer
                                        :host "127.0.0.1" :service (aio-http-server-port server)
                                        :coding 'binary :noquery t)))
    (unwind-protect
        (progn
          (process-send-string process text)
          (aio-test-eventually (lambda () (not (process-live-p process))) (or seconds 5))
          (with-current-buffer buffer (buffer-string)))
      (delete-process process)
      (kill-buffer buffer))))

(defun aio-http-server-test--curl (&rest args)
  "Run curl with ARGS, not through any proxy; return (STATUS OUTPUT)."
  (unless (executable-find "curl") (error "curl is needed (tools/deps.sh test installs it)"))
  (let ((result (aio-test-wait (aio-process-output (append '("curl" "-s" "--noproxy" "*") args)
                                                   :check nil :coding 'binary))))
    (list (car result) (cadr result))))

;;;; Answers

(aio-deftest aio-http-serve-answers-with-what-the-handler-returns ()
  (aio-http-server-test--with (server (aio-lambda (request)
                                        (pcase (aio-http-server-request-path request)
                                          ("/text" "héllo")
                                          ("/later" (aio-await (aio-sleep 0.01)) "later")
                                          ("/list" (list 201 '(("Content-Type" . "application/json")
                                                               (X-Number . 42))
                                                         "{}"))
                                          ("/empty" (list 204 nil nil))
                                          (_ (list 404 nil "none")))))
    (should (integerp (aio-http-server-port server)))
    (should (> (aio-http-server-port server) 0))
    (should (equal (aio-http-server-host server) "127.0.0.1"))
    (let ((r (aio-http-server-test--get server "/text")))
      (should (= (aio-http-response-status r) 200))
      (should (equal (decode-coding-string (aio-http-response-body r) 'utf-8) "héllo"))
      (should (equal (aio-http-response-header r "content-type") "text/plain; charset=utf-8")))
    (should (equal (aio-http-response-body (aio-http-server-test--get server "/later")) "later"))
    (let ((r (aio-http-server-test--get server "/list")))
      (should (= (aio-http-response-status r) 201))
      (should (equal (aio-http-response-header r "x-number") "42"))
      (should (equal (aio-http-response-body r) "{}")))
    (should (= (aio-http-response-status (aio-http-server-test--get server "/empty")) 204))
    (should (= (aio-http-response-status (aio-http-server-test--get server "/nothing")) 404))
    ;; The same from curl, and a HEAD.
    (pcase-let ((`(,status ,out) (aio-http-server-test--curl "-i" (aio-http-server-test--url server "/text"))))
      (should (eql status 0))
      (should (string-prefix-p "HTTP/1.1 200 OK\r\n" out))
      (should (string-suffix-p "\r\n\r\nhéllo" (decode-coding-string out 'utf-8-unix))))
    (pcase-let ((`(,_ ,out) (aio-http-server-test--curl "-I" (aio-http-server-test--url server "/text"))))
      (should (string-match-p "Content-Length: 6\r\n" out))
      (should (string-suffix-p "\r\n\r\n" out)))))

(aio-deftest aio-http-serve-hands-over-the-request ()
  (let ((seen nil))
    (aio-http-server-test--with (server (lambda (request) (setq seen request) "ok"))
      (aio-http-server-test--get server "/a%20b/%C3%A9?x=1&y=a+b&z=%C3%A9&flag"
                                 :method "POST" :body "payload"
                                 :headers '(("X-One" . "1") ("X-Two" . "two")))
      (should (aio-http-server-request-p seen))
      (should (equal (aio-http-server-request-method seen) "POST"))
      (should (equal (aio-http-server-request-path seen) "/a b/é"))
      (should (equal (aio-http-server-request-query seen)
                     '(("x" . "1") ("y" . "a b") ("z" . "é") ("flag" . ""))))
      (should (equal (aio-http-server-request-body seen) "payload"))
      (should (equal (aio-http-server-request-target seen) "/a%20b/%C3%A9?x=1&y=a+b&z=%C3%A9&flag"))
      (should (equal (aio-http-server-request-version seen) "1.1"))
      (should (equal (aio-http-server-request-remote seen) "127.0.0.1"))
      (should (equal (aio-http-server-request-header seen "X-ONE") "1"))
      (should (equal (assoc "x-two" (aio-http-server-request-headers seen)) '("x-two" . "two")))
      ;; A chunked body, from curl.
      (aio-http-server-test--curl "-H" "Transfer-Encoding: chunked" "--data-binary" "chunked body"
                                  (aio-http-server-test--url server "/c"))
      (should (equal (aio-http-server-request-body seen) "chunked body")))))

(aio-deftest aio-http-serve-files-and-streams ()
  (let ((file (make-temp-file "aio-http-server-test-" nil nil
                              (mapconcat #'number-to-string (number-sequence 1 50000) "\n"))))
    (unwind-protect
        (aio-http-server-test--with (server (lambda (request)
                                              (pcase (aio-http-server-request-path request)
                                                ("/file" (list 200 nil (list 'file file)))
                                                ("/gone" (list 200 nil (list 'file (concat file ".none"))))
                                                ("/stream"
                                                 (list 200 '(("Content-Type" . "text/plain"))
                                                       (aio-stream-map
                                                        (lambda (i) (format "línea %d\n" i))
                                                        (aio-stream-from-list (number-sequence 1 5000))))))))
          (let ((r (aio-http-server-test--get server "/file")))
            (should (equal (aio-http-response-body r)
                           (with-temp-buffer
                             (set-buffer-multibyte nil)
                             (insert-file-contents-literally file)
                             (buffer-string)))))
          (should (= (aio-http-response-status (aio-http-server-test--get server "/gone")) 404))
          (let ((r (aio-http-server-test--get server "/stream")))
            (should (equal (aio-http-response-header r "transfer-encoding") "chunked"))
            (should (equal (decode-coding-string (aio-http-response-body r) 'utf-8)
                           (mapconcat (lambda (i) (format "línea %d\n" i))
                                      (number-sequence 1 5000) "")))))
      (delete-file file))))

(aio-deftest aio-http-serve-handler-failures-give-a-500 ()
  (let ((inhibit-message t))
    (aio-http-server-test--with (server (aio-lambda (request)
                                          (pcase (aio-http-server-request-path request)
                                            ("/error" (aio-await (aio-sleep 0.001)) (error "Boom"))
                                            ("/sync-error" (error "Boom"))
                                            ("/bad" (list "not a status" nil nil))
                                            ("/injected" '(200 (("X-A" . "1\r\nSet-Cookie: x=1")) "no"))
                                            ("/bad-name" '(200 (("X A" . "1")) "no"))
                                            ("/status" '(99 nil "no"))
                                            (_ 'not-a-response))))
      (dolist (path '("/error" "/sync-error" "/bad" "/injected" "/bad-name" "/status" "/other"))
        (let ((r (aio-http-server-test--get server path)))
          (should (= (aio-http-response-status r) 500))
          (should-not (aio-http-response-header r "set-cookie"))
          (should (equal (aio-http-response-body r) "Internal Server Error\n")))))))

;;;; What never reaches the handler

(aio-deftest aio-http-serve-answers-bad-requests-itself ()
  (let ((calls 0))
    (aio-http-server-test--with (server (lambda (_) (cl-incf calls) "ok")
                                        :max-header-bytes 2048 :max-body-bytes 1000
                                        :request-timeout 0.3)
      (dolist (case `(("GARBAGE\r\n\r\n" . "400")
                      (,(concat "GET / HTTP/1.1\r\nX-Big: " (make-string 3000 ?x) "\r\n\r\n") . "431")
                      ("POST / HTTP/1.1\r\nContent-Length: 5000\r\n\r\n" . "413")
                      ("GET / HTTP/3.0\r\n\r\n" . "505")
                      ;; A slowloris: headers that never end.
                      ("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n" . "408")))
        (let ((answer (aio-http-server-test--raw server (car case))))
          (should (string-prefix-p (concat "HTTP/1.1 " (cdr case) " ") answer))
          (should (string-match-p "Connection: close\r\n" answer))))
      ;; curl's own oversized headers and bodies.
      (should (string-match-p "\\`HTTP/1.1 431 "
                              (cadr (aio-http-server-test--curl
                                     "-i" "-H" (concat "X-Big: " (make-string 5000 ?y))
                                     (aio-http-server-test--url server "/")))))
      (should (string-match-p "\\`HTTP/1.1 413 "
                              (cadr (aio-http-server-test--curl
                                     "-i" "--data-binary" (make-string 2000 ?z)
                                     (aio-http-server-test--url server "/")))))
      (should (zerop calls)))))

(aio-deftest aio-http-serve-caps-connections ()
  (aio-http-server-test--with (server (lambda (_) "ok") :max-connections 2)
    (let ((held (cl-loop repeat 2
                         collect (make-network-process :name "aio-http-server-test-hold"
                                                       :buffer nil :host "127.0.0.1"
                                                       :service (aio-http-server-port server)
                                                       :noquery t))))
      (unwind-protect
          (progn
            (aio-test-wait (aio-sleep 0.1))
            (should (string-prefix-p "HTTP/1.1 503 "
                                     (aio-http-server-test--raw server "GET / HTTP/1.1\r\n\r\n"))))
        (mapc #'delete-process held)))
    ;; Once those are gone, there is room again.
    (should (aio-test-eventually
             (lambda ()
               (string-prefix-p "HTTP/1.1 200 "
                                (aio-http-server-test--raw
                                 server "GET / HTTP/1.1\r\nConnection: close\r\n\r\n" 1)))))))

;;;; Life cycle

(aio-deftest aio-http-serve-a-client-that-leaves-cancels-its-handler ()
  (let ((canceled nil)
        (started nil))
    (aio-http-server-test--with (server (aio-lambda (_)
                                          (setq started t)
                                          (condition-case err
                                              (aio-await (aio-sleep 30))
                                            (aio-cancel (setq canceled t)
                                                        (signal (car err) (cdr err))))))
      (let ((process (make-network-process :name "aio-http-server-test-leaver" :buffer nil
                                           :host "127.0.0.1"
                                           :service (aio-http-server-port server)
                                           :noquery t)))
        (process-send-string process "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        (should (aio-test-eventually (lambda () started)))
        (delete-process process)
        (should (aio-test-eventually (lambda () canceled)))))))

(aio-deftest aio-http-server-stop-cancels-handlers-and-closes ()
  (let* ((canceled nil)
         (server (aio-http-serve 0 (aio-lambda (_)
                                     (condition-case err
                                         (aio-await (aio-sleep 30))
                                       (aio-cancel (setq canceled t)
                                                   (signal (car err) (cdr err)))))))
         (port (aio-http-server-port server))
         (request (aio-http-request (aio-http-server-test--url server "/") :proxy "")))
    (should (aio-test-eventually
             (lambda () (> (hash-table-count (aio-http-server--exchanges server)) 0))))
    (should (aio-http-server-p server))
    (should-not (aio-http-server-p port))
    (should (aio-http-server-live-p server))
    (aio-http-server-stop server)
    ;; Its port is free at once.
    (let ((again (aio-http-serve port #'ignore)))
      (should (= (aio-http-server-port again) port))
      (aio-http-server-stop again))
    (should (aio-test-eventually (lambda () canceled)))
    (should-not (aio-http-server-live-p server))
    (should (aio-test-error request))
    (should-error (make-network-process :name "aio-http-server-test-refused" :buffer nil
                                        :host "127.0.0.1" :service port :noquery t)
                  :type 'file-error)
    (aio-http-server-stop server)
    (aio-test-quiesce)
    (should (zerop (plist-get (aio-native-stats) :servers-pending)))))

(aio-deftest aio-http-server-listed-with-its-port ()
  "A running server is a native operation named with the port it got."
  (aio-http-server-test--with (server #'ignore)
    (let ((name (format "HTTP server on 127.0.0.1:%d" (aio-http-server-port server))))
      (should (member name (mapcar #'cadr (aio-native--operations))))))
  (should-not (cl-find-if (lambda (op) (string-prefix-p "HTTP server" (cadr op)))
                          (aio-native--operations))))

(aio-deftest aio-http-serve-bad-arguments ()
  (should-error (aio-http-serve -1 #'ignore) :type 'wrong-type-argument)
  (should-error (aio-http-serve 70000 #'ignore) :type 'args-out-of-range)
  (should-error (aio-http-serve 0 "handler") :type 'wrong-type-argument)
  (should-error (aio-http-serve 0 #'ignore :host "example.org") :type 'args-out-of-range)
  (should-error (aio-http-server-port 'server) :type 'wrong-type-argument)
  (aio-http-server-test--with (server #'ignore)
    (let ((err (should-error (aio-http-serve (aio-http-server-port server) #'ignore)
                             :type 'file-error)))
      (should (equal (cadr err) "Cannot bind server socket")))))

(provide 'aio-http-server-test)
;;; aio-http-server-test.el ends here
