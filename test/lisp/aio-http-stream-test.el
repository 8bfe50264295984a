;;; aio-http-stream-test.el --- Streamed, downloaded and uploaded bodies  -*- lexical-binding: t; -*-

;;; Commentary:

;; `aio-http-request' with :as `stream' and (file PATH), :body (file
;; PATH), :on-progress, :idle-timeout, and `aio-http-download', against
;; the test server on 127.0.0.1 (test/servers/scripted_server.py).

;;; Code:

(require 'ert)
(require 'cl-lib)
(require 'aio)
(require 'aio-test-helpers)
(require 'aio-test-server)
(require 'aio-stream)

(defun aio-http-stream-test--open (path &rest args)
  "Request PATH as a stream with ARGS; return the response."
  (aio-wait-for (apply #'aio-http-request (aio-test-server--url path) :proxy "" :as 'stream args)
                10))

(defun aio-http-stream-test--pattern (n)
  "Return the N bytes the server's /bytes route sends."
  (let ((block (apply #'unibyte-string (number-sequence 0 255))))
    (substring (apply #'concat (make-list (1+ (/ n 256)) block)) 0 n)))

(defvar aio-http-stream-test-slow-size (* 40 1024 1024)
  "Bytes of the body `aio-http-stream-a-slow-reader-holds-little' reads.
`make test-reliability' reads 200 MiB.")

(defmacro aio-http-stream-test--in-directory (dir &rest body)
  "Run BODY with DIR bound to a new empty directory, deleted after."
  (declare (indent 1) (debug (symbolp body)))
  `(let ((,dir (make-temp-file "aio-http-stream-" t)))
     (unwind-protect (progn ,@body)
       (delete-directory ,dir t))))

(aio-deftest aio-http-stream-resolves-at-the-headers ()
  (let* ((start (float-time))
         ;; Three chunks 1.5 s apart: the headers come at once.
         (response (aio-http-stream-test--open "/drip?n=3&delay=1.5"))
         (resolved (- (float-time) start))
         (body (aio-http-response-body response)))
    ;; Long before the body's end (a loaded machine's stall aside).
    (should (< resolved 3))
    (should (= (aio-http-response-status response) 200))
    (should (equal (aio-http-response-header response "transfer-encoding") "chunked"))
    (should (aio-stream-p body))
    ;; The server is still dripping: the body has not ended.
    (should-not (aio-stream-closed-p body))
    (let ((chunks (aio-wait-for (aio-stream-collect body) 10)))
      (should (> (length chunks) 1))
      (should (cl-every (lambda (c) (not (multibyte-string-p c))) chunks))
      (should (equal (apply #'concat chunks)
                     (mapconcat (lambda (i) (format "drip-%d\n" i)) (number-sequence 0 2) ""))))
    (should (> (plist-get (aio-http-response-timings response) :total) 0))))

