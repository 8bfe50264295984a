;;; aio-url-test.el --- aio-url-retrieve against url-retrieve  -*- lexical-binding: t; -*-

;;; Commentary:

;; `aio-url-retrieve' must hand out what `url-retrieve' hands its
;; callback.  Each test fetches the same local URL both ways and compares
;; the STATUS plists, the buffers and their buffer-local variables.  The
;; servers run on 127.0.0.1 (see aio-http-test.el); url.el reads proxies
;; from the environment, so the comparisons are skipped when one is set.

;;; Code:

(require 'ert)
(require 'cl-lib)
(require 'url)
(require 'url-http)
(require 'aio)
(require 'aio-url)
(require 'aio-test-server)
(require 'aio-test-helpers)

(defvar url-http-end-of-headers)
(defvar url-http-response-status)
(defvar url-http-response-version)
(defvar url-http-content-type)
(defvar url-http-content-length)

(defun aio-url-test--no-proxy ()
  "Return non-nil if no proxy is configured in the environment."
  (not (cl-some #'getenv '("http_proxy" "HTTP_PROXY" "https_proxy" "all_proxy" "ALL_PROXY"))))

(defun aio-url-test--url-retrieve (url)
  "Return (STATUS . BUFFER) from `url-retrieve' of URL, waiting for it."
  (let ((result nil)
        (deadline (+ (float-time) 20)))
    (url-retrieve url (lambda (status) (setq result (cons status (current-buffer))))
                  nil t t)
    (while (and (not result) (< (float-time) deadline))
      (accept-process-output nil 0.01))
    (or result (error "url-retrieve did not call back for %s" url))))

(defun aio-url-test--aio (url)
  "Return (STATUS . BUFFER) from `aio-url-retrieve' of URL."
  (aio-wait-for (aio-url-retrieve url nil t) 30))

(defun aio-url-test--snapshot (result)
  "Return what must agree between two (STATUS . BUFFER) RESULTs.
Kill the buffer.  The Date header may differ by a second; it is
blanked out."
  (let ((buffer (cdr result)))
    (prog1
        (with-current-buffer buffer
          (list :status (car result)
                :multibyte enable-multibyte-characters
                :text (replace-regexp-in-string
                       "^Date: .*$" "Date: X"
                       (buffer-substring-no-properties (point-min) (point-max)))
                :end-of-headers (and url-http-end-of-headers
                                     (marker-position url-http-end-of-headers))
                :response-status url-http-response-status
                :response-version url-http-response-version
                :content-type url-http-content-type
                :content-length url-http-content-length
                :current-url (url-recreate-url url-current-object)))
      (let ((kill-buffer-query-functions nil))
        (kill-buffer buffer)))))

(defun aio-url-test--compare (path &optional bindings)
  "Check that both ways of fetching PATH agree, with BINDINGS in effect.
BINDINGS is an alist of (VARIABLE . VALUE) bound around both calls."
  (let* ((url (aio-test-server--url path))
         (vars (mapcar #'car bindings))
         (values (mapcar #'cdr bindings))
         (theirs (cl-progv vars values
                   (aio-url-test--snapshot (aio-url-test--url-retrieve url))))
         (ours (cl-progv vars values
                 (aio-url-test--snapshot (aio-url-test--aio url)))))
    (should (equal ours theirs))
    ours))

(aio-deftest aio-url-agrees-with-url-retrieve ()
  (skip-unless (aio-url-test--no-proxy))
  (dolist (path '("/hello" "/chunked" "/gzip" "/headers" "/status/404" "/status/500"
                  "/redirect/relative" "/redirect/absolute" "/redirect/dot-relative"
                  "/redirect/chain/2" "/charset?cs=iso-8859-1"))
    (ert-info (path :prefix "path: ")
      (aio-url-test--compare path))))

(aio-deftest aio-url-redirect-limit-agrees ()
  (skip-unless (aio-url-test--no-proxy))
  (let ((snapshot (aio-url-test--compare "/redirect/loop" '((url-max-redirections . 3)))))
    (should (eq (car (plist-get (plist-get snapshot :status) :error)) 'error))
    (should (eq (nth 1 (plist-get (plist-get snapshot :status) :error)) 'http-redirect-limit))))

(aio-deftest aio-url-request-variables-are-honoured ()
  (skip-unless (aio-url-test--no-proxy))
  (let* ((url-request-method "PUT")
         (url-request-data "payload")
         (url-request-extra-headers '(("X-Extra" . "yes")))
         (url-user-agent "aio-url-test-agent")
         (result (aio-url-test--aio (aio-test-server--url "/echo"))))
    (with-current-buffer (cdr result)
      (goto-char (1+ url-http-end-of-headers))
      (let ((echo (buffer-substring (point) (point-max))))
        (should (string-prefix-p "PUT /echo\n" echo))
        (should (string-match-p "^X-Extra: yes$" echo))
        (should (string-match-p "^User-Agent: aio-url-test-agent$" echo))
        (should (string-match-p "^Content-Length: 7$" echo))
        (should-not (string-match-p "^Content-Type" echo))
        (should (string-suffix-p "\n\npayload" echo))))
    (kill-buffer (cdr result)))
  ;; A 303 turns the request into a GET without a body, as in url.el.
  (let* ((url-request-method "POST")
         (url-request-data "x=1")
         (result (aio-url-test--aio (aio-test-server--url "/redirect/see-other"))))
    (should (equal (car result) (list :redirect (aio-test-server--url "/echo"))))
    (with-current-buffer (cdr result)
      (should (re-search-forward "^GET /echo$" nil t)))
    (kill-buffer (cdr result)))
  (let ((url-request-data (string-to-multibyte "caf\351")))
    (should-error (aio-wait-for (aio-url-retrieve (aio-test-server--url "/echo"))))))

(aio-deftest aio-url-redirect-drops-credentials-however-spelled ()
  (skip-unless (aio-url-test--no-proxy))
  (dolist (name '("Authorization" "authorization" "AUTHORIZATION"))
    (let* ((url-request-extra-headers (list (cons name "Basic c2VjcmV0") '("X-Keep" . "yes")))
           (result (aio-url-test--aio (aio-test-server--url "/redirect/see-other"))))
      (with-current-buffer (cdr result)
        (goto-char (1+ url-http-end-of-headers))
        (let ((echo (buffer-substring (point) (point-max)))
              (case-fold-search t))
          (should (string-prefix-p "GET /echo\n" echo))
          (should (string-match-p "^X-Keep: yes$" echo))
          (should-not (string-match-p "^authorization:" echo))))
      (kill-buffer (cdr result)))))

(aio-deftest aio-url-caller-framing-headers-are-dropped ()
  (let* ((body "aGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n")
         (url-request-method "POST")
         (url-request-data body)
         (url-request-extra-headers '(("Content-Length" . "1")))
         (result (aio-url-test--aio (aio-test-server--url "/echo"))))
    (with-current-buffer (cdr result)
      (goto-char (1+ url-http-end-of-headers))
      (let ((echo (buffer-substring (point) (point-max))))
        (should (string-match-p (format "^Content-Length: %d$" (length body)) echo))
        (should (string-suffix-p (concat "\n\n" body) echo))))
    (kill-buffer (cdr result)))
  (aio-test-server--no-smuggled-request))

(aio-deftest aio-url-circular-extra-headers-are-refused ()
  (let ((url-request-extra-headers (list (cons "X-A" "1"))))
    (setcdr url-request-extra-headers url-request-extra-headers)
    (should-error (aio-wait-for (aio-url-retrieve (aio-test-server--url "/echo")) 10)
                  :type 'wrong-type-argument)))

(aio-deftest aio-url-a-method-that-is-no-token-is-refused ()
  (dolist (method (list "G\u00c9T" "GET /x" "GET\r\nX-Injected: 1" ""
                        (make-string 1000 ?\u00e9)))
    (let ((url-request-method method))
      (should-error (aio-wait-for (aio-url-retrieve (aio-test-server--url "/echo")) 10)
                    :type 'args-out-of-range))))

(aio-deftest aio-url-user-agent-with-line-breaks-is-refused ()
  (dolist (agent '("evil\r\nX-Injected: 1" "evil\nX-Injected: 1" "evil\rX: 1"))
    (let ((url-user-agent agent))
      (should-error (aio-wait-for (aio-url-retrieve (aio-test-server--url "/echo")) 10)
                    :type 'args-out-of-range)))
  ;; A plain one still goes out.
  (let* ((url-user-agent "plain-agent")
         (result (aio-url-test--aio (aio-test-server--url "/echo"))))
    (with-current-buffer (cdr result)
      (should (re-search-forward "^User-Agent: plain-agent$" nil t)))
    (kill-buffer (cdr result))))

(aio-deftest aio-url-other-schemes-go-to-url-el ()
  (let ((file (make-temp-file "aio-url-test-" nil ".txt" "file contents\n"))
        (before (buffer-list)))
    (unwind-protect
        (let* ((theirs (aio-url-test--url-retrieve (concat "file://" file)))
               (ours (aio-wait-for (aio-url-retrieve (concat "file://" file)) 10)))
          (should (equal (car ours) (car theirs)))
          (should (equal (with-current-buffer (cdr ours) (buffer-string))
                         (with-current-buffer (cdr theirs) (buffer-string))))
          (should (string-match-p "file contents" (with-current-buffer (cdr ours)
                                                    (buffer-string))))
          (kill-buffer (cdr ours))
          (kill-buffer (cdr theirs))
          ;; Nothing else is left behind.
          (should (null (cl-set-difference (buffer-list) before))))
      (delete-file file))))

(aio-deftest aio-url-connection-failure-agrees ()
  (skip-unless (aio-url-test--no-proxy))
  (let* ((url (aio-test-server--refused-url))
         (theirs (aio-url-test--snapshot (aio-url-test--url-retrieve url)))
         (ours (aio-url-test--snapshot (aio-url-test--aio url))))
    (let ((their-error (plist-get (plist-get theirs :status) :error))
          (our-error (plist-get (plist-get ours :status) :error)))
      (should (equal (seq-take our-error 2) '(error connection-failed)))
      (should (equal (seq-take our-error 2) (seq-take their-error 2)))
      ;; The message differs (Emacs's sentinel text against curl's).
      (should (equal (nthcdr 3 our-error) (nthcdr 3 their-error))))
    (should (equal (plist-get ours :text) (plist-get theirs :text)))
    (should (equal (plist-get ours :multibyte) (plist-get theirs :multibyte))))
  ;; url.el never calls back for a name that does not resolve; we do.
  (let ((result (aio-url-test--aio "http://nowhere.invalid/")))
    (should (equal (seq-take (plist-get (car result) :error) 2) '(error connection-failed)))
    (kill-buffer (cdr result))))

(aio-deftest aio-url-forbidden-redirect-is-not-followed ()
  (skip-unless (aio-url-test--no-proxy))
  (let ((result (aio-url-test--aio (aio-test-server--url "/redirect/to?url=file:///etc/passwd"))))
    (should (equal (car result) '(:error (error http-redirect-forbidden "file:///etc/passwd"))))
    (with-current-buffer (cdr result)
      (should (= url-http-response-status 302)))
    (kill-buffer (cdr result)))
  (should (eq (car (should-error (aio-wait-for (aio-url-retrieve 42))))
              'wrong-type-argument)))

(aio-deftest aio-url-leaves-nothing-behind ()
  (skip-unless (aio-url-test--no-proxy))
  (aio-test-server--port)
  (let ((buffers (buffer-list))
        (processes (process-list))
        (result (aio-url-test--aio (aio-test-server--url "/redirect/chain/1"))))
    (should (equal (cl-set-difference (buffer-list) buffers) (list (cdr result))))
    (should-not (cl-set-difference (process-list) processes))
    (kill-buffer (cdr result)))
  ;; Cancelled in flight: no buffer at all, and the transfer stops.
  (let* ((buffers (buffer-list))
         (before (aio-test-server--stat :http-pending))
         (promise (aio-url-retrieve (aio-test-server--url "/never"))))
    (accept-process-output nil 0.05)
    (should (aio-cancel promise))
    (should (aio-test-eventually
             (lambda () (= (aio-test-server--stat :http-pending) before))))
    (accept-process-output nil 0.05)
    (should (equal (buffer-list) buffers))))

(aio-deftest aio-url-cookies ()
  (skip-unless (aio-url-test--no-proxy))
  (let ((url-cookie-storage nil)
        (url-cookie-secure-storage nil)
        (url-cookie-file (make-temp-name "/tmp/aio-url-test-cookies-")))
    (unwind-protect
        (progn
          (kill-buffer (cdr (aio-wait-for (aio-url-retrieve (aio-test-server--url "/headers")
                                                            nil t)
                                          30)))
          (should-not url-cookie-storage)
          (kill-buffer (cdr (aio-wait-for (aio-url-retrieve (aio-test-server--url "/headers"))
                                          30)))
          (should url-cookie-storage)
          (let ((result (aio-wait-for (aio-url-retrieve (aio-test-server--url "/echo")) 30)))
            (with-current-buffer (cdr result)
              (should (re-search-forward "^Cookie: .*a=1" nil t)))
            (kill-buffer (cdr result))))
      (when (file-exists-p url-cookie-file)
        (delete-file url-cookie-file)))))

(aio-deftest aio-url-static-files-from-python-http-server ()
  (skip-unless (aio-url-test--no-proxy))
  (let* ((dir (make-temp-file "aio-url-test-" t))
         (buffer (generate-new-buffer " *aio-url-test-http-server*"))
         (process nil))
    (unwind-protect
        (progn
          (with-temp-file (expand-file-name "page.html" dir)
            (insert "<p>static</p>\n"))
          (setq process (make-process
                         :name "aio-url-test-http-server" :buffer buffer :noquery t
                         :connection-type 'pipe
                         :command (list "python3" "-u" "-m" "http.server"
                                        "--bind" "127.0.0.1" "--directory" dir "0")))
          (let ((deadline (+ (float-time) 10)) port)
            (while (and (not port) (< (float-time) deadline))
              (accept-process-output process 0.05)
              (with-current-buffer buffer
                (goto-char (point-min))
                (when (re-search-forward "port \\([0-9]+\\)" nil t)
                  (setq port (string-to-number (match-string 1))))))
            (should port)
            (dolist (path '("/page.html" "/missing.html"))
              (let* ((url (format "http://127.0.0.1:%d%s" port path))
                     (theirs (aio-url-test--snapshot (aio-url-test--url-retrieve url)))
                     (ours (aio-url-test--snapshot (aio-url-test--aio url))))
                (should (equal ours theirs))))))
      (when (process-live-p process) (delete-process process))
      (kill-buffer buffer)
      (delete-directory dir t))))

(provide 'aio-url-test)
;;; aio-url-test.el ends here
