;;; aio-tcp-test.el --- Tests of aio-tcp-*  -*- lexical-binding: t; -*-

;;; Commentary:

;; Connections to and from test/servers/tcp_echo.py on 127.0.0.1.
;; AIO_TEST_LARGE=1 runs the concurrent cases with 1,000 connections
;; (Emacs's descriptor table must then hold them: raise its limit);
;; `make test' runs them with 100.

;;; Code:

(require 'ert)
(require 'cl-lib)
(require 'aio)
(require 'aio-test-helpers)

(defconst aio-tcp-test--script
  (expand-file-name "../servers/tcp_echo.py"
                    (file-name-directory (or load-file-name buffer-file-name)))
  "The echo server and clients.")

(defun aio-tcp-test--concurrency ()
  "Return how many connections the concurrent cases open."
  (if (equal (getenv "AIO_TEST_LARGE") "1") 1000 100))

(defmacro aio-tcp-test--with-peer (spec &rest body)
  "Run BODY with PORT bound to an echo server's port.
SPEC is (PORT ARGS...), ARGS more arguments of tcp_echo.py serve."
  (declare (indent 1) (debug ((symbolp &rest form) body)))
  `(aio-test-with-server ((port) (list "python3" aio-tcp-test--script "serve" ,@(cdr spec))
                          "^PORT \\([0-9]+\\)\n")
     (let ((,(car spec) (string-to-number port)))
       ,@body)))

(defun aio-tcp-test--our-processes ()
  "Return the live processes made by aio-tcp."
  (cl-remove-if-not (lambda (p) (string-match-p "\\`aio-tcp \\(server \\)?[0-9]" (process-name p)))
                    (process-list)))