(aio-deftest aio-http-stream-through-combinators ()
  ;; A combinator reading the body is a first read: the body goes.
  (let ((response (aio-http-stream-test--open "/drip?n=5&delay=0.01")))
    (should (equal (aio-wait-for (aio-stream-collect
                                  (aio-stream-lines (aio-http-response-body response)))
                                 10)
                   '("drip-0" "drip-1" "drip-2" "drip-3" "drip-4")))))

(aio-deftest aio-http-stream-fails-after-the-headers ()
  (let* ((response (aio-http-stream-test--open "/close-mid-body"))
         (err (should-error (aio-wait-for (aio-stream-collect (aio-http-response-body response)) 10))))
    (should (eq (car err) 'aio-http-transfer-error))
    (should (= (aio-test-server--stat :http-pending) 0))))

(aio-deftest aio-http-stream-closed-by-its-reader-aborts-the-transfer ()
  ;; `aio-stream-take' closes what it reads once it has its values.
  (let* ((response (aio-http-stream-test--open "/forever"))
         (chunks (aio-wait-for (aio-stream-collect
                                (aio-stream-take (aio-http-response-body response) 3))
                               10)))
    (should (= (length chunks) 3))
    (should (aio-test-eventually (lambda () (= (aio-test-server--stat :http-pending) 0))))
    ;; The server saw the connection go.
    (should (equal (aio-http-response-body (aio-test-server--get "/forever-closed?wait=5"))
                   "closed"))))

(aio-deftest aio-http-stream-reader-cancelled-aborts-the-transfer ()
  (let* ((response (aio-http-stream-test--open "/forever"))
         (reader (funcall (aio-lambda (body)
                            (aio-dostream (chunk body) (ignore chunk)))
                          (aio-http-response-body response))))
    (aio-wait-for (aio-sleep 0.05))
    (aio-cancel reader)
    (should (aio-test-canceled-p reader))
    (should (aio-test-eventually (lambda () (= (aio-test-server--stat :http-pending) 0))))
    (should (equal (aio-http-response-body (aio-test-server--get "/forever-closed?wait=5"))
                   "closed"))))

(defun aio-http-stream-test--rss ()
  "Return the resident size of this Emacs in bytes."
  (with-temp-buffer
    (insert-file-contents "/proc/self/status")
    (re-search-forward "^VmRSS:[ \t]+\\([0-9]+\\) kB")
    (* 1024 (string-to-number (match-string 1)))))

(aio-deftest aio-http-stream-a-slow-reader-holds-little ()
  ;; A body whose reader first reads nothing for a while, then reads
  ;; all of it: Emacs never holds more than a few windows of it.
  (let* ((n aio-http-stream-test-slow-size)
         (before (progn (garbage-collect) (aio-http-stream-test--rss)))
         (most before)
         (response (aio-http-stream-test--open (format "/bytes?n=%d" n)))
         (body (aio-http-response-body response)))
    (aio-wait-for (aio-sleep 0.3))
    (setq most (max most (aio-http-stream-test--rss)))
    (let ((total (aio-wait-for
                  (funcall (aio-lambda ()
                             (let ((total 0) (i 0))
                               (aio-dostream (chunk body)
                                 (cl-incf total (length chunk))
                                 (when (zerop (% (cl-incf i) 64))
                                   (setq most (max most (aio-http-stream-test--rss)))))
                               total)))
                  60)))
      (should (= total n)))
    ;; Garbage waits for a collection, so allow some; unbounded it would
    ;; be the whole body.
    (should (< (- most before) (min (* 64 1024 1024) (/ n 2))))))

(defun aio-http-stream-test--body-files ()
  "Return the temporary files :as `buffer' bodies go through."
  (directory-files temporary-file-directory nil "\\`aio-http-body-"))

(defun aio-http-stream-test--body-buffers ()
  "Return the live buffers :as `buffer' makes."
  (cl-loop for b in (buffer-list)
           when (string-prefix-p " *aio-http*" (buffer-name b)) collect b))

(aio-deftest aio-http-buffer-body-in-pieces ()
  ;; 3.4 MB of text with a character on either side of every piece's end.
  (let* ((url (aio-test-server--url "/charset?cs=utf-8&repeat=200000"))
         (files (aio-http-stream-test--body-files))
         (buffers (aio-http-stream-test--body-buffers))
         (aio-file-insert-seconds 0.0005)
         (promise (aio-http-request url :proxy "" :as 'buffer))
         (filling 0)
         ;; Counts the turns in which the body's buffer exists unfinished.
         (ticker (run-at-time 0 0.001 (lambda ()
                                        (when (and (not (aio-promise-result promise))
                                                   (cl-set-difference
                                                    (aio-http-stream-test--body-buffers) buffers))
                                          (cl-incf filling)))))
         (response (unwind-protect (aio-wait-for promise 30)
                     (cancel-timer ticker)))
         (buffer (aio-http-response-body response)))
    (unwind-protect
        (with-current-buffer buffer
          (should enable-multibyte-characters)
          (should (= (point) (point-min)))
          (should-not (buffer-modified-p))
          (should (= (buffer-size) (* 200000 16)))
          (should (equal (buffer-substring 1 33) "café à la crème\ncafé à la crème\n"))
          (should (= (how-many "^café à la crème$") 200000))
          (goto-char (point-min)))
      (kill-buffer buffer))
    (should (> filling 1))
    (should (equal (aio-http-stream-test--body-files) files))))

(aio-deftest aio-http-buffer-body-cancelled-while-filling ()
  (let* ((url (aio-test-server--url "/charset?cs=utf-8&repeat=1000000"))
         (files (aio-http-stream-test--body-files))
         (buffers (aio-http-stream-test--body-buffers))
         (aio-file-insert-seconds 0.0001)
         (promise (aio-http-request url :proxy "" :as 'buffer)))
    ;; Once its buffer exists, the body is being read into it.
    (should (aio-test-eventually
             (lambda () (cl-set-difference (aio-http-stream-test--body-buffers) buffers))))
    (should (aio-cancel promise))
    (should (aio-test-canceled-p promise))
    (should (aio-test-eventually
             (lambda () (and (equal (aio-http-stream-test--body-buffers) buffers)
                             (equal (aio-http-stream-test--body-files) files)))))))

(aio-deftest aio-http-download-to-a-file ()
  (aio-http-stream-test--in-directory dir
    (let* ((path (expand-file-name "out.bin" dir))
           (calls nil)
           (response (aio-wait-for
                      (aio-http-request (aio-test-server--url "/bytes?n=3000000") :proxy ""
                                        :as (list 'file path)
                                        :on-progress (lambda (&rest args) (push args calls)))
                      10)))
      (should (equal (aio-http-response-body response) path))
      (should (equal (with-temp-buffer
                       (set-buffer-multibyte nil)
                       (insert-file-contents-literally path)
                       (buffer-string))
                     (aio-http-stream-test--pattern 3000000)))
      (should (equal (directory-files dir nil "\\`[^.]") '("out.bin")))
      (should (equal (directory-files dir nil "\\`\\.[^.]") nil))
      ;; The last report has the final counts.
      (should (equal (car calls) '(3000000 3000000 0 0))))))

(aio-deftest aio-http-download-that-fails-leaves-nothing ()
  (aio-http-stream-test--in-directory dir
    (let ((path (expand-file-name "x" dir)))
      (should (eq (car (should-error
                        (aio-wait-for (aio-http-request (aio-test-server--url "/close-mid-body")
                                                        :proxy "" :as (list 'file path))
                                      10)))
                  'aio-http-transfer-error))
      (let ((promise (aio-http-request (aio-test-server--url "/never") :proxy ""
                                       :as (list 'file path))))
        (aio-wait-for (aio-sleep 0.05))
        (aio-cancel promise)
        (should (aio-test-canceled-p promise)))
      (let ((err (should-error (aio-wait-for (aio-http-download (aio-test-server--url "/status/404")
                                                                path :proxy "")
                                             10))))
        (should (eq (car err) 'aio-http-status-error)))
      (aio-test-quiesce)
      (should (null (directory-files dir nil "\\`[^.]\\|\\`\\.[^.]"))))))

(aio-deftest aio-http-download-into-a-missing-directory ()
  (let ((err (should-error (aio-wait-for (aio-http-download (aio-test-server--url "/hello")
                                                            "/nonexistent/dir/x" :proxy "")
                                         10))))
    (should (eq (car err) 'aio-http-file-error))
    (should (memq 'file-error (get (car err) 'error-conditions)))))

(aio-deftest aio-http-upload-from-a-file ()
  (aio-http-stream-test--in-directory dir
    (let ((path (expand-file-name "up.bin" dir))
          (bytes (aio-http-stream-test--pattern 1500000)))
      (let ((coding-system-for-write 'binary))
        (write-region bytes nil path nil 'silent))
      (dolist (method '("POST" "PUT"))
        (should (equal (aio-http-response-body
                        (aio-wait-for (aio-http-request (aio-test-server--url "/sha256") :proxy ""
                                                        :method method :body (list 'file path))
                                      10))
                       (format "%s %d" (secure-hash 'sha256 bytes) (length bytes)))))
      (should-error (aio-http-request (aio-test-server--url "/sha256") :body '(file))
                    :type 'wrong-type-argument)
      (should (eq (car (should-error
                        (aio-wait-for (aio-http-request (aio-test-server--url "/sha256") :proxy ""
                                                        :method "PUT"
                                                        :body (list 'file (expand-file-name "no" dir)))
                                      10)))
                  'aio-http-file-error)))))

(aio-deftest aio-http-idle-timeout ()
  (let ((err (should-error (aio-wait-for (aio-http-request (aio-test-server--url "/never")
                                                           :proxy "" :idle-timeout 1)
                                         10))))
    (should (eq (car err) 'aio-http-timeout))))

(aio-deftest aio-http-progress-is-rate-limited ()
  (let ((calls 0)
        (start (float-time)))
    ;; A drip of 1 s: without a limit there would be one report per chunk
    ;; and per poll of curl.  At most one report per 100 ms, however
    ;; long a loaded machine makes the drip.
    (aio-wait-for (aio-http-request (aio-test-server--url "/drip?n=20&delay=0.05") :proxy ""
                                    :on-progress (lambda (&rest _) (cl-incf calls)))
                  10)
    (should (<= 1 calls (+ 4 (/ (- (float-time) start) 0.1))))
    (should (< calls 40))))

(provide 'aio-http-stream-test)
;;; aio-http-stream-test.el ends here
