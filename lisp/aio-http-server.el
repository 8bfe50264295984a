;;; aio-http-server.el --- A native HTTP server with async handlers  -*- lexical-binding: t -*-

;; SPDX-License-Identifier: GPL-3.0-or-later

;;; Commentary:

;; `aio-http-serve' starts an HTTP/1.1 server whose connections are
;; accepted and whose requests are parsed by the native loop's thread;
;; Lisp sees only complete requests, each handed to an async function
;; whose result is the response.  Requests that are malformed, too big
;; or too slow are answered by the loop thread and never reach Lisp.
;;
;; A streamed response body is pumped from its `aio-stream' by a task
;; of its own, which waits while more than `aio-http-server-window'
;; bytes it wrote have not reached the socket: a slow client slows the
;; producer down instead of filling Emacs's memory.

;;; Code:

(require 'cl-lib)
(require 'aio-promise)
(require 'aio-native)
(require 'aio-async)
(require 'aio-stream)
(require 'aio-dns)
(require 'aio-http)

(declare-function aio-native--server-start "aio-native-module" (id host port options))
(declare-function aio-native--server-stop "aio-native-module" (id))
(declare-function aio-native--server-respond "aio-native-module" (id req status headers body))
(declare-function aio-native--server-write "aio-native-module" (id req bytes))
(declare-function aio-native--server-end "aio-native-module" (id req))
(declare-function aio-native--server-abort "aio-native-module" (id req))

(defvar aio-http-server-window (* 256 1024)
  "Bytes of a streamed response written and not yet sent before the writer waits.")

;;;; Servers and requests

(cl-defstruct (aio-http-server (:constructor aio-http-server--make)
                               (:conc-name aio-http-server--)
                               (:copier nil))
  "A running `aio-http-serve' server.
ID is its native operation, HOST and PORT where it listens, HANDLER
the async function called with each request, EXCHANGES a table from
request number to the `aio-http-server--exchange' under way, STOPPED
non-nil once stopped."
  id host port handler (exchanges (make-hash-table :test #'eql)) (stopped nil))

(cl-defstruct (aio-http-server-request (:constructor aio-http-server--make-request)
                                       (:copier nil))
  "A request to an `aio-http-serve' server, as its handler receives it.
METHOD is the method, a string such as \"GET\".  PATH is the path of
the request's target, percent-decoded as UTF-8; QUERY the query's
fields, an alist of (NAME . VALUE) strings decoded the same way (+ as
a space), in order, VALUE \"\" for a field without \"=\".  HEADERS is
an alist of the header fields, (NAME . VALUE), NAME lower-cased, in
the order received; values are unibyte strings.  BODY is the body, a
unibyte string (\"\" for none), with any chunked framing undone.
TARGET is the target as sent, VERSION \"1.0\" or \"1.1\", REMOTE the
client's address."
  method path query headers body target version remote)

(cl-defstruct (aio-http-server--exchange (:constructor aio-http-server--make-exchange)
                                         (:copier nil))
  "A request under way: REQ its number, PROMISE its handler's result,
PUMP the task sending a streamed body, UNSENT the bytes of that body
written and not yet reported sent, ROOM a promise resolved when some
are, CLOSED non-nil once its connection is gone."
  req promise (pump nil) (unsent 0) (room nil) (closed nil))

(defun aio-http-server-port (server)
  "Return the port SERVER listens on."
  (aio-http-server--port (aio-http-server--check server)))

(defun aio-http-server-host (server)
  "Return the address SERVER listens on."
  (aio-http-server--host (aio-http-server--check server)))

(defun aio-http-server-live-p (server)
  "Return non-nil if SERVER has not been stopped."
  (not (aio-http-server--stopped (aio-http-server--check server))))

(defun aio-http-server--check (object)
  "Return OBJECT if it is an `aio-http-server', else signal."
  (unless (aio-http-server-p object)
    (signal 'wrong-type-argument (list 'aio-http-server-p object)))
  object)

(defun aio-http-server-request-header (request name)
  "Return the value of header NAME in REQUEST, or nil.
NAME is compared without regard to case; the first field of that name
is taken."
  (cdr (assoc-string name (aio-http-server-request-headers request) t)))

;;;; Decoding requests

