;;; aio-http.el --- Native HTTP requests for aio  -*- lexical-binding: t; -*-

;; SPDX-License-Identifier: GPL-3.0-or-later

;;; Commentary:

;; `aio-http-request' fetches a URL with libcurl, driven by the native
;; loop's thread: name lookup, TLS, redirects, decompression and
;; connection reuse all happen off Emacs's main thread, and the promise
;; resolves to an `aio-http-response'.  A response with an error status
;; (404, 500...) is still a response; only the failure to get any
;; response rejects the promise, with one of the errors below, all under
;; `aio-http-error'.  `aio-cancel' on the promise aborts the transfer.
;;
;; Names under the special-use domain "invalid" (RFC 6761) fail at once
;; without asking any resolver.

;;; Code:

(require 'cl-lib)
(require 'aio-promise)
(require 'aio-native)

(declare-function aio-native--http-start "aio-native-module"
                  (id url method headers body options))
(declare-function aio-native--http-cancel "aio-native-module" (id))
(declare-function aio-native--http-limits "aio-native-module" (total per-host idle))
(declare-function aio-native--http-ack "aio-native-module" (id bytes))
(declare-function aio-native--running-p "aio-native-module" ())

;;; Errors

;; `aio-native-error', the parent, is defined in aio-native-build.el.
(define-error 'aio-http-error "HTTP request failed" 'aio-native-error)
(define-error 'aio-http-resolve-error "Could not resolve host" 'aio-http-error)
(define-error 'aio-http-connect-error "Could not connect" 'aio-http-error)
(define-error 'aio-http-tls-error "TLS failure" 'aio-http-error)
(define-error 'aio-http-timeout "HTTP request timed out" 'aio-http-error)
(define-error 'aio-http-too-many-redirects "Too many redirects" 'aio-http-error)
(define-error 'aio-http-descriptor-error "No file descriptor for a connection"
  'aio-http-connect-error)
(define-error 'aio-http-protocol-error "Protocol not allowed" 'aio-http-error)
(define-error 'aio-http-too-large "HTTP response too large" 'aio-http-error)
(define-error 'aio-http-malformed-response "Malformed HTTP response" 'aio-http-error)
(define-error 'aio-http-status-error "HTTP error status" 'aio-http-error)
;; Also a `file-error', for handlers of that.
(define-error 'aio-http-file-error "Cannot read or write the body's file"
  '(aio-http-error file-error))
(define-error 'aio-http-transfer-error "HTTP transfer failed" 'aio-http-error)
;; Not an `aio-http-error': a cancellation must not be caught by a plain
;; handler of `error', and `aio-http-error' is one.
(define-error 'aio-http-cancelled "HTTP request cancelled" 'aio-cancel)

(defconst aio-http--error-symbols
  '((resolve . aio-http-resolve-error)
    (connect . aio-http-connect-error)
    (tls . aio-http-tls-error)
    (timeout . aio-http-timeout)
    (too-many-redirects . aio-http-too-many-redirects)
    (protocol . aio-http-protocol-error)
    (too-large . aio-http-too-large)
    (malformed . aio-http-malformed-response)
    (descriptors . aio-http-descriptor-error)
    (file . aio-http-file-error)
    (status . aio-http-status-error)
    (other . aio-http-transfer-error))
  "Map from the engine's failure kinds to error symbols.")

;;; Responses

(cl-defstruct (aio-http--raw (:type vector) (:constructor nil) (:copier nil)
                             (:predicate nil))
  "The vector in which the module hands over a response.
Made by http_response_value in module/emacs/payload.cpp, in this
order.  STATUS is the code, VERSION the protocol version (\"1.1\"),
STATUS-LINE the first line as sent, HEADERS the header fields in the
order received, as one unibyte string of NAME:VALUE lines (see
`aio-http--header-alist'), BODY unibyte (empty when the body went
elsewhere), URL the last one asked, REDIRECTS the URLs followed, TIMINGS
five seconds (name lookup, connect, TLS, first byte, total), and
DECODED non-nil if a Content-Encoding was undone."
  status version status-line headers body url redirects timings decoded)

(defun aio-http--header-alist (block &optional lower)
  "Return BLOCK, header fields as NAME:VALUE lines, as an alist.
Each element is (NAME . VALUE), in order; with LOWER, NAME is
lower-cased."
  (let ((fields nil)
        (start 0)
        (end (length block)))
    (while (< start end)
      (let ((eol (or (string-search "\n" block start) end))
            (colon (string-search ":" block start)))
        (push (cons (if lower
                        (downcase (substring block start colon))
                      (substring block start colon))
                    (substring block (1+ colon) eol))
              fields)
        (setq start (1+ eol))))
    (nreverse fields)))

(cl-defstruct (aio-http-response
               (:constructor aio-http--make-response
                             (&key status version headers body url redirects timings
                                   &aux (-header-data headers) (-timing-data timings)))
               ;; Positional: keyword arguments cost a list per response.
               (:constructor aio-http--response-of
                             (status version -header-data body url redirects -timing-data))
               (:copier nil))
  "The final response of an HTTP request.
STATUS is the status code, an integer.  VERSION is the HTTP version,
a string such as \"1.1\" or \"2\".  BODY is the body, in the form the
request's :as asked for, with any Content-Encoding (gzip, br...)
already undone.  URL is the final URL, after redirects.  REDIRECTS
lists the URLs redirected to, oldest first.  The header fields and the
timings are read with `aio-http-response-headers' and
`aio-http-response-timings': -HEADER-DATA and -TIMING-DATA hold them as
the module gave them until first asked for, which most callers never
do: a quarter of the garbage a response makes beside its body."
  status version -header-data body url redirects -timing-data)

(defun aio-http-response-headers (response)
  "Return the header fields of RESPONSE, an alist of (NAME . VALUE).
NAME is lower-cased; the fields are in the order received; values are
unibyte strings."
  (let ((data (aio-http-response--header-data response)))
    (if (stringp data)
        (setf (aio-http-response--header-data response) (aio-http--header-alist data t))
      data)))

(defun aio-http--set-response-headers (response headers)
  "Set the header fields of RESPONSE to HEADERS; return HEADERS."
  (setf (aio-http-response--header-data response) headers))

(gv-define-simple-setter aio-http-response-headers aio-http--set-response-headers)

(defun aio-http-response-timings (response)
  "Return the timings of RESPONSE, a plist of seconds since the start.
The properties are :namelookup, :connect, :appconnect (TLS done),
:starttransfer (first byte) and :total."
  (let ((data (aio-http-response--timing-data response)))
    (if (numberp (car-safe data))
        (setf (aio-http-response--timing-data response) (aio-http--timings data))
      data)))

(defun aio-http--set-response-timings (response timings)
  "Set the timings of RESPONSE to TIMINGS; return TIMINGS."
  (setf (aio-http-response--timing-data response) timings))

(gv-define-simple-setter aio-http-response-timings aio-http--set-response-timings)

(defun aio-http-response-header (response name)
  "Return the value of header NAME in RESPONSE, or nil.
NAME is compared without regard to case.  With several fields of that
name, return the first."
  (cdr (assoc-string name (aio-http-response-headers response) t)))

;;; Options

(defgroup aio-http nil
  "Native HTTP requests for aio."
  :group 'aio-native)

(defvar aio-http-user-agent (format "aio-http (GNU Emacs %s)" emacs-version)
  "The User-Agent header `aio-http-request' sends, or nil for none.
A User-Agent in the request's :headers takes precedence.")

(defcustom aio-http-max-size (* 256 1024 1024)
  "The largest response body held in memory, in bytes, or nil for no limit.
A request's :max-size overrides it.  A body over the limit rejects the
request with `aio-http-too-large' as soon as it is known to be too big
\(from its Content-Length, or as it arrives), before Emacs runs out of
memory holding it."
  :type '(choice (const :tag "No limit" nil) natnum)
  :group 'aio-http)

(defvar aio-http-buffer-through-file t
  "Non-nil to fill the buffer of :as `buffer' from a temporary file.
The loop thread writes the body to the file and Emacs inserts it from
there, so that the body is never a Lisp string: large bodies then cost
Emacs's garbage collector nothing.  Nil makes the body a string first.")

(defvar aio-http-stream-window (* 512 1024)
  "Bytes of a streamed body handed to Lisp before the reader takes them.
Beyond this the transfer pauses until the reader catches up; a reader
that never reads holds at most twice this much.  See aio-http-stream.el.")

(defun aio-http--set-limit (symbol value)
  "Set connection cap SYMBOL to VALUE, and tell the running loop."
  (let ((least (if (eq symbol 'aio-http-max-idle-connections) 0 1)))
    (unless (and (fixnump value) (<= least value 100000))
      (user-error "`%s' must be an integer from %d to 100000, not %S"
                  symbol least value)))
  (set-default symbol value)
  (when (and (fboundp 'aio-native--running-p) (aio-native--running-p))
    (aio-http--apply-limits)))

(defcustom aio-http-max-connections 256
  "Most connections the HTTP engine keeps open at once, busy or idle.
Each is a file descriptor in Emacs's own table, whose usual limit is
1024: Emacs needs the rest for its files and processes.  Requests over
the cap wait for a connection to free up."
  :type 'natnum
  :set #'aio-http--set-limit
  :group 'aio-http)

(defcustom aio-http-max-host-connections 64
  "Most connections open at once to one host; see `aio-http-max-connections'."
  :type 'natnum
  :set #'aio-http--set-limit
  :group 'aio-http)

(defcustom aio-http-max-idle-connections 64
  "Most idle connections kept open for reuse; the oldest are closed first."
  :type 'natnum
  :set #'aio-http--set-limit
  :group 'aio-http)

(defun aio-http--apply-limits ()
  "Hand the connection caps to the running native loop."
  (aio-native--http-limits aio-http-max-connections
                           aio-http-max-host-connections
                           aio-http-max-idle-connections))

(add-hook 'aio-native-start-functions #'aio-http--apply-limits)
;; A loop started before this file was loaded has curl's defaults.
(when (and (fboundp 'aio-native--running-p) (aio-native--running-p))
  (aio-http--apply-limits))

(defconst aio-http--keywords
  '(:method :headers :body :timeout :connect-timeout :follow-redirects
    :max-redirects :verify-tls :ca-file :max-size :proxy :as :idle-timeout :on-progress
    :fail-on-error-status)
  "Keywords `aio-http-request' accepts.")

(defun aio-http--method (method)
  "Return METHOD, a string or symbol, as a method string."
  (let ((name (cond ((stringp method) method)
                    ((and method (symbolp method)) (symbol-name method))
                    (t (signal 'wrong-type-argument (list 'stringp method))))))
    (unless (string-match-p "\\`[!#$%&'*+.^_`|~0-9A-Za-z-]+\\'" name)
      (signal 'args-out-of-range (list method)))
    name))

(defun aio-http--bytes (string)
  "Return STRING as unibyte bytes, encoding multibyte text as UTF-8."
  (if (multibyte-string-p string)
      (encode-coding-string string 'utf-8 t)
    string))

(defun aio-http--header-line (field)
  "Return FIELD, a (NAME . VALUE) pair, as a \"Name: value\" line."
  (unless (consp field)
    (signal 'wrong-type-argument (list 'consp field)))
  (let ((name (car field))
        (value (cdr field)))
    (when (and name (symbolp name))
      (setq name (symbol-name name)))
    (when (numberp value)
      (setq value (number-to-string value)))
    (unless (stringp name)
      (signal 'wrong-type-argument (list 'stringp name)))
    (unless (stringp value)
      (signal 'wrong-type-argument (list 'stringp value)))
    (unless (string-match-p "\\`[!#$%&'*+.^_`|~0-9A-Za-z-]+\\'" name)
      (signal 'args-out-of-range (list name)))
    ;; A CR or LF would let the value smuggle in headers of its own.
    (when (string-match-p "[\r\n\0]" value)
      (signal 'args-out-of-range (list value)))
    (concat name ": " (aio-http--bytes value))))

(defun aio-http--has-header (lines name)
  "Return non-nil if header LINES set NAME (compared without case)."
  (and lines
       (let ((prefix (concat (downcase name) ":")))
         (cl-loop for line in lines thereis (string-prefix-p prefix (downcase line))))))

(defvar aio-http--user-agent-line nil
  "The last (AGENT . LINE): the header line of `aio-http-user-agent' AGENT.
Made once, not for every request.")

(defun aio-http--user-agent-line ()
  "Return the header line of `aio-http-user-agent'."
  (let ((agent aio-http-user-agent))
    (if (eq (car aio-http--user-agent-line) agent)
        (cdr aio-http--user-agent-line)
      (cdr (setq aio-http--user-agent-line
                 (cons agent (concat "User-Agent: " agent)))))))

(defun aio-http--header-lines (headers body)
  "Return HEADERS, an alist, as header lines for a request with BODY."
  (unless (listp headers)
    (signal 'wrong-type-argument (list 'listp headers)))
  (let ((lines (mapcar #'aio-http--header-line headers)))
    (when (and aio-http-user-agent (not (aio-http--has-header lines "User-Agent")))
      (setq lines (append lines (list (aio-http--user-agent-line)))))
    ;; curl would label any body as a form; say nothing unless told.
    (when (and body (not (aio-http--has-header lines "Content-Type")))
      (setq lines (append lines (list "Content-Type:"))))
    lines))

;;; Starting transfers

(defun aio-http--condition (payload url)
  "Return the error condition for failure PAYLOAD of a request of URL.
PAYLOAD is (KIND . MESSAGE) from the engine."
  (let ((symbol (or (cdr (assq (car-safe payload) aio-http--error-symbols))
                    'aio-http-transfer-error))
        (message (if (and (stringp (cdr-safe payload)) (not (equal (cdr payload) "")))
                     (decode-coding-string (cdr payload) 'utf-8)
                   ;; No message: Emacs could not make one (out of memory).
                   "Out of memory")))
    (list symbol message url)))

(defun aio-http--complete (promise url as status payload)
  "Settle PROMISE, of a transfer of URL, with its completion.
STATUS and PAYLOAD are the completion's; AS is as for `aio-http--start'."
  ;; Once cancelled, make nothing (no :as buffer).
  (unless (aio-promise-result promise)
    (aio-resolve
     promise
     (pcase status
       ('done (if as
                  (condition-case err
                      (aio--value-fn (aio-http--response payload as))
                    ;; A cancellation is no `error'.
                    ((error aio-cancel) (aio--error-fn err)))
                (aio--value-fn payload)))
       ('failed (aio--error-fn (aio-http--condition payload url)))
       ;; The loop was shut down under the transfer.
       (_ (aio--error-fn (list 'aio-http-cancelled url)))))))

(defun aio-http--handler (promise url as)
  "Return the completion handler of a transfer of URL for PROMISE.
AS is as for `aio-http--start'.  Arguments, not `let' bindings: a
closure keeps them even when a user's `defvar' made one of their names
special (see tools/lint-lets.el).  The work is `aio-http--complete's:
a closure copies its function's constants, so the smaller the cheaper."
  (lambda (status payload) (aio-http--complete promise url as status payload)))

(defun aio-http--cancel (id)
  "Forget transfer ID and abort it."
  (aio-native--stop id #'aio-native--http-cancel))

(defun aio-http--canceller (id)
  "Return the canceller of transfer ID, for a promise's release slot.
A (FUNCTION . ARGUMENT) pair: an eighth of a closure's garbage."
  (cons #'aio-http--cancel id))

(defun aio-http--start (url method headers body options &optional promise as)
  "Start a native transfer and return a promise of its response.
URL, METHOD, HEADERS (a list of header lines), BODY (unibyte or nil)
and OPTIONS (a plist) are as `aio-native--http-start' takes them.
The promise is PROMISE, or a new one if that is nil.  It resolves to
the engine's response vector, or with AS non-nil to the
`aio-http-response' made from it with that body form; it rejects with
an `aio-http-error'.  `aio-cancel' on it aborts the transfer."
  (let* ((aio--promise (or promise (aio-promise)))
         (id (aio-native--register (aio-http--handler aio--promise url as)
                                   (format "HTTP %s %s" method url)
                                   aio--promise)))
    (aio-native--starting id
      (aio-native--http-start id url method headers body options))
    (setf (aio-promise-release aio--promise) (aio-http--canceller id))
    aio--promise))

;;; Bodies

(defun aio-http--charset (headers)
  "Return the coding system named by the charset in HEADERS' Content-Type.
HEADERS is a lower-cased alist.  Return nil when there is none or
Emacs does not know it."
  (let ((type (cdr (assoc "content-type" headers))))
    (when (and type (string-match "charset=\"?\\([^\";[:space:]]+\\)" type))
      (let ((coding (intern (downcase (match-string 1 type)))))
        (and (coding-system-p coding) coding)))))

(defun aio-http--body (bytes response as)
  "Return body BYTES in the form AS asks for, using RESPONSE's charset."
  (pcase as
    ('string bytes)
    ('text (decode-coding-string
            bytes (or (aio-http--charset (aio-http-response-headers response)) 'utf-8)))
    ('buffer
     (let ((buffer (generate-new-buffer " *aio-http*")))
       (with-current-buffer buffer
         (insert (decode-coding-string
                  bytes (or (aio-http--charset (aio-http-response-headers response)) 'utf-8)))
         (goto-char (point-min))
         (set-buffer-modified-p nil))
       buffer))))

(defun aio-http--response (raw as)
  "Return an `aio-http-response' made from RAW, the engine's vector.
AS says which form the body takes."
  (let ((response (aio-http--response-of
                   (aio-http--raw-status raw) (aio-http--raw-version raw)
                   (aio-http--raw-headers raw) nil (aio-http--raw-url raw)
                   (aio-http--raw-redirects raw) (aio-http--raw-timings raw))))
    (setf (aio-http-response-body response)
          (aio-http--body (aio-http--raw-body raw) response as))
    response))

(defun aio-http--timings (timings)
  "Return TIMINGS, the engine's list of five seconds, as a plist."
  (list :namelookup (nth 0 timings) :connect (nth 1 timings)
        :appconnect (nth 2 timings) :starttransfer (nth 3 timings)
        :total (nth 4 timings)))

;;; The request

(defmacro aio-http--options (&rest pairs)
  "Return the plist of PAIRS, KEYWORD FORM ..., without those whose FORM is nil.
The FORMs run in order.  The module reads an absent option as nil: a
request passes its few options, not a list of every one."
  (let ((plist (make-symbol "plist"))
        (value (make-symbol "value")))
    `(let ((,plist nil) ,value)
       ,@(cl-loop for (key form) on pairs by #'cddr
                  collect `(when (setq ,value ,form)
                             (setq ,plist (cons ,value (cons ,key ,plist)))))
       (nreverse ,plist))))

(autoload 'aio-http--start-reporting "aio-http-stream")

(defun aio-http--file-argument (form keyword)
  "Return the local file name of FORM, (file PATH), given as KEYWORD.
Signal an error for any other FORM, or a remote file name."
  (unless (and (consp form) (eq (car form) 'file) (consp (cdr form))
               (stringp (cadr form)) (null (cddr form)))
    (signal 'wrong-type-argument (list '\(file\ PATH\) form keyword)))
  (let ((path (expand-file-name (cadr form))))
    (when (file-remote-p path)
      (error "`aio-http-request' cannot use remote file %s" path))
    path))

(defun aio-http--file-bytes (path)
  "Return PATH encoded as the file system wants it."
  (encode-coding-string path (or file-name-coding-system default-file-name-coding-system)))

(defun aio-http--ca-file (ca-file)
  "Return CA-FILE, a file of PEM certificates, as the module takes it.
Return nil for nil.  Signal `wrong-type-argument' unless CA-FILE is a
string, `file-missing' if it cannot be read, `file-error' if it is a
directory, and an error if it is remote."
  (when ca-file
    (unless (stringp ca-file)
      (signal 'wrong-type-argument (list 'stringp ca-file)))
    (let ((path (expand-file-name ca-file)))
      (when (file-remote-p path)
        (error "Certificates cannot be read from remote file %s" path))
      (unless (file-readable-p path)
        (signal 'file-missing (list "Reading certificates" "No such file or directory" path)))
      (when (file-directory-p path)
        (signal 'file-error (list "Reading certificates" "Is a directory" path)))
      (aio-http--file-bytes path))))

(defun aio-http-request (url &rest args)
  "Return a promise of the response from an HTTP request of URL.
The promise resolves to an `aio-http-response' whatever the status
code; it rejects with an `aio-http-error' when no response came:
`aio-http-resolve-error', `aio-http-connect-error', `aio-http-tls-error',
`aio-http-descriptor-error' (a connect error: Emacs has no file
descriptor left), `aio-http-timeout', `aio-http-too-many-redirects',
`aio-http-protocol-error' (only http and https are allowed, also for
redirects), `aio-http-too-large' (over :max-size, or more than memory
holds), `aio-http-malformed-response' (the reply is not HTTP that can
be read: garbage, a bad status line, a header too large, broken
chunking or compression), `aio-http-file-error' (a file of :body or
:as cannot be read or written; also a `file-error'),
`aio-http-status-error' (with :fail-on-error-status) or
`aio-http-transfer-error' (the connection broke...).  The error data is
\(MESSAGE URL).  `aio-cancel' on the promise aborts the transfer.

ARGS is a plist of keyword arguments:
:method           a string or symbol; default \"GET\".
:headers          an alist of (NAME . VALUE), strings (a symbol NAME
                  and a number VALUE are accepted too).  Content-Length
                  and Transfer-Encoding are dropped: the body's own
                  length is sent.  A second Host is refused.
:body             a string (multibyte text is sent as UTF-8), or
                  \(file PATH): the bytes of that file, read by the loop
                  thread, never made a Lisp string.
:timeout          seconds for the whole transfer, body included (also a
                  streamed one); default none.
:idle-timeout     seconds without a byte either way after which the
                  request fails with `aio-http-timeout'; a stream whose
                  reader does not read is not idle.  Default none.
:connect-timeout  seconds to connect; default curl's (300).
:follow-redirects non-nil (the default) to follow redirects.
:max-redirects    how many to follow at most; nil or absent: 20.
:verify-tls       nil to accept any certificate; default t.
:ca-file          a file of PEM certificates: the authorities trusted
                  instead of the system's (a private CA); default nil.
:max-size         the largest body accepted, in bytes, or nil for no
                  limit; default `aio-http-max-size' (256 MiB) for a
                  body held in memory, none for a stream or a file.
:proxy            a proxy URL, \"\" for none; default nil, which uses
                  the environment's (http_proxy, no_proxy...) as curl does.
:fail-on-error-status  non-nil to reject a final status of 400 or more
                  with `aio-http-status-error' (and keep no body).
:on-progress      a function called on Emacs's side, at most about ten
                  times a second and once at the end, with BYTES-DOWN,
                  TOTAL-DOWN, BYTES-UP and TOTAL-UP (a total is nil
                  while unknown).
:as               the form of the body: `string' (the default, unibyte
                  bytes), `text' (decoded with the charset in the
                  Content-Type, else UTF-8), `buffer' (a new buffer
                  with that text, which the caller must kill), `stream'
                  or (file PATH).  With `stream' the promise resolves as
                  soon as the final response's headers are in, and the
                  body is an `aio-stream' of unibyte chunks as they
                  arrive; a failure after the headers fails the stream;
                  closing it, or canceling its reader, aborts the
                  transfer.  The loop thread pauses the transfer while
                  the reader lags by more than `aio-http-stream-window'.
                  With (file PATH) the loop thread writes the body to a
                  temporary file beside PATH, renamed to PATH once
                  complete (a failed or cancelled transfer leaves
                  nothing), and the body is PATH.

\(fn URL &key METHOD HEADERS BODY TIMEOUT IDLE-TIMEOUT CONNECT-TIMEOUT FOLLOW-REDIRECTS MAX-REDIRECTS VERIFY-TLS MAX-SIZE PROXY FAIL-ON-ERROR-STATUS ON-PROGRESS AS)"
  (unless (stringp url)
    (signal 'wrong-type-argument (list 'stringp url)))
  (let ((tail args))
    (while tail
      (unless (memq (car tail) aio-http--keywords)
        (error "Unknown keyword for `aio-http-request': %S" (car tail)))
      (unless (cdr tail)
        (error "No value for keyword %S of `aio-http-request'" (car tail)))
      (setq tail (cddr tail))))
  (let* ((method (aio-http--method (or (plist-get args :method) "GET")))
         (promise (aio-promise))
         (body (plist-get args :body))
         (as (or (plist-get args :as) 'string))
         (reporting (or (memq as '(stream)) (consp as) (plist-get args :on-progress)
                        (and (eq as 'buffer) aio-http-buffer-through-file)))
         ;; nil leaves the module's default (its one home).
         (max-redirects (plist-get args :max-redirects))
         (max-size (if (or (plist-member args :max-size) (eq as 'stream) (consp as))
                       (plist-get args :max-size)
                     aio-http-max-size))
         (proxy (plist-get args :proxy))
         (progress (plist-get args :on-progress))
         (upload (and (consp body) (aio-http--file-argument body :body))))
    (unless (or (null body) (stringp body) upload)
      (signal 'wrong-type-argument (list 'stringp body)))
    (aio-native--check-timeout (plist-get args :timeout))
    (aio-native--check-timeout (plist-get args :idle-timeout))
    (aio-native--check-timeout (plist-get args :connect-timeout))
    (when max-redirects
      (unless (natnump max-redirects)
        (signal 'wrong-type-argument (list 'natnump max-redirects)))
      (unless (<= max-redirects 1000)
        (signal 'args-out-of-range (list max-redirects 0 1000))))
    (unless (or (null max-size) (and (fixnump max-size) (> max-size 0)))
      (signal 'wrong-type-argument (list 'natnump max-size)))
    (unless (or (null proxy) (stringp proxy))
      (signal 'wrong-type-argument (list 'stringp proxy)))
    (when progress (aio--check-function progress))
    (cond ((consp as)
           (setq as (list 'file (aio-http--file-argument as :as))))
          ((not (memq as '(string text buffer stream)))
           (signal 'args-out-of-range (list as '(string text buffer stream (file PATH)))))
          (reporting
           (when (eq as 'buffer)
             ;; The loop thread writes the body to a file, whence it goes
             ;; into the buffer: never a Lisp string.
             (setq as (list 'buffer (make-temp-file "aio-http-body-"))))))
    (let ((bytes (and (stringp body) (aio-http--bytes body)))
          (options (aio-http--options
                    :timeout (plist-get args :timeout)
                    :idle-timeout (plist-get args :idle-timeout)
                    :connect-timeout (plist-get args :connect-timeout)
                    :follow-redirects (if (plist-member args :follow-redirects)
                                          (plist-get args :follow-redirects)
                                        t)
                    :max-redirects max-redirects
                    :verify-tls (if (plist-member args :verify-tls)
                                    (plist-get args :verify-tls)
                                  t)
                    :ca-file (aio-http--ca-file (plist-get args :ca-file))
                    :max-size max-size
                    :proxy proxy
                    :fail-on-error-status (plist-get args :fail-on-error-status))))
      (when reporting
        (setq options
              (append (list :sink (cond ((eq as 'stream) 'stream)
                                        ((consp as)
                                         (list 'file (aio-http--file-bytes (cadr as)))))
                            :window aio-http-stream-window
                            :stream-waits (eq as 'stream)
                            :upload-file (and upload (aio-http--file-bytes upload))
                            :progress (and progress t))
                      options)))
      (when (and upload (not reporting))
        (setq options (append (list :upload-file (aio-http--file-bytes upload)) options)))
      (let ((lines (aio-http--header-lines (plist-get args :headers) (or bytes upload))))
        (if reporting
            (aio-http--start-reporting url method lines bytes options promise as progress)
          (aio-http--start url method lines bytes options promise as))))))

(provide 'aio-http)
;;; aio-http.el ends here
