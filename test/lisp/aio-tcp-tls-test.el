;;; aio-tcp-tls-test.el --- Tests of aio-tcp-connect with :tls  -*- lexical-binding: t; -*-

;;; Commentary:

;; TLS connections to test/servers/tls_echo_server.py on 127.0.0.1,
;; whose throwaway certificate names localhost and 127.0.0.1.
;; AIO_TEST_LARGE=1 runs the concurrent case with 1,000 connections
;; (Emacs's descriptor table must then hold them: raise its limit);
;; `make test' runs it with 50.

;;; Code:

(require 'ert)
(require 'cl-lib)
(require 'aio)
(require 'aio-test-helpers)

(defconst aio-tcp-tls-test--script
  (expand-file-name "../servers/tls_echo_server.py"
                    (file-name-directory (or load-file-name buffer-file-name)))
  "The TLS echo server.")

(defmacro aio-tcp-tls-test--with-server (spec &rest body)
  "Run BODY with the TLS echo server's port and certificate file bound.
SPEC is (PORT CA-FILE)."
  (declare (indent 1) (debug ((symbolp symbolp) body)))
  `(progn
     (unless (executable-find "openssl") (ert-skip "openssl is needed"))
     (aio-test-with-server ((ca port) (list "python3" aio-tcp-tls-test--script)
                            "^CA \\(.*\\)\nPORT \\([0-9]+\\)\n")
       (let ((,(car spec) (string-to-number port))
             (,(cadr spec) ca))
         ,@body))))

(aio-defun aio-tcp-tls-test--read-until (connection text)
  "Read CONNECTION's input until what came holds TEXT; return all of it."
  (let ((got "")
        (stream (aio-tcp-input connection)))
    (while (not (string-search text got))
      (setq got (concat got (aio-await (aio-stream-next stream)))))
    got))

(defun aio-tcp-tls-test--settled ()
  "Return non-nil once no TLS operation is pending, here or in the loop."
  (aio-test-eventually (lambda () (zerop (plist-get (aio-native-stats) :tls-pending))))
  (zerop (plist-get (aio-native-stats) :tls-pending)))

