;;; aio-url.el --- `url-retrieve' as a promise, on the native HTTP engine  -*- lexical-binding: t; -*-

;; SPDX-License-Identifier: GPL-3.0-or-later

;;; Commentary:

;; `aio-url-retrieve' is a drop-in for emacs-aio's function of that name:
;; it resolves to (STATUS . BUFFER) exactly as `url-retrieve' hands them
;; to its callback, but the transfer runs on the native loop (libcurl),
;; so TLS, decompression and name lookup cost Emacs's main thread
;; nothing.  The buffer is laid out as url.el lays out its own: unibyte,
;; status line and headers without CR, an empty line, the body; with the
;; same buffer-local variables.
;;
;; Redirects are followed here, one native transfer per hop, with
;; url.el's rules: which statuses redirect, how the method changes, how
;; a relative Location is expanded, `url-max-redirections', and the
;; STATUS plist entries they leave.  Cookies go through url.el's cookie
;; store.  Differences from url.el: TLS certificates are verified (a bad
;; one is a connection failure), a redirect to a scheme other than http
;; or https is not followed, and a host that cannot be resolved calls
;; back with a connection failure instead of never.

;;; Code:

(require 'cl-lib)
(require 'url)
(require 'url-http)
(require 'url-cookie)
(require 'url-expand)
(require 'aio-promise)
(require 'aio-http)

;; Buffer-local in url.el's response buffers; declared without a value
;; by url-http.el, which makes them special only in that file.
(defvar url-http-end-of-headers)
(defvar url-http-response-status)
(defvar url-http-response-version)
(defvar url-http-content-type)
(defvar url-http-content-length)

(defun aio-url--request (url-string)
  "Return the request settings of the url.el variables bound now.
URL-STRING is the URL asked for.  Signal url.el's error for a body
with multibyte text."
  (let ((data url-request-data))
    (when (and data (multibyte-string-p data))
      (if (= (string-bytes data) (length data))
          (setq data (encode-coding-string data 'us-ascii))
        (error "Multibyte text in HTTP request: %s" data)))
    ;; url.el would loop for ever on a circular list.
    (unless (proper-list-p url-request-extra-headers)
      (signal 'wrong-type-argument (list 'listp url-request-extra-headers)))
    ;; A method that is no token would put anything on the request line.
    (list :method (aio-http--method (or url-request-method "GET"))
          :data data
          :extra url-request-extra-headers
          :agent (aio-url--user-agent)
          :max-redirections url-max-redirections
          :url url-string)))

(defun aio-url--user-agent ()
  "Return url.el's User-Agent header line, or \"\" when it sends none.
Unlike url.el, refuse a `url-user-agent' that would put a CR or LF on
the wire, which would let it add headers of its own."
  (let* ((line (url-http-user-agent-string))
         (bad (string-match-p "[\r\n\0]" line)))
    ;; The line itself ends in CR LF.
    (when (and bad (< bad (- (length line) 2)))
      (signal 'args-out-of-range (list 'url-user-agent url-user-agent)))
    line))

(defun aio-url--header-lines (request parsed use-cookies)
  "Return the header lines url.el would send for REQUEST to PARSED.
PARSED is a parsed URL; USE-COOKIES says whether to send cookies."
  (let* ((lines (list "MIME-Version: 1.0"))
         (host (url-host parsed))
         (path (let ((file (url-filename parsed))) (if (equal file "") "/" file))))
    (when url-mime-charset-string
      (push (concat "Accept-charset: " url-mime-charset-string) lines))
    (when url-mime-language-string
      (push (concat "Accept-language: " url-mime-language-string) lines))
    (push (concat "Accept: " (or url-mime-accept-string "*/*")) lines)
    ;; These hold zero or more CR LF terminated lines.
    (dolist (text (list (plist-get request :agent)
                        (and use-cookies
                             (url-cookie-generate-header-lines
                              host path (equal (url-type parsed) "https")))))
      (dolist (line (and text (split-string text "\r\n" t)))
        (push line lines)))
    (dolist (field (plist-get request :extra))
      (push (concat (car field) ": " (cdr field)) lines))
    ;; url.el sends no Content-Type of its own; curl would call the
    ;; body a form.
    (when (and (plist-get request :data)
               (not (assoc-string "Content-Type" (plist-get request :extra) t)))
      (push "Content-Type:" lines))
    (mapcar (lambda (line)
              (when (string-match-p "[\r\n\0]" line)
                (signal 'args-out-of-range (list line)))
              (aio-http--bytes line))
            (nreverse lines))))

(defun aio-url--buffer (parsed)
  "Return a new empty unibyte response buffer for PARSED, as url.el names it."
  (let ((buffer (generate-new-buffer
                 (format " *http %s:%d*" (url-host parsed) (url-port parsed)))))
    (with-current-buffer buffer
      (set-buffer-multibyte nil)
      (setq-local url-current-object parsed)
      ;; url.el makes these local (nil) in every response buffer, so
      ;; that callers may read them even when no response came.
      (dolist (variable '(url-http-end-of-headers url-http-response-status
                          url-http-response-version url-http-content-type
                          url-http-content-length))
        (set (make-local-variable variable) nil)))
    buffer))

(defun aio-url--fill (buffer raw)
  "Lay out RAW, the engine's response vector, in BUFFER as url.el does."
  (with-current-buffer buffer
    (let ((status-line (aio-http--raw-status-line raw))
          (headers (aio-http--header-alist (aio-http--raw-headers raw)))
          (decoded (aio-http--raw-decoded raw)))
      (insert status-line "\n")
      (dolist (field headers)
        ;; url.el drops Content-Encoding once it has undone it.
        (unless (and decoded (string-equal (downcase (car field)) "content-encoding"))
          (insert (car field) ": " (cdr field) "\n")))
      (insert "\n")
      (setq-local url-http-end-of-headers (copy-marker (1- (point))))
      (insert (aio-http--raw-body raw))
      (setq-local url-http-response-status (aio-http--raw-status raw))
      (setq-local url-http-response-version
                  (if (string-match "\\`HTTP/\\([0-9.]+\\)" status-line)
                      (match-string 1 status-line)
                    (aio-http--raw-version raw)))
      (setq-local url-http-content-type
                  (cdr (assoc-string "content-type" headers t)))
      (setq-local url-http-content-length
                  (let ((length (cdr (assoc-string "content-length" headers t))))
                    (and length (string-to-number length))))
      (goto-char (point-min)))))

(defun aio-url--store-cookies (raw parsed)
  "Store the cookies set by RAW, a response vector from PARSED."
  (let ((url-current-object parsed))
    (dolist (field (aio-http--header-alist (aio-http--raw-headers raw)))
      (when (string-equal (downcase (car field)) "set-cookie")
        (url-cookie-handle-set-cookie (cdr field))))))

(defun aio-url--redirects (status)
  "Return the number of :redirect entries in the STATUS plist."
  (let ((n 0))
    (while status
      (when (eq (car status) :redirect) (setq n (1+ n)))
      (setq status (cddr status)))
    n))

(defun aio-url--redirect-p (raw)
  "Return the Location RAW, a response vector, redirects to, or nil.
url.el follows any 3xx with a Location (or URI) but 304 and 305."
  (let ((code (aio-http--raw-status raw)))
    (and (<= 300 code 399)
         (not (memq code '(304 305)))
         (let ((headers (aio-http--header-alist (aio-http--raw-headers raw) t)))
           (cdr (or (assoc-string "location" headers t)
                    (assoc-string "uri" headers t)))))))

(defun aio-url--hop (promise request parsed status use-cookies)
  "Fetch PARSED for PROMISE, then resolve it or follow a redirect.
REQUEST is the plist from `aio-url--request' for this hop; STATUS the
plist built so far; USE-COOKIES as for `aio-url--header-lines'."
  (let* ((url (url-recreate-url parsed))
         (data (plist-get request :data))
         (transfer (aio-http--start
                    url (plist-get request :method)
                    (aio-url--header-lines request parsed use-cookies)
                    data
                    (list :follow-redirects nil :verify-tls t
                          :max-size aio-http-max-size))))
    (setf (aio-promise-release promise) (apply-partially #'aio-cancel transfer))
    (aio-listen
     transfer
     (lambda (value-function)
       (unless (aio-promise-result promise)  ; cancelled meanwhile
         (condition-case err
             (let ((done (aio-url--finish
                          promise request parsed status use-cookies
                          (condition-case err
                              (cons :ok (funcall value-function))
                            (aio-http-cancelled (signal (car err) (cdr err)))
                            (aio-http-error (cons :failed err))))))
               (when done (aio-resolve promise (aio--value-fn done))))
           ;; A cancellation is no `error'.
           ((error aio-cancel) (aio-resolve promise (aio--error-fn err)))))))))

(defun aio-url--finish (promise request parsed status use-cookies outcome)
  "Return (STATUS . BUFFER) for OUTCOME of fetching PARSED, or follow on.
OUTCOME is (:ok . RESPONSE-VECTOR) or (:failed . CONDITION).  When a
redirect is followed, start the next hop, which resolves PROMISE, and
return nil.  PROMISE, REQUEST, STATUS and USE-COOKIES are as for
`aio-url--hop'."
  (if (eq (car outcome) :failed)
      (cons (append (list :error (list 'error 'connection-failed (nth 1 (cdr outcome))
                                       :host (url-host parsed) :service (url-port parsed)))
                    status)
            (aio-url--buffer parsed))
    (let* ((raw (cdr outcome))
           (code (aio-http--raw-status raw))
           (location (aio-url--redirect-p raw)))
      (when use-cookies (aio-url--store-cookies raw parsed))
      (cond
       (location
        (let* ((target (if (string-match url-nonrelative-link location)
                           location
                         (url-expand-file-name location parsed)))
               (next (url-generic-parse-url target))
               (limit (plist-get request :max-redirections)))
          (cond
           ((not (or (< limit 0)
                     (and (> limit 0) (< (aio-url--redirects status) limit))))
            (aio-url--deliver raw parsed
                              (append (list :error (list 'error 'http-redirect-limit target))
                                      status)))
           ((not (member (url-type next) '("http" "https")))
            (aio-url--deliver raw parsed
                              (append (list :error (list 'error 'http-redirect-forbidden target))
                                      status)))
           (t
            (let ((next-request (copy-sequence request)))
              ;; url.el turns 302 and 303 into GET without a body.
              (when (memq code '(302 303))
                (setq next-request (plist-put next-request :method "GET"))
                (setq next-request (plist-put next-request :data nil)))
              ;; The credentials are not sent on to wherever the
              ;; redirect points, however the caller spelled the name.
              (setq next-request
                    (plist-put next-request :extra
                               (cl-loop for header in (plist-get next-request :extra)
                                        unless (eq t (compare-strings (car header) nil nil
                                                                      "authorization" nil nil t))
                                        collect header)))
              (aio-url--hop promise next-request next
                            (append (list :redirect target) status)
                            use-cookies)
              nil)))))
       ((>= code 400)
        (aio-url--deliver raw parsed (append (list :error (list 'error 'http code)) status)))
       (t (aio-url--deliver raw parsed status))))))

(defun aio-url--deliver (raw parsed status)
  "Return (STATUS . BUFFER), BUFFER holding RAW fetched from PARSED."
  (let ((buffer (aio-url--buffer parsed)))
    (aio-url--fill buffer raw)
    (cons status buffer)))

(defun aio-url--elsewhere (promise url silent inhibit-cookies)
  "Resolve PROMISE with what `url-retrieve' gets from URL, not HTTP.
SILENT and INHIBIT-COOKIES are passed on.  url.el handles the schemes
the native engine does not (file, ftp, data...), with the same
\(STATUS . BUFFER) contract."
  (let ((buffer (url-retrieve url (apply-partially #'aio-url--elsewhere-done promise)
                              nil silent inhibit-cookies)))
    (setf (aio-promise-release promise)
          (apply-partially #'aio-url--elsewhere-cancel buffer))))

(defun aio-url--elsewhere-done (promise status)
  "Resolve PROMISE with STATUS and the current buffer, from `url-retrieve'.
If PROMISE was canceled meanwhile, kill the buffer instead."
  (if (aio-promise-result promise)
      (kill-buffer (current-buffer))
    (aio-resolve promise (aio--value-fn (cons status (current-buffer))))))

(defun aio-url--elsewhere-cancel (buffer)
  "Stop the retrieval of `url-retrieve' into BUFFER and kill BUFFER."
  (when (buffer-live-p buffer)
    (let ((process (get-buffer-process buffer)))
      (when process (delete-process process)))
    (kill-buffer buffer)))

(defun aio-url-retrieve (url &optional silent inhibit-cookies)
  "Return a promise of (STATUS . BUFFER) from retrieving URL.
STATUS and BUFFER are what `url-retrieve' hands its callback: STATUS a
plist (:redirect URL newest first, :error (error http CODE) for a 4xx
or 5xx status, :error (error connection-failed ...) when no response
came), BUFFER the unibyte response laid out as url.el does, with the
same buffer-local variables.  The caller owns BUFFER and should kill
it; nothing else is left behind.  The request follows the url.el
variables bound around this call: `url-request-method',
`url-request-data', `url-request-extra-headers', `url-user-agent' and
`url-max-redirections'.  With INHIBIT-COOKIES, cookies are neither
sent nor stored.  SILENT is accepted for compatibility; nothing is
ever reported in the echo area.  The transfer runs on the native
loop; `aio-cancel' on the promise aborts it.  URLs of other schemes
\(file, ftp...) go to url.el's own `url-retrieve', with the same
contract.  A synchronous error (a multibyte body) becomes a
rejection."
  (let ((promise (aio-promise)))
    (condition-case err
        (progn
          (unless (stringp url)
            (signal 'wrong-type-argument (list 'stringp url)))
          (let ((parsed (url-generic-parse-url url)))
            (if (member (url-type parsed) '("http" "https"))
                (aio-url--hop promise (aio-url--request url) parsed nil (not inhibit-cookies))
              (aio-url--elsewhere promise url silent inhibit-cookies))))
      (error (aio-resolve promise (aio--error-fn err))))
    promise))

(provide 'aio-url)
;;; aio-url.el ends here
