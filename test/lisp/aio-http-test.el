;;; aio-http-test.el --- Tests of aio-http-request  -*- lexical-binding: t; -*-

;;; Commentary:

;; Every request goes to servers on 127.0.0.1 that these tests start
;; (test/servers/scripted_server.py, through aio-test-server.el) and
;; stop when Emacs exits.

;;; Code:

(require 'ert)
(require 'cl-lib)
(require 'aio)
(require 'aio-test-helpers)
(require 'aio-http)
(require 'aio-test-server)

;;; Responses

(aio-deftest aio-http-simple-get ()
  (let ((r (aio-test-server--get "/hello")))
    (should (aio-http-response-p r))
    (should (= (aio-http-response-status r) 200))
    (should (equal (aio-http-response-version r) "1.1"))
    (should (equal (aio-http-response-body r) "hello\n"))
    (should-not (multibyte-string-p (aio-http-response-body r)))
    (should (equal (aio-http-response-url r) (aio-test-server--url "/hello")))
    (should-not (aio-http-response-redirects r))
    (should (equal (aio-http-response-header r "Content-Type") "text/plain"))
    (should (assoc "content-length" (aio-http-response-headers r)))
    (let ((timings (aio-http-response-timings r)))
      (dolist (key '(:namelookup :connect :appconnect :starttransfer :total))
        (should (numberp (plist-get timings key))))
      (should (<= (plist-get timings :connect) (plist-get timings :total))))))

(aio-deftest aio-http-headers-are-lower-cased-and-kept-in-order ()
  (let ((r (aio-test-server--get "/headers")))
    (should (equal (cl-remove-if-not (lambda (h) (equal (car h) "set-cookie"))
                                     (aio-http-response-headers r))
                   '(("set-cookie" . "a=1; Path=/") ("set-cookie" . "b=2; Path=/"))))
    (should (equal (aio-http-response-header r "x-mixed-case") "Some Value"))
    (should (equal (aio-http-response-header r "X-Empty") ""))))

(aio-deftest aio-http-headers-and-timings-made-when-asked ()
  "The header alist and the timings plist are made on first use, once."
  (let ((r (aio-test-server--get "/headers")))
    ;; Until asked for, the module's forms: no alist, no plist.
    (should (stringp (aio-http-response--header-data r)))
    (should (numberp (car (aio-http-response--timing-data r))))
    (let ((headers (aio-http-response-headers r))
          (timings (aio-http-response-timings r)))
      (should (equal (assoc "x-mixed-case" headers) '("x-mixed-case" . "Some Value")))
      (should (eq (aio-http-response-headers r) headers))
      (should (eq (aio-http-response-timings r) timings))
      (should (keywordp (car timings))))
    ;; Both stay places.
    (setf (aio-http-response-headers r) '(("a" . "b")))
    (should (equal (aio-http-response-header r "A") "b"))
    (setf (aio-http-response-timings r) '(:total 1.0))
    (should (equal (aio-http-response-timings r) '(:total 1.0))))
  ;; Made from parts, as the constructor's keywords have always said.
  (let ((r (aio-http--make-response :status 204 :headers '(("x" . "y")) :timings '(:total 2))))
    (should (equal (aio-http-response-header r "X") "y"))
    (should (equal (aio-http-response-timings r) '(:total 2)))))

(aio-deftest aio-http-header-alist-splits-at-the-first-colon ()
  (should (equal (aio-http--header-alist "A:b\nTime:12:30:00\nEmpty:\n")
                 '(("A" . "b") ("Time" . "12:30:00") ("Empty" . ""))))
  (should (equal (aio-http--header-alist "Content-Type:text/plain\n" t)
                 '(("content-type" . "text/plain"))))
  (should-not (aio-http--header-alist "")))

(aio-deftest aio-http-chunked-and-gzip ()
  (should (equal (aio-http-response-body (aio-test-server--get "/chunked"))
                 "chunk-0\nchunk-1\nchunk-2\nchunk-3\nchunk-4\n"))
  (let ((r (aio-test-server--get "/gzip")))
    (should (equal (aio-http-response-body r)
                   (apply #'concat (make-list 100 "compressed hello\n"))))))

(aio-deftest aio-http-only-the-final-header-block ()
  (let ((r (aio-test-server--get "/early-hints")))
    (should (= (aio-http-response-status r) 200))
    (should (aio-http-response-header r "x-final"))
    (should-not (aio-http-response-header r "link"))))

(aio-deftest aio-http-body-forms ()
  (let ((r (aio-test-server--get "/charset?cs=iso-8859-1" :as 'text)))
    (should (equal (aio-http-response-body r) "café à la crème\n")))
  (let ((r (aio-test-server--get "/charset?cs=utf-8" :as 'text)))
    (should (equal (aio-http-response-body r) "café à la crème\n")))
  (let ((r (aio-test-server--get "/charset?cs=utf-8")))
    (should (equal (aio-http-response-body r)
                   (encode-coding-string "café à la crème\n" 'utf-8))))
  (let* ((r (aio-test-server--get "/charset?cs=iso-8859-1" :as 'buffer))
         (buffer (aio-http-response-body r)))
    (unwind-protect
        (with-current-buffer buffer
          (should enable-multibyte-characters)
          (should (= (point) (point-min)))
          (should (equal (buffer-string) "café à la crème\n")))
      (kill-buffer buffer))))

(aio-deftest aio-http-error-statuses-are-responses ()
  (dolist (code '(404 500))
    (let ((r (aio-test-server--get (format "/status/%d" code))))
      (should (= (aio-http-response-status r) code))
      (should (equal (aio-http-response-body r) (format "status %d page\n" code))))))

;;; Redirects

(aio-deftest aio-http-redirects ()
  (dolist (path '("/redirect/relative" "/redirect/absolute" "/redirect/dot-relative"))
    (let ((r (aio-test-server--get path)))
      (should (= (aio-http-response-status r) 200))
      (should (equal (aio-http-response-url r) (aio-test-server--url "/hello")))
      (should (equal (aio-http-response-redirects r) (list (aio-test-server--url "/hello"))))))
  (let ((r (aio-test-server--get "/redirect/chain/2")))
    (should (equal (aio-http-response-redirects r)
                   (mapcar #'aio-test-server--url
                           '("/redirect/chain/1" "/redirect/chain/0" "/hello")))))
  (let ((r (aio-test-server--get "/redirect/relative" :follow-redirects nil)))
    (should (= (aio-http-response-status r) 302))
    (should (equal (aio-http-response-header r "location") "/hello"))))

(aio-deftest aio-http-max-redirects-default ()
  "Absent or nil, :max-redirects is the module's default: 20."
  ;; /redirect/chain/N redirects N + 1 times.
  (dolist (args '(nil (:max-redirects nil)))
    (let ((r (apply #'aio-test-server--get "/redirect/chain/19" args)))
      (should (= (aio-http-response-status r) 200))
      (should (= (length (aio-http-response-redirects r)) 20)))
    (should (eq (car (apply #'aio-test-server--failure
                            (aio-test-server--url "/redirect/chain/20") args))
                'aio-http-too-many-redirects))))

(aio-deftest aio-http-redirect-loop-and-forbidden-schemes ()
  (let ((err (aio-test-server--failure (aio-test-server--url "/redirect/loop") :max-redirects 4)))
    (should (eq (car err) 'aio-http-too-many-redirects)))
  (dolist (target '("ftp://127.0.0.1/x" "file:///etc/passwd"))
    (let ((err (aio-test-server--failure
                (aio-test-server--url (concat "/redirect/to?url=" target)))))
      (should (eq (car err) 'aio-http-protocol-error))))
  (should (eq (car (aio-test-server--failure "file:///etc/passwd")) 'aio-http-protocol-error)))

;;; Failures

(aio-deftest aio-http-failures-have-kinds ()
  (let ((err (aio-test-server--failure (aio-test-server--refused-url))))
    (should (eq (car err) 'aio-http-connect-error))
    (should (stringp (nth 1 err)))
    (dolist (parent '(aio-http-error aio-native-error error))
      (should (memq parent (get (car err) 'error-conditions)))))
  (let ((err (aio-test-server--failure (aio-test-server--url "/close-mid-body"))))
    (should (eq (car err) 'aio-http-transfer-error)))
  (let* ((start (float-time))
         (err (aio-test-server--failure (aio-test-server--url "/never") :timeout 0.3)))
    (should (eq (car err) 'aio-http-timeout))
    (should (< (- (float-time) start) 3))))

(aio-deftest aio-http-invalid-names-fail-at-once ()
  (let* ((start (float-time))
         (err (aio-test-server--failure "http://nowhere.invalid/")))
    (should (eq (car err) 'aio-http-resolve-error))
    (should (string-match-p "nowhere\\.invalid" (nth 1 err)))
    ;; Far below a resolver's timeout, far above a stall.
    (should (< (- (float-time) start) 4))))

(aio-deftest aio-http-self-signed-certificate ()
  (skip-unless (executable-find "openssl"))
  (let ((err (aio-test-server--failure (aio-test-server--url "/hello" t))))
    (should (eq (car err) 'aio-http-tls-error))
    (should (string-match-p "certificate" (nth 1 err))))
  (let ((r (aio-wait-for (aio-http-request (aio-test-server--url "/hello" t)
                                           :proxy "" :verify-tls nil)
                         30)))
    (should (equal (aio-http-response-body r) "hello\n"))
    (should (> (plist-get (aio-http-response-timings r) :appconnect) 0)))
  ;; Verified, against an authority of our own.
  (let ((r (aio-wait-for (aio-http-request (aio-test-server--url "/hello" t)
                                           :proxy "" :ca-file (aio-test-server--ca-file))
                         30)))
    (should (equal (aio-http-response-body r) "hello\n")))
  (should-error (aio-http-request (aio-test-server--url "/hello" t) :ca-file 5)
                :type 'wrong-type-argument)
  (should-error (aio-http-request (aio-test-server--url "/hello" t) :ca-file "/nonexistent/ca.pem")
                :type 'file-missing)
  (should-error (aio-http-request (aio-test-server--url "/hello" t)
                                  :ca-file temporary-file-directory)
                :type 'file-error))

(aio-deftest aio-http-large-body-and-max-size ()
  (let* ((n (* 50 1024 1024))
         (r (aio-test-server--get (format "/bytes?n=%d" n))))
    (should (= (length (aio-http-response-body r)) n))
    (should (= (aref (aio-http-response-body r) 1000) (% 1000 256))))
  (dolist (chunked '("0" "1"))
    (let ((err (aio-test-server--failure
                (aio-test-server--url (concat "/bytes?n=300000&chunked=" chunked))
                :max-size 100000)))
      (should (eq (car err) 'aio-http-too-large)))))

;;; Requests

(aio-deftest aio-http-methods-headers-and-bodies ()
  (let* ((r (aio-test-server--get "/echo" :method "POST"
                                :headers '(("X-One" . "1") (x-two . 2))
                                :body "é"))
         (body (aio-http-response-body r)))
    (should (string-prefix-p "POST /echo\n" body))
    (should (string-match-p "^X-One: 1$" body))
    (should (string-match-p "^x-two: 2$" body))
    (should (string-match-p "^Content-Length: 2$" body))
    (should (string-match-p "^User-Agent: aio-http" body))
    (should-not (string-match-p "^Content-Type" body))
    (should (string-suffix-p "\n\n\303\251" body)))
  (should (string-prefix-p "DELETE /echo\n"
                           (aio-http-response-body
                            (aio-test-server--get "/echo" :method 'DELETE))))
  (let ((r (aio-test-server--get "/hello" :method "HEAD")))
    (should (= (aio-http-response-status r) 200))
    (should (equal (aio-http-response-body r) ""))))

(aio-deftest aio-http-bad-arguments ()
  (should-error (aio-http-request 42) :type 'wrong-type-argument)
  (let ((err (should-error (aio-http-request "http://127.0.0.1/" :bogus 1))))
    (should (string-match-p ":bogus" (error-message-string err))))
  (should-error (aio-http-request "http://127.0.0.1/" :timeout) :type 'error)
  (should-error (aio-http-request "http://127.0.0.1/" :timeout "1") :type 'wrong-type-argument)
  (should-error (aio-http-request "http://127.0.0.1/" :timeout -1) :type 'args-out-of-range)
  (should-error (aio-http-request "http://127.0.0.1/" :timeout 0.0e+NaN)
                :type 'args-out-of-range)
  (should-error (aio-http-request "http://127.0.0.1/" :max-redirects -1)
                :type 'wrong-type-argument)
  (should-error (aio-http-request "http://127.0.0.1/" :max-size 0) :type 'wrong-type-argument)
  (should-error (aio-http-request "http://127.0.0.1/" :method "GET X")
                :type 'args-out-of-range)
  (should-error (aio-http-request "http://127.0.0.1/" :method 7) :type 'wrong-type-argument)
  (should-error (aio-http-request "http://127.0.0.1/" :headers '(("X" . "a\nB: c")))
                :type 'args-out-of-range)
  (should-error (aio-http-request "http://127.0.0.1/" :headers '("X: y"))
                :type 'wrong-type-argument)
  (should-error (aio-http-request "http://127.0.0.1/" :body 'x) :type 'wrong-type-argument)
  (should-error (aio-http-request "http://127.0.0.1/" :as 'json) :type 'args-out-of-range)
  (should-error (aio-http-request "http://127.0.0.1/\n") :type 'args-out-of-range)
  ;; Nothing was left registered by the refusals.
  (should (= (aio-test-server--stat :http-pending) 0)))

;;; Cancellation and bookkeeping

(aio-deftest aio-http-cancel-aborts-the-transfer ()
  (aio-test-server--port)
  (aio-native-init)
  (let* ((before (aio-test-server--stat :http-pending))
         (promise (aio-http-request (aio-test-server--url "/never") :proxy "")))
    (should (= (aio-test-server--stat :http-pending) (1+ before)))
    (accept-process-output nil 0.05)
    (should (aio-cancel promise))
    (should (aio-test-eventually
             (lambda () (= (aio-test-server--stat :http-pending) before))))
    ;; `aio-cancel' is not an `error', so `should-error' cannot catch it.
    (should (eq (condition-case condition (progn (aio-wait-for promise) nil)
                  (aio-cancel (car condition)))
                'aio-cancel))))

(aio-deftest aio-http-many-concurrent-requests ()
  (let* ((lisp-before (aio-test-server--stat :lisp-pending))
         (promises (cl-loop for i below 100
                            collect (aio-http-request
                                     (aio-test-server--url (if (cl-oddp i) "/hello" "/chunked"))
                                     :proxy ""))))
    (dolist (p promises)
      (should (= (aio-http-response-status (aio-wait-for p 30)) 200)))
    (should (= (aio-test-server--stat :http-pending) 0))
    (should (= (aio-test-server--stat :lisp-pending) lisp-before))))

(aio-deftest aio-http-shutdown-rejects-with-cancelled ()
  (aio-test-server--port)
  (let ((promise (aio-http-request (aio-test-server--url "/never") :proxy "")))
    (accept-process-output nil 0.05)
    (aio-native-shutdown)
    (let ((err (condition-case condition (progn (aio-wait-for promise 5) nil)
                 (aio-cancel condition))))
      (should (eq (car err) 'aio-http-cancelled))
      ;; A cancellation, which a handler of plain `error' does not catch.
      (should (memq 'aio-cancel (get (car err) 'error-conditions)))
      (should-not (memq 'error (get (car err) 'error-conditions)))))
  ;; The next request starts the loop again.
  (should (= (aio-http-response-status (aio-test-server--get "/hello")) 200)))

;;; Safety (issue 11)

(defun aio-http-test--connections (&optional states)
  "Return how many of this Emacs's sockets are connected to the test server.
With STATES non-nil, return their TCP states instead (as /proc/net/tcp
gives them: 01 established, 08 close-wait...)."
  (let ((inodes (delq nil (mapcar (lambda (fd)
                                    (let ((link (file-symlink-p (concat "/proc/self/fd/" fd))))
                                      (and link (string-match "\\`socket:\\[\\([0-9]+\\)\\]" link)
                                           (match-string 1 link))))
                                  (directory-files "/proc/self/fd" nil "\\`[0-9]+\\'"))))
        (remote (format "0100007F:%04X" (aio-test-server--port)))
        (found nil))
    ;; Not `insert-file-contents': it stops at 16 KiB of a /proc file.
    ;; Fields: sl local remote state queues timer retransmits uid timeout inode.
    (dolist (line (cdr (process-lines "cat" "/proc/net/tcp")))
      (let ((fields (split-string line)))
        (when (and (equal (nth 2 fields) remote) (member (nth 9 fields) inodes))
          (push (nth 3 fields) found))))
    (if states found (length found))))

(defun aio-http-test--echo (&rest args)
  "Return the body of /echo requested with ARGS."
  (aio-http-response-body (apply #'aio-test-server--get "/echo" args)))

(aio-deftest aio-http-caller-framing-headers-are-dropped ()
  (let ((smuggler "aGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"))
    (dolist (framing '(("Content-Length" . "1") ("content-length" . "")
                       ("Transfer-Encoding" . "chunked")))
      (let ((echo (aio-http-test--echo :method "POST" :body smuggler
                                       :headers (list framing))))
        ;; The server read the whole body as this request's own.
        (should (string-match-p (format "^Content-Length: %d$" (length smuggler)) echo))
        (should-not (string-match-p "^Transfer-Encoding" echo))
        (should (string-suffix-p (concat "\n\n" smuggler) echo)))
      (aio-test-server--no-smuggled-request)))
  ;; A length counted in characters, not bytes, leaves no stray byte.
  (let ((echo (aio-http-test--echo :method "PUT" :body "é"
                                   :headers '(("Content-Length" . "1")))))
    (should (string-match-p "^Content-Length: 2$" echo))
    (should (string-suffix-p "\n\n\303\251" echo)))
  (aio-test-server--no-smuggled-request))

(aio-deftest aio-http-host-conflicts-are-refused ()
  (should-error (aio-http-request "http://127.0.0.1/" :headers '(("Host" . "a") ("host" . "b")))
                :type 'args-out-of-range)
  (should-error (aio-http-request "http://127.0.0.1/" :headers '(("Host" . "")))
                :type 'args-out-of-range)
  ;; One Host of the caller's own is fine: virtual hosts need it.
  (should (string-match-p "^Host: example\\.test$"
                          (aio-http-test--echo :headers '(("Host" . "example.test")))))
  ;; So is a long header, up to a limit that is refused at once.
  (should-error (aio-http-request "http://127.0.0.1/"
                                  :headers (list (cons "X-Big" (make-string 300000 ?a))))
                :type 'args-out-of-range)
  (should (= (aio-test-server--stat :http-pending) 0)))

(aio-deftest aio-http-malformed-replies-have-their-own-error ()
  (dolist (kind '("http09" "big-status" "bad-version" "huge-header" "many-headers"
                  "bad-chunk" "bad-gzip"))
    (let ((err (aio-test-server--failure (aio-test-server--url (concat "/raw?kind=" kind)))))
      (should (equal (list kind (car err)) (list kind 'aio-http-malformed-response)))
      ;; curl calls an over-long header line "Out of memory"; it is not.
      (should-not (string-match-p "memory" (format "%s" (cdr err))))
      (should (memq 'aio-http-error (get (car err) 'error-conditions)))))
  ;; The scheme error stays for schemes, and a broken connection stays one.
  (should (eq (car (aio-test-server--failure "ftp://127.0.0.1/")) 'aio-http-protocol-error))
  (should (eq (car (condition-case err
                        (aio-wait-for (aio-http-request (aio-test-server--url "/hello")
                                                        :proxy "ftp://127.0.0.1")
                                      5)
                      (error err)))
              'aio-http-protocol-error))
  (should (eq (car (aio-test-server--failure (aio-test-server--url "/close-mid-body")))
              'aio-http-transfer-error)))

(aio-deftest aio-http-bodies-have-a-default-limit ()
  (let ((aio-http-max-size 100000))
    (should (eq (car (aio-test-server--failure (aio-test-server--url "/bytes?n=300000")))
                'aio-http-too-large))
    ;; nil says no limit.
    (should (= (length (aio-http-response-body
                        (aio-test-server--get "/bytes?n=300000" :max-size nil)))
               300000)))
  ;; A length nobody could hold is refused before any body arrives.
  (let ((err (aio-test-server--failure (aio-test-server--url "/endless"))))
    (should (eq (car err) 'aio-http-too-large))))

(defmacro aio-http-test--with-limits (bindings &rest body)
  "Run BODY with the connection caps in BINDINGS, then restore them."
  (declare (indent 1) (debug (sexp body)))
  (let ((saved (make-symbol "saved")))
    `(let ((,saved (mapcar (lambda (b) (cons (car b) (symbol-value (car b)))) ',bindings)))
       (unwind-protect
           (progn ,@(mapcar (lambda (b) `(customize-set-variable ',(car b) ,(cadr b)))
                            bindings)
                  ,@body)
         (dolist (entry ,saved)
           (customize-set-variable (car entry) (cdr entry)))))))

(aio-deftest aio-http-connections-are-capped ()
  (aio-test-server--get "/most-active")
  (aio-http-test--with-limits ((aio-http-max-host-connections 3)
                               (aio-http-max-idle-connections 2))
    (let ((promises (cl-loop repeat 12
                             collect (aio-http-request (aio-test-server--url "/slow?delay=0.1")
                                                       :proxy ""))))
      ;; The rest wait for a free connection; none fails for it.
      (dolist (p promises)
        (should (equal (aio-http-response-body (aio-wait-for p 30)) "slow\n")))
      (let ((most (string-to-number
                   (aio-http-response-body (aio-test-server--get "/most-active")))))
        (should (<= 1 most 3))))
    ;; Idle connections beyond the cap are closed.
    (ert-info ((lambda () (format "connection states %S" (aio-http-test--connections t))))
      (should (aio-test-eventually (lambda () (<= (aio-http-test--connections) 2)) 10)))))

(defun aio-http-test--prlimit (pid soft)
  "Return a process that sets PID's soft descriptor limit when told.
Writing a line to it sets the limit to SOFT; the next line restores the
limit it had.  It is started, with its pipes, before any limit is
lowered, since lowering it may leave Emacs no descriptor for a pipe."
  (let* ((old (car (process-lines "prlimit" "--pid" (number-to-string pid) "--nofile"
                                  "--raw" "--noheadings" "--output=SOFT")))
         (script (format "read x; prlimit --pid %d --nofile=%d:; echo set; read y; prlimit --pid %d --nofile=%s:; echo restored"
                         pid soft pid old)))
    (make-process :name "aio-http-test-prlimit" :buffer (generate-new-buffer " *prlimit*")
                  :command (list "sh" "-c" script) :connection-type 'pipe :noquery t)))

(defun aio-http-test--prlimit-step (process word)
  "Tell PROCESS to go on, and wait until it has said WORD."
  (process-send-string process "go\n")
  (should (aio-test-eventually
           (lambda () (with-current-buffer (process-buffer process)
                        (string-match-p (concat "^" word "$") (buffer-string)))))))

(aio-deftest aio-http-descriptor-shortage-is-reported-as-such ()
  (skip-unless (executable-find "prlimit"))
  (aio-native-init)
  (let* ((url (aio-test-server--refused-url))
         (prlimit (aio-http-test--prlimit (emacs-pid) 0))
         err)
    (unwind-protect
        (progn
          (aio-http-test--prlimit-step prlimit "set")
          (setq err (condition-case e
                        (progn (aio-wait-for (aio-http-request url :proxy "") 10) nil)
                      (error e))))
      (aio-http-test--prlimit-step prlimit "restored")
      (kill-buffer (process-buffer prlimit)))
    (should (eq (car err) 'aio-http-descriptor-error))
    (should (string-match-p "descriptor" (nth 1 err)))
    ;; Still a connect error, for handlers written before it existed.
    (should (memq 'aio-http-connect-error (get (car err) 'error-conditions)))))

(aio-deftest aio-http-sockets-are-not-inherited ()
  (aio-test-server--port)
  (let ((promises (cl-loop repeat 5 collect (aio-http-request (aio-test-server--url "/never")
                                                              :proxy ""))))
    (unwind-protect
        (progn
          (should (aio-test-eventually (lambda () (>= (aio-http-test--connections) 5))))
          (should-not (cl-some (lambda (line) (string-match-p "socket:" line))
                               (process-lines "/bin/sh" "-c" "ls -l /proc/$$/fd"))))
      (mapc #'aio-cancel promises))))

(aio-deftest aio-http-survives-a-deleted-wake-pipe ()
  (aio-native-init)
  (let ((sleep (aio-sleep 0.2 'late))
        (get (aio-http-request (aio-test-server--url "/slow?delay=0.2") :proxy "")))
    (delete-process aio-native--process)
    (should (eq (aio-wait-for sleep 5) 'late))
    (should (equal (aio-http-response-body (aio-wait-for get 5)) "slow\n"))))

(aio-deftest aio-http-start-refuses-circular-lists ()
  (aio-native-init)
  (let ((headers (list "X-A: 1" "X-B: 2"))
        (options (list :timeout 1)))
    (setcdr (cdr headers) headers)
    (setcdr (cdr options) options)
    (should-error (aio-native--http-start 999999 "http://127.0.0.1/" "GET" headers nil nil)
                  :type 'wrong-type-argument)
    (should-error (aio-native--http-start 999999 "http://127.0.0.1/" "GET" nil nil options)
                  :type 'wrong-type-argument)))

(aio-deftest aio-http-start-reads-option-plists-as-plist-get-does ()
  (aio-native-init)
  ;; Not a plist: odd length, or a key that is no keyword.
  (dolist (options '((:timeout) (:timeout 1 :proxy) (timeout 1) ("x" 1) (1 2)))
    (should-error (aio-native--http-start 999999 "http://127.0.0.1/" "GET" nil nil options)
                  :type 'wrong-type-argument))
  (should-error (aio-native--http-start 999999 "http://127.0.0.1/" "GET" nil nil 5)
                :type 'wrong-type-argument)
  ;; A repeated key: the first value counts, as for `plist-get' (a
  ;; bad second value is never read).
  (let ((id (aio-native--register #'ignore)))
    (unwind-protect
        (should (eql id (aio-native--http-start id (aio-test-server--url "/hello") "GET" nil nil
                                                '(:proxy "" :max-size 10 :max-size "bad"))))
      (aio-native--stop id #'aio-native--http-cancel)))
  (should-error (aio-native--http-start 999999 "http://127.0.0.1/" "GET" nil nil
                                        '(:max-size "bad" :max-size 10))
                :type 'wrong-type-argument)
  ;; A keyword whose name holds a raw byte is nobody's option: ignored.
  (let ((id (aio-native--register #'ignore)))
    (unwind-protect
        (should (eql id (aio-native--http-start id (aio-test-server--url "/hello") "GET" nil nil
                                                (list (intern (string ?: #x3fff80)) 1 :proxy ""))))
      (aio-native--stop id #'aio-native--http-cancel))))

(aio-deftest aio-http-user-agent-is-read-at-each-request ()
  (dolist (agent '("first-agent/1" "second-agent/2"))
    (let ((aio-http-user-agent agent))
      (should (string-match-p (concat "User-Agent: " (regexp-quote agent))
                              (aio-http-response-body (aio-test-server--get "/echo"))))))
  (let ((aio-http-user-agent nil))
    (should-not (string-match-p "User-Agent" (aio-http-response-body (aio-test-server--get "/echo"))))))

(provide 'aio-http-test)
;;; aio-http-test.el ends here