(aio-deftest aio-tcp-tls-connects-verified-and-echoes ()
  (aio-tcp-tls-test--with-server (port ca)
    (let ((connection (aio-test-wait (aio-tcp-connect "localhost" port :tls t :ca-file ca))))
      (should (aio-tcp-tls-p connection))
      (should (aio-tcp-live-p connection))
      (should-not (aio-tcp-process connection))
      (should (equal (aio-test-wait (aio-tcp-tls-test--read-until connection "\n")) "hello\n"))
      (should-not (aio-test-wait (aio-tcp-write connection "twö\n")))
      (let ((echo (aio-test-wait (aio-tcp-tls-test--read-until connection "\n"))))
        (should (equal echo (encode-coding-string "twö\n" 'utf-8)))
        (should-not (multibyte-string-p echo)))
      (aio-tcp-close connection)
      (should-not (aio-tcp-live-p connection))
      (should (aio-stream-closed-p (aio-tcp-input connection)))
      (should (aio-tcp-tls-test--settled)))))

(aio-deftest aio-tcp-tls-an-address-is-checked-too ()
  (aio-tcp-tls-test--with-server (port ca)
    ;; The certificate names 127.0.0.1 as well.
    (let ((connection (aio-test-wait (aio-tcp-connect "127.0.0.1" port :tls t :ca-file ca))))
      (should (equal (aio-test-wait (aio-tcp-tls-test--read-until connection "\n")) "hello\n"))
      (aio-tcp-close connection))))

(aio-deftest aio-tcp-tls-an-untrusted-certificate-is-refused ()
  (aio-tcp-tls-test--with-server (port _ca)
    (let ((err (should-error (aio-test-wait (aio-tcp-connect "localhost" port :tls t))
                             :type 'aio-tcp-tls-error)))
      (should (string-match-p "certificate" (nth 1 err)))
      (should (equal (nthcdr 2 err) (list "localhost" port)))
      (dolist (parent '(aio-tcp-error file-error))
        (should (memq parent (get (car err) 'error-conditions)))))
    ;; Unless told to take any.
    (let ((connection (aio-test-wait (aio-tcp-connect "localhost" port :tls t :verify-tls nil))))
      (should (equal (aio-test-wait (aio-tcp-tls-test--read-until connection "\n")) "hello\n"))
      (aio-tcp-close connection))
    (should (aio-tcp-tls-test--settled))))

(aio-deftest aio-tcp-tls-a-peer-that-closes-ends-the-input ()
  (aio-tcp-tls-test--with-server (port ca)
    (dolist (request '("close\n" "drop\n"))
      (let ((connection (aio-test-wait (aio-tcp-connect "localhost" port :tls t :ca-file ca))))
        (aio-test-wait (aio-tcp-tls-test--read-until connection "hello\n"))
        (aio-test-wait (aio-tcp-write connection request))
        ;; The input ends without error, after the last bytes.
        (should (equal (apply #'concat (aio-test-wait (aio-stream-collect (aio-tcp-input connection))))
                       "bye\n"))
        ;; Closed here too, as an Emacs network process would be.
        (should-not (aio-tcp-live-p connection))
        (should-error (aio-test-wait (aio-tcp-write connection "late")) :type 'aio-tcp-error)))
    (should (aio-tcp-tls-test--settled))))

(aio-deftest aio-tcp-tls-output-cannot-close-alone ()
  (aio-tcp-tls-test--with-server (port ca)
    (let ((connection (aio-test-wait (aio-tcp-connect "localhost" port :tls t :ca-file ca))))
      (should-error (aio-test-wait (aio-tcp-close-write connection)) :type 'aio-tcp-error)
      ;; Still open both ways.
      (aio-test-wait (aio-tcp-write connection "still\n"))
      (should (string-search "still\n"
                             (aio-test-wait (aio-tcp-tls-test--read-until connection "still\n"))))
      (aio-tcp-close connection)
      (should-error (aio-test-wait (aio-tcp-write connection "late")) :type 'aio-tcp-error))
    (should (aio-tcp-tls-test--settled))))

(aio-deftest aio-tcp-tls-a-slow-reader-holds-the-peer-back ()
  (aio-tcp-tls-test--with-server (port ca)
    (let* ((size (* 2 1024 1024))
           (aio-tcp-max-bytes (* 64 1024))
           (connection (aio-test-wait (aio-tcp-connect "localhost" port :tls t :ca-file ca)))
           (stream (aio-tcp-input connection))
           (most 0)
           (held-back nil)
           (total 0))
      (aio-test-wait (aio-tcp-tls-test--read-until connection "hello\n"))
      (aio-test-wait (aio-tcp-write connection (format "flood %d\n" size)))
      (aio-wait-for (aio-with-async
                      (aio-dostream (chunk stream)
                        (setq most (max most (aio-stream-length stream)))
                        (setq total (+ total (length chunk)))
                        ;; Bytes not acknowledged to the loop thread, which
                        ;; then stops reading the socket.
                        (when (> (aio-tcp--held connection) 0)
                          (setq held-back t))
                        (when (>= total size)
                          (aio-stream-close stream))
                        ;; A reader slower than the network.
                        (aio-await (aio-sleep 0.002))))
                    60)
      (should (= total size))
      (should held-back)
      ;; The stream held no more than its bound and a chunk.
      (should (<= most (* 4 aio-tcp-max-bytes)))
      ;; Closing the input closed the connection.
      (should-not (aio-tcp-live-p connection))
      (should (aio-tcp-tls-test--settled)))))

(aio-deftest aio-tcp-tls-many-at-once ()
  (aio-tcp-tls-test--with-server (port ca)
    (let* ((n (if (equal (getenv "AIO_TEST_LARGE") "1") 1000 50))
           (tasks (cl-loop for i below n
                           collect (let ((line (format "line %d\n" i)))
                                     (aio-with-async
                                     (let ((connection (aio-await (aio-tcp-connect
                                                                   "localhost" port
                                                                   :tls t :ca-file ca))))
                                       (unwind-protect
                                           (progn
                                             (aio-await (aio-tcp-write connection line))
                                             (aio-await (aio-tcp-tls-test--read-until connection line)))
                                         (aio-tcp-close connection))))))))
      (cl-loop for task in tasks
               for i from 0
               do (should (equal (aio-wait-for task 60) (format "hello\nline %d\n" i))))
      (should (aio-tcp-tls-test--settled)))))

(aio-deftest aio-tcp-tls-a-silent-peer-times-out ()
  (let* ((listener (make-network-process :name "aio-tcp-tls-test-silent" :server t :buffer nil
                                         :host "127.0.0.1" :service t :noquery t))
         (port (process-contact listener :service)))
    (unwind-protect
        (progn
          (should-error (aio-test-wait (aio-tcp-connect "127.0.0.1" port :tls t :timeout 0.5))
                        :type 'aio-timeout)
          (should (aio-tcp-tls-test--settled))
          (should (aio-test-eventually
                   (lambda () (zerop (plist-get (aio-native-stats) :lisp-pending))))))
      (delete-process listener))))

(aio-deftest aio-tcp-tls-a-connection-nobody-takes-is-closed ()
  ;; Canceled between the connection's arrival and its taking: it is
  ;; closed, not left open with nobody to close it.
  (aio-tcp-tls-test--with-server (port ca)
    (let* ((outer nil)
           (advice (lambda (_connection status payload)
                     (when (and outer (eq status 'event) (eq (car payload) 'connected))
                       (aio-cancel outer)))))
      (advice-add 'aio-tcp-tls--on-event :after advice)
      (unwind-protect
          (progn
            (setq outer (aio-tcp-connect "localhost" port :tls t :ca-file ca))
            (should (aio-test-canceled-p outer))
            (should (aio-tcp-tls-test--settled))
            (should (aio-test-eventually
                     (lambda () (zerop (plist-get (aio-native-stats) :lisp-pending))))))
        (advice-remove 'aio-tcp-tls--on-event advice)))))

(aio-deftest aio-tcp-tls-bad-arguments ()
  (should-error (aio-tcp-connect "127.0.0.1" 80 :ca-file "/x") :type 'args-out-of-range)
  (should-error (aio-tcp-connect "127.0.0.1" 80 :tls t :ca-file 5) :type 'wrong-type-argument)
  (should-error (aio-tcp-connect "127.0.0.1" 80 :tls t :ca-file "/nonexistent/ca.pem")
                :type 'file-missing)
  (should-error (aio-tcp-tls-p 'x) :type 'wrong-type-argument)
  ;; The module puts the host in a URL: nothing that would end it there.
  (aio-native-init)
  (dolist (host '("a/b" "evil@localhost" "a?b" "a#b" "[::1]" "a b" ""))
    (should-error (aio-native--tls-connect 0 host 443 nil nil) :type 'args-out-of-range))
  (should (zerop (plist-get (aio-native-stats) :tls-pending))))

(provide 'aio-tcp-tls-test)
;;; aio-tcp-tls-test.el ends here