(aio-defun aio-tcp-test--round-trips (host port lines &rest args)
  "Send LINES to the echo server at HOST and PORT; return what came back."
  (let ((connection (aio-await (apply #'aio-tcp-connect host port args)))
        (got ""))
    (unwind-protect
        (progn
          (dolist (line lines)
            (aio-await (aio-tcp-write connection line)))
          (aio-await (aio-tcp-close-write connection))
          ;; The echo server closes once it has read our end.
          (aio-dostream (chunk (aio-tcp-input connection))
            (setq got (concat got chunk)))
          got)
      (aio-tcp-close connection))))

(aio-deftest aio-tcp-connect-echo-round-trips ()
  (aio-tcp-test--with-peer (port)
    (should (equal (aio-test-wait (aio-tcp-test--round-trips "127.0.0.1" port
                                                             '("one\n" "twö\n" "three\n")))
                   (encode-coding-string "one\ntwö\nthree\n" 'utf-8)))
    ;; A name: looked up first.
    (should (equal (aio-test-wait (aio-tcp-test--round-trips "localhost" port '("by name")))
                   "by name"))
    ;; A write larger than a slice.
    (let ((big (make-string (* 300 1024) ?b)))
      (should (equal (aio-test-wait (aio-tcp-test--round-trips "127.0.0.1" port (list big))) big)))
    (should-not (aio-tcp-test--our-processes))))

(aio-deftest aio-tcp-connect-failures ()
  (let ((refused (aio-test-refused-port)))
    (let ((err (aio-test-error (aio-tcp-connect "127.0.0.1" refused))))
      (should (eq (car err) 'aio-tcp-error))
      (should (memq 'file-error (get (car err) 'error-conditions)))
      (should (equal (cddr err) (list "127.0.0.1" refused)))))
  (should (eq (car (aio-test-error (aio-tcp-connect "nothing.invalid" 80))) 'aio-dns-error))
  ;; Connected within its timeout: nothing left behind once closed.
  (let* ((listener (make-network-process :name "aio-tcp-test-silent" :server t :buffer nil
                                         :host "127.0.0.1" :service t :noquery t))
         (port (process-contact listener :service)))
    (unwind-protect
        (let ((connection (aio-test-wait (aio-tcp-connect "127.0.0.1" port :timeout 5))))
          (should (aio-tcp-live-p connection))
          (aio-tcp-close connection)
          (should-not (aio-tcp-live-p connection))
          (should (aio-test-eventually (lambda () (null (aio-tcp-test--our-processes))))))
      (delete-process listener)))
  (should-error (aio-tcp-connect 'host 80) :type 'wrong-type-argument)
  (should-error (aio-tcp-connect "127.0.0.1" 0) :type 'args-out-of-range)
  (should-error (aio-tcp-connect "127.0.0.1" 80 :timeout 'x) :type 'wrong-type-argument)
  (dolist (bad '(-1 0 1e10 1.0e+INF))
    (should-error (aio-tcp-connect "127.0.0.1" 80 :timeout bad) :type 'args-out-of-range))
  (should-error (aio-tcp-connect "127.0.0.1" 80 :tlss t) :type 'error)
  (should-not (aio-tcp-test--our-processes)))

(aio-deftest aio-tcp-a-connection-nobody-takes-is-closed ()
  ;; Canceled between the connection's arrival and its taking: it is
  ;; closed, not left open with nobody to close it.
  (aio-tcp-test--with-peer (port)
    (let* ((outer nil)
           (advice (lambda (process _event)
                     (when (and outer (eq (process-status process) 'open))
                       (aio-cancel outer)))))
      (advice-add 'aio-tcp--sentinel :after advice)
      (unwind-protect
          (progn
            (setq outer (aio-tcp-connect "127.0.0.1" port))
            (should (aio-test-canceled-p outer))
            (should (aio-test-eventually (lambda () (null (aio-tcp-test--our-processes))))))
        (advice-remove 'aio-tcp--sentinel advice)))))

(aio-deftest aio-tcp-a-slow-reader-stops-emacs-reading ()
  (let ((size (* 1024 1024))
        (aio-tcp-max-bytes (* 64 1024)))
    (aio-tcp-test--with-peer (port "--flood" (number-to-string size))
      (let* ((connection (aio-test-wait (aio-tcp-connect "127.0.0.1" port)))
             (stopped nil)
             (total 0)
             (reader (aio-with-async
                       (aio-dostream (chunk (aio-tcp-input connection))
                         (when (eq (process-status (aio-tcp-process connection)) 'stop)
                           (setq stopped t))
                         (setq total (+ total (length chunk)))
                         ;; A reader slower than the network.
                         (aio-await (aio-sleep 0.002))))))
        (aio-wait-for reader 60)
        (should (= total size))
        (should stopped)
        (should-not (aio-tcp-live-p connection))))))

(aio-deftest aio-tcp-connect-many-at-once ()
  (aio-tcp-test--with-peer (port)
    (let* ((n (aio-tcp-test--concurrency))
           (replies (aio-wait-for
                     (aio-all (cl-loop for i below n
                                       collect (aio-tcp-test--round-trips
                                                "127.0.0.1" port (list (format "connection %d\n" i)))))
                     120)))
      (should (= (length replies) n))
      (should (equal replies (cl-loop for i below n collect (format "connection %d\n" i)))))))

(aio-deftest aio-tcp-serve-echoes-to-many-clients ()
  (unless (executable-find "python3") (ert-skip "python3 is needed"))
  (let* ((handled 0)
         (server (aio-tcp-serve 0 (aio-lambda (connection)
                                    (cl-incf handled)
                                    (aio-dostream (chunk (aio-tcp-input connection))
                                      (aio-await (aio-tcp-write connection chunk))))))
         (n (aio-tcp-test--concurrency)))
    (unwind-protect
        (pcase-let ((`(,status ,out ,_)
                     (aio-wait-for (aio-process-output
                                    (list "python3" aio-tcp-test--script "clients"
                                          (number-to-string (aio-tcp-server-port server))
                                          (number-to-string n) "3")
                                    :check nil)
                                   120)))
          (should (equal out (format "OK %d\n" (* 3 n))))
          (should (eql status 0))
          (should (= handled n)))
      (aio-tcp-server-stop server))
    (should (aio-test-eventually (lambda () (null (aio-tcp-test--our-processes)))))))

(aio-deftest aio-tcp-server-stop-cancels-its-handlers ()
  (let* ((canceled 0)
         (server (aio-tcp-serve 0 (aio-lambda (_connection)
                                    (condition-case err
                                        (aio-await (aio-sleep 30))
                                      (aio-cancel (cl-incf canceled)
                                                  (signal (car err) (cdr err)))))))
         (clients (cl-loop repeat 3
                           collect (aio-test-wait (aio-tcp-connect "127.0.0.1"
                                                                   (aio-tcp-server-port server))))))
    (should (aio-test-eventually
             (lambda () (= (hash-table-count (aio-tcp-server--connections server)) 3))))
    (aio-tcp-server-stop server)
    (should (aio-test-eventually (lambda () (= canceled 3))))
    ;; Their peers see the end.
    (dolist (client clients)
      (should (equal (aio-test-wait (aio-stream-collect (aio-tcp-input client))) nil)))
    (should-error (aio-tcp-server-stop 'server) :type 'wrong-type-argument)
    (should (aio-test-eventually (lambda () (null (aio-tcp-test--our-processes)))))))

(aio-deftest aio-tcp-numeric-addresses ()
  (dolist (good '("127.0.0.1" "0.0.0.0" "255.255.255.255" "::" "::1" "fe80::1"
                  "2001:db8:0:0:0:0:2:1" "::ffff:192.0.2.1" "1::" "1:2:3:4:5:6:7::"))
    (should (aio-dns--address-p good)))
  (dolist (bad '("" "localhost" "1.2.3" "1.2.3.4.5" "256.1.1.1" "1.2.3.-4" "a:b" ":::"
                 "1:2:3:4:5:6:7:8:9" "1::2::3" "12345::" "::1.2.3" "127.0.0.1\0" "[::1]"
                 "probe.invalid" "1:2:3:4:5:6:7:8::"))
    (should-not (aio-dns--address-p bad))))

(aio-deftest aio-tcp-serve-checks-its-arguments ()
  (should-error (aio-tcp-serve -1 #'ignore) :type 'wrong-type-argument)
  (should-error (aio-tcp-serve 70000 #'ignore) :type 'args-out-of-range)
  (should-error (aio-tcp-serve 0 'not-a-function) :type 'wrong-type-argument)
  (should-error (aio-tcp-serve 0 #'ignore :host 'x) :type 'wrong-type-argument)
  ;; A name would be looked up with Emacs held.
  (should-error (aio-tcp-serve 0 #'ignore :host "localhost") :type 'args-out-of-range)
  (should-error (aio-tcp-connect "127.0.0.1" "80") :type 'wrong-type-argument)
  (should-error (aio-tcp-connect "127.0.0.1" 65536) :type 'args-out-of-range)
  (should-not (aio-tcp-test--our-processes)))

(provide 'aio-tcp-test)
;;; aio-tcp-test.el ends here