(defun aio-http-server--unescape (string &optional plus)
  "Return STRING with %XX escapes decoded as UTF-8; PLUS: + is a space."
  (let ((bytes (if plus (subst-char-in-string ?+ ?\s string) string)))
    (decode-coding-string
     (if (string-search "%" bytes)
         (replace-regexp-in-string
          "%[0-9A-Fa-f][0-9A-Fa-f]"
          (lambda (escape) (unibyte-string (string-to-number (substring escape 1) 16)))
          bytes t t)
       bytes)
     'utf-8 t)))

(defun aio-http-server--query (query)
  "Return QUERY, the text after \"?\", as an alist of decoded fields."
  (mapcar (lambda (field)
            (let ((equal (string-search "=" field)))
              (if equal
                  (cons (aio-http-server--unescape (substring field 0 equal) t)
                        (aio-http-server--unescape (substring field (1+ equal)) t))
                (cons (aio-http-server--unescape field t) ""))))
          (split-string query "&" t)))

(defun aio-http-server--request (data)
  "Return the request record of DATA, the loop's request vector."
  (let* ((target (aref data 2))
         (question (string-search "?" target))
         (fields (aref data 4))
         (headers nil))
    (let ((i (- (length fields) 2)))
      (while (>= i 0)
        (push (cons (downcase (aref fields i)) (aref fields (1+ i))) headers)
        (setq i (- i 2))))
    (aio-http-server--make-request
     :method (aref data 1)
     :path (aio-http-server--unescape (if question (substring target 0 question) target))
     :query (and question (aio-http-server--query (substring target (1+ question))))
     :headers headers
     :body (aref data 5)
     :target target
     :version (aref data 3)
     :remote (aref data 6))))

;;;; Answering

(defun aio-http-server--header-field (field)
  "Return FIELD, a (NAME . VALUE) pair, as strings for the loop."
  (unless (consp field)
    (signal 'wrong-type-argument (list 'consp field)))
  (let ((name (car field))
        (value (cdr field)))
    (cons (aio-http--bytes (if (symbolp name) (symbol-name name) name))
          (aio-http--bytes (if (numberp value) (number-to-string value) value)))))

(defun aio-http-server--error-response (status message)
  "Return a plain-text response with STATUS and MESSAGE."
  (list status '(("Content-Type" . "text/plain; charset=utf-8")) (concat message "\n")))

(defun aio-http-server--respond (server exchange response)
  "Send RESPONSE, a handler's result, for EXCHANGE of SERVER."
  (let ((id (aio-http-server--id server))
        (req (aio-http-server--exchange-req exchange)))
    (pcase response
      ((pred stringp)
       (aio-native--server-respond id req 200 '(("Content-Type" . "text/plain; charset=utf-8"))
                                   (aio-http--bytes response)))
      (`(,(and status (pred integerp)) ,headers ,body)
       (let ((fields (mapcar #'aio-http-server--header-field headers)))
         (cond ((or (null body) (stringp body))
                (aio-native--server-respond id req status fields
                                            (and body (aio-http--bytes body))))
               ((and (eq (car-safe body) 'file) (stringp (cadr body)))
                (aio-native--server-respond
                 id req status fields
                 (list 'file (encode-coding-string
                              (expand-file-name (cadr body))
                              (or file-name-coding-system default-file-name-coding-system)))))
               ((aio-stream-p body)
                (aio-native--server-respond id req status fields 'stream)
                (setf (aio-http-server--exchange-pump exchange)
                      (aio-http-server--pump server exchange body)))
               (t (signal 'wrong-type-argument (list 'aio-http-server-body body))))))
      (_ (signal 'wrong-type-argument (list 'aio-http-server-response response))))))

(defun aio-http-server--answer (server exchange value-function)
  "Answer EXCHANGE of SERVER with its handler's outcome, VALUE-FUNCTION."
  (unless (or (aio-http-server--stopped server) (aio-http-server--exchange-closed exchange))
    (let ((response (condition-case err
                        (funcall value-function)
                      (aio-cancel
                       (aio-http-server--error-response 503 "Service Unavailable"))
                      (error
                       (message "aio-http-server: error in handler: %s" (error-message-string err))
                       (aio-http-server--error-response 500 "Internal Server Error")))))
      (condition-case err
          (aio-http-server--respond server exchange response)
        (error
         (message "aio-http-server: bad response %S: %s" response (error-message-string err))
         (aio-http-server--respond server exchange
                                   (aio-http-server--error-response 500 "Internal Server Error"))))
      (unless (aio-http-server--exchange-pump exchange)
        (remhash (aio-http-server--exchange-req exchange) (aio-http-server--exchanges server))))))

(defconst aio-http-server--chunk-bytes (* 64 1024)
  "Bytes of a streamed body gathered into one write, when they are there.")

(defun aio-http-server--gather (stream first)
  "Return FIRST and the values of STREAM there now, as one string of bytes.
Up to `aio-http-server--chunk-bytes'; the end of STREAM, or a value not
there yet, stops the gathering."
  (let ((pieces (list (aio-http-server--chunk first)))
        (size 0)
        (more nil))
    (setq size (length (car pieces)))
    (while (and (< size aio-http-server--chunk-bytes)
                (not (memq (setq more (aio--stream-pull-now stream))
                           '(aio--stream-none aio--stream-eos))))
      (push (aio-http-server--chunk more) pieces)
      (setq size (+ size (length (car pieces)))))
    (if (cdr pieces) (apply #'concat (nreverse pieces)) (car pieces))))

(defun aio-http-server--chunk (value)
  "Return VALUE, a value of a streamed body, as bytes."
  (aio-http--bytes (if (stringp value) value (format "%s" value))))

(aio-defun aio-http-server--pump (server exchange stream)
  "Send STREAM as the body of EXCHANGE of SERVER, then end it.
What the stream has at once goes out in one write."
  (let ((id (aio-http-server--id server))
        (req (aio-http-server--exchange-req exchange))
        (next nil))
    (condition-case err
        (progn
          (while (not (eq (setq next (aio-await (aio--stream-pull stream))) 'aio--stream-eos))
            (let ((bytes (aio-http-server--gather stream next)))
              (unless (equal bytes "")
                (aio-native--server-write id req bytes)
                (setf (aio-http-server--exchange-unsent exchange)
                      (+ (aio-http-server--exchange-unsent exchange) (length bytes)))
                (while (> (aio-http-server--exchange-unsent exchange) aio-http-server-window)
                  (setf (aio-http-server--exchange-room exchange) (aio-promise))
                  (aio-await (aio-http-server--exchange-room exchange))))))
          (aio-native--server-end id req))
      ((error aio-cancel)
       (aio-stream-close stream)
       (unless (eq (car err) 'aio-cancel)
         ;; The head went out: all the client can be told is that the
         ;; body broke off.
         (message "aio-http-server: streamed body failed: %s" (error-message-string err)))
       (aio-native--server-abort id req)
       (when (eq (car err) 'aio-cancel)
         (signal (car err) (cdr err)))))
    (remhash req (aio-http-server--exchanges server))))

;;;; Events

(defun aio-http-server--handle (server-and-data)
  "Call the handler of a server with a request; SERVER-AND-DATA is (SERVER . DATA)."
  (let* ((server (car server-and-data))
         (data (cdr server-and-data))
         (exchange (aio-http-server--make-exchange :req (aref data 0))))
    (unless (aio-http-server--stopped server)
      (puthash (aref data 0) exchange (aio-http-server--exchanges server))
      (let ((result (condition-case err
                        (funcall (aio-http-server--handler server) (aio-http-server--request data))
                      (error (let ((promise (aio-promise)))
                               (aio-resolve promise (aio--error-fn err))
                               promise)))))
        (if (aio-promise-p result)
            (progn (setf (aio-http-server--exchange-promise exchange) result)
                   (aio--listen result (apply-partially #'aio-http-server--answer server exchange)))
          (aio-http-server--answer server exchange (aio--value-fn result)))))))

(defun aio-http-server--sent (server data)
  "Note that bytes of a streamed body of SERVER went out; DATA is [REQ BYTES]."
  (let ((exchange (gethash (aref data 0) (aio-http-server--exchanges server))))
    (when exchange
      (setf (aio-http-server--exchange-unsent exchange)
            (- (aio-http-server--exchange-unsent exchange) (aref data 1)))
      (let ((room (aio-http-server--exchange-room exchange)))
        (when (and room (<= (aio-http-server--exchange-unsent exchange) (/ aio-http-server-window 2)))
          (setf (aio-http-server--exchange-room exchange) nil)
          (aio-resolve room #'ignore))))))

(defun aio-http-server--abandon (exchange)
  "Stop EXCHANGE: cancel its handler and its pump."
  (setf (aio-http-server--exchange-closed exchange) t)
  (dolist (promise (list (aio-http-server--exchange-promise exchange)
                         (aio-http-server--exchange-pump exchange)))
    (when promise (aio-cancel promise))))

(defun aio-http-server--closed (server req)
  "Forget request REQ of SERVER, whose connection is gone."
  (let ((exchange (gethash req (aio-http-server--exchanges server))))
    (when exchange
      (remhash req (aio-http-server--exchanges server))
      (aio-http-server--abandon exchange))))

(defun aio-http-server--on-event (server status payload)
  "Take STATUS and PAYLOAD, news of SERVER."
  (pcase status
    ('event (pcase (car payload)
         ('request
          ;; From the ready queue, not from the drain of completions.
          (aio--enqueue #'aio-http-server--handle (cons server (cdr payload)))
          (aio--schedule))
         ('sent (aio-http-server--sent server (cdr payload)))
         ('closed (aio-http-server--closed server (cdr payload)))))
    (_ (aio-http-server--stopped-now server))))

(defun aio-http-server--stopped-now (server)
  "Mark SERVER stopped and stop what it was doing."
  (unless (aio-http-server--stopped server)
    (setf (aio-http-server--stopped server) t)
    (let ((exchanges nil))
      (maphash (lambda (_ exchange) (push exchange exchanges)) (aio-http-server--exchanges server))
      (clrhash (aio-http-server--exchanges server))
      (mapc #'aio-http-server--abandon exchanges))))

;;;; Starting and stopping

(defun aio-http-server--address (host)
  "Return HOST as the address to bind: a numeric IP address string."
  (cond ((null host) "127.0.0.1")
        ((equal host "localhost") "127.0.0.1")
        ((not (stringp host)) (signal 'wrong-type-argument (list 'stringp host)))
        ((aio-dns--address-p host) host)
        (t (signal 'args-out-of-range (list host "a numeric IP address")))))

(cl-defun aio-http-serve (port handler &key host max-header-bytes max-body-bytes
                               request-timeout keep-alive-timeout max-connections)
  "Serve HTTP on PORT with HANDLER; return an `aio-http-server'.
HANDLER is an async function (or a plain one) called with each
request, an `aio-http-server-request' (see its accessors
`aio-http-server-request-method', `-path', `-query', `-headers',
`-body'), whose result is the response:

- a string: sent as 200 with Content-Type text/plain; charset=utf-8;
- (STATUS HEADERS BODY): STATUS an integer from 200 to 599, HEADERS
  an alist of (NAME . VALUE), BODY a string (multibyte text is sent
  as UTF-8), nil, (file PATH) for a file the loop thread reads and
  sends, or an `aio-stream' of strings sent as they come (chunked).

Content-Length, Transfer-Encoding and Connection are the server's to
set.  A handler that signals gives a 500 (the error is shown with
`message'); one whose connection breaks is canceled.

PORT 0 picks a free port: `aio-http-server-port' says which.  HOST is
the address to listen on, an IP address string; default 127.0.0.1,
so that only this machine can connect (\"0.0.0.0\" or \"::\" for
all).  The loop thread accepts and reads requests and answers itself,
without calling HANDLER, those that are malformed (400), have header
fields over MAX-HEADER-BYTES (default 16384; 431) or a body over
MAX-BODY-BYTES (default 8 MiB; 413), do not arrive whole within
REQUEST-TIMEOUT seconds (default 30; 408), or come over
MAX-CONNECTIONS open at once (default 256; 503).  An idle keep-alive
connection is closed after KEEP-ALIVE-TIMEOUT seconds (default 5), and
one whose client takes none of its response for REQUEST-TIMEOUT
seconds is dropped.
Every descriptor is close-on-exec.  `aio-http-server-stop' stops the
server.  A port that cannot be had signals `file-error'.

\(fn PORT HANDLER &key HOST MAX-HEADER-BYTES MAX-BODY-BYTES REQUEST-TIMEOUT KEEP-ALIVE-TIMEOUT MAX-CONNECTIONS)"
  (unless (natnump port)
    (signal 'wrong-type-argument (list 'natnump port)))
  (unless (<= port 65535)
    (signal 'args-out-of-range (list port 0 65535)))
  (aio--check-function handler)
  (aio-http-server--start port handler (aio-http-server--address host)
                          (list :max-header-bytes max-header-bytes
                                :max-body-bytes max-body-bytes
                                :request-timeout request-timeout
                                :keep-alive-timeout keep-alive-timeout
                                :max-connections max-connections)))

(defun aio-http-server--start (port handler host options)
  "Start serving for `aio-http-serve' on HOST and PORT with HANDLER, OPTIONS."
  (let* ((server (aio-http-server--make :host host :handler handler))
         (id (aio-native--register (apply-partially #'aio-http-server--on-event server)
                                   (format "HTTP server on %s:%s" host port))))
    (setf (aio-http-server--id server) id)
    (aio-native--starting id
      (setf (aio-http-server--port server) (aio-native--server-start id host port options)))
    (when (zerop port)
      ;; For `aio-list-tasks': the port it got, not 0.
      (aio-native--describe id (format "HTTP server on %s:%s" host (aio-http-server--port server))))
    server))

(defun aio-http-server-stop (server)
  "Stop SERVER: close its socket and connections, cancel its handlers.
Stopping a stopped server does nothing."
  (aio-http-server--check server)
  (unless (aio-http-server--stopped server)
    (aio-http-server--stopped-now server)
    (aio-native--stop (aio-http-server--id server) #'aio-native--server-stop))
  nil)

(provide 'aio-http-server)
;;; aio-http-server.el ends here
