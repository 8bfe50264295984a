;;; aio-tcp.el --- TCP connections and servers as streams  -*- lexical-binding: t -*-

;; SPDX-License-Identifier: GPL-3.0-or-later

;;; Commentary:

;; TCP on Emacs's own network processes (`make-network-process' with
;; :nowait), so that the connections show in `list-processes'.  A host
;; name is looked up with `aio-dns-lookup' first: Emacs never waits for
;; DNS.
;;
;; TLS connections are not Emacs processes: Emacs 28 cannot make a
;; TLS connection that is both non-blocking and verified.  Given
;; :tls-parameters with :nowait, it
;; dies of SIGPIPE when the connection is refused or reset (GnuTLS
;; writes without MSG_NOSIGNAL), calls no sentinel when it fails, and
;; accepted a self-signed certificate with :verify-error t in six
;; runs of six here (it refused it only with `gnutls-log-level' 2,
;; which slows the handshake: the check depends on timing);
;; `gnutls-negotiate' checks, but holds Emacs until the peer answers,
;; forever if it never does.  So with :tls, `aio-tcp-connect' has the
;; module make the connection (aio-tcp-tls.el): libcurl connects and
;; verifies it on the loop thread, as for `aio-http-request'.
;;
;; A connection's input is an `aio-stream' of unibyte strings, bounded
;; by `aio-tcp-max-bytes': when its reader falls behind, Emacs stops
;; reading the socket (`stop-process'), so that the peer's writes
;; wait, and starts again once the reader has caught up.  Writes are
;; queued and sent in order, each a promise resolved once its bytes
;; are handed to the system.
;;
;; `aio-tcp-serve' accepts connections and calls an async function with
;; each; when it ends, the connection is closed.

;;; Code:

(require 'cl-lib)
(require 'aio-promise)
(require 'aio-async)
(require 'aio-stream)
(require 'aio-native)
(require 'aio-dns)
(require 'aio-time)

(declare-function aio-native--strerror "aio-native-module" (errno))
(declare-function aio-native-load-module "aio-native-build" ())
(declare-function aio-tcp-tls--open "aio-tcp-tls" (address host port options))
(declare-function aio-tcp-tls--options "aio-tcp-tls" (verify ca-file))
(declare-function aio-tcp-tls--write "aio-tcp-tls" (connection data))
(declare-function aio-tcp-tls--close "aio-tcp-tls" (connection))
(declare-function aio-tcp-tls--resume "aio-tcp-tls" (connection))

(define-error 'aio-tcp-error "TCP connection failed" 'file-error)
(define-error 'aio-tcp-tls-error "TLS connection failed" 'aio-tcp-error)

(defvar aio-tcp-max-bytes (* 256 1024)
  "Bytes a connection's input stream holds before Emacs stops reading.")

(defconst aio-tcp--slice (* 64 1024)
  "Bytes handed to `process-send-string' at once.")

(cl-defstruct (aio-tcp-connection (:constructor aio-tcp--make-connection)
                                  (:conc-name aio-tcp--)
                                  (:copier nil))
  "A TCP connection of `aio-tcp-connect' or `aio-tcp-serve'.
PROCESS is its network process, INPUT the stream of what it receives,
HOST and PORT the peer.  CONNECTING is the promise of the connection
while it is being made.  INBOX holds the writes still to send, (DATA .
PROMISE), SENDER is the task sending them, EOF non-nil once the end of
output was queued, STOPPED non-nil while Emacs does not read the
socket, TASK the handler of a served connection.

A TLS connection (aio-tcp-tls.el) has TLS non-nil and no PROCESS:
NATIVE is its operation id while open, HELD the bytes received and not
yet acknowledged to the loop thread."
  process input host port (connecting nil)
  (inbox nil) (sender nil) (eof nil) (stopped nil) (task nil)
  (tls nil) (native nil) (held 0))

(defun aio-tcp--check (object)
  "Return OBJECT if it is an `aio-tcp-connection', else signal."
  (unless (aio-tcp-connection-p object)
    (signal 'wrong-type-argument (list 'aio-tcp-connection-p object)))
  object)

(defun aio-tcp-input (connection)
  "Return the stream of the bytes CONNECTION receives, unibyte strings.
It ends when the peer closes its side, or fails with `aio-tcp-error'
if the connection breaks.  Closing it closes CONNECTION."
  (aio-tcp--input (aio-tcp--check connection)))

(defun aio-tcp-process (connection)
  "Return the Emacs network process of CONNECTION.
A TLS connection has none: the module makes it; the value is nil."
  (aio-tcp--process (aio-tcp--check connection)))

(defun aio-tcp-tls-p (connection)
  "Return non-nil if CONNECTION is a TLS connection."
  (aio-tcp--tls (aio-tcp--check connection)))

(defun aio-tcp-live-p (connection)
  "Return non-nil if CONNECTION is open."
  (aio-tcp--check connection)
  (if (aio-tcp--tls connection)
      (and (aio-tcp--native connection) t)
    (process-live-p (aio-tcp--process connection))))

;;;; Input and flow control

(defun aio-tcp--filter (process bytes)
  "Put BYTES, received by PROCESS, into its connection's input stream."
  (let ((connection (process-get process 'aio-tcp)))
    (when connection
      (let ((stream (aio-tcp--input connection)))
        (when (and (not (aio--stream-done stream))
                   (not (aio-stream-push stream bytes))
                   (not (aio-tcp--stopped connection)))
          (setf (aio-tcp--stopped connection) t)
          (stop-process process))))))

(defun aio-tcp--room (connection _stream)
  "Read CONNECTION's socket again, from the ready queue: its reader caught up."
  (aio--enqueue #'aio-tcp--resume connection)
  (aio--schedule))

(defun aio-tcp--resume (connection)
  "Read CONNECTION's socket again if Emacs stopped reading it."
  (when (aio-tcp--tls connection)
    (aio-tcp-tls--resume connection))
  (when (aio-tcp--stopped connection)
    (setf (aio-tcp--stopped connection) nil)
    (let ((process (aio-tcp--process connection)))
      (when (process-live-p process)
        (continue-process process)))))

(defun aio-tcp--message (event)
  "Return what went wrong, from EVENT, a sentinel's event string."
  (if (string-match "failed with code \\([0-9]+\\)" event)
      (let ((code (string-to-number (match-string 1 event))))
        (condition-case nil
            (progn (aio-native-load-module)
                   (aio-native--strerror code))
          (error (format "System error %d" code))))
    (string-trim event)))

(defun aio-tcp--fail-writes (connection condition)
  "Reject the writes CONNECTION still had to send with CONDITION."
  (let ((inbox (aio-tcp--inbox connection)))
    (setf (aio-tcp--inbox connection) nil)
    (dolist (entry inbox)
      (aio-resolve (cdr entry) (aio--error-fn condition)))))

(defun aio-tcp--error (connection message)
  "Return the condition (aio-tcp-error MESSAGE HOST PORT) of CONNECTION."
  (list 'aio-tcp-error message (aio-tcp--host connection) (aio-tcp--port connection)))

(defun aio-tcp--sentinel (process event)
  "React to EVENT, a change of state of PROCESS, a connection's process."
  (let ((connection (process-get process 'aio-tcp))
        (status (process-status process)))
    (when connection
      (let ((connecting (aio-tcp--connecting connection)))
        (cond
         ((eq status 'open)
          (when connecting
            (setf (aio-tcp--connecting connection) nil)
            (aio-tcp--hand-over connecting connection)))
         ((memq status '(closed failed exit signal))
          (let ((condition (and (not (string-prefix-p "connection broken by remote peer" event))
                                (not (string-prefix-p "deleted" event))
                                (aio-tcp--error connection (aio-tcp--message event)))))
            (setf (aio-tcp--connecting connection) nil)
            (aio-tcp--fail-writes connection (or condition
                                                 (aio-tcp--error connection "Connection closed")))
            (aio--stream-finish (aio-tcp--input connection) (or condition t))
            ;; Gone from `list-processes' too; but later: `delete-process'
            ;; runs the sentinels of other processes that changed state,
            ;; and a thousand connections closing at once would nest a
            ;; thousand deep.
            (aio--enqueue #'delete-process process)
            (aio--schedule)
            (when connecting
              (aio-resolve connecting
                           (aio--error-fn (or condition
                                              (aio-tcp--error connection "Connection closed"))))))))))))

;;;; Output

(defun aio-tcp--send (connection data)
  "Hand DATA, bytes or `eof', to CONNECTION's process now.
A process Emacs stopped to hold its input back must run to be written."
  (let ((process (aio-tcp--process connection)))
    (when (aio-tcp--stopped connection)
      (continue-process process))
    (unwind-protect
        (if (eq data 'eof)
            (process-send-eof process)
          (process-send-string process data))
      (when (and (aio-tcp--stopped connection) (process-live-p process))
        (stop-process process)))))

(aio-defun aio-tcp--send-all (connection)
  "Send the writes queued for CONNECTION, in order."
  (let (entry)
    (while (setq entry (pop (aio-tcp--inbox connection)))
      (let ((data (car entry))
            (promise (cdr entry))
            (start 0))
        (condition-case err
            (progn
              (if (eq data 'eof)
                  (aio-tcp--send connection 'eof)
                (while (and (< start (length data)) (not (aio-promise-result promise)))
                  (let ((end (min (length data) (+ start aio-tcp--slice))))
                    (aio-tcp--send connection (substring data start end))
                    (setq start end)
                    ;; Let others run between slices of a long write.
                    (when (< start (length data))
                      (aio-await (aio-sleep 0))))))
              (aio-resolve promise #'ignore))
          (error (aio-resolve promise (aio--error-fn err))))))))

(defun aio-tcp--queue (connection data)
  "Queue DATA, bytes or `eof', for CONNECTION; return its promise."
  (let ((promise (aio-promise))
        (process (aio-tcp--process connection)))
    (cond
     ((not (process-live-p process))
      (aio-resolve promise (aio--error-fn (aio-tcp--error connection "Connection closed"))))
     ((aio-tcp--eof connection)
      (aio-resolve promise (aio--error-fn (aio-tcp--error connection "Output already closed"))))
     (t
      (when (eq data 'eof)
        (setf (aio-tcp--eof connection) t))
      (setf (aio-tcp--inbox connection)
            (nconc (aio-tcp--inbox connection) (list (cons data promise))))
      (let ((sender (aio-tcp--sender connection)))
        (unless (and sender (null (aio-promise-result sender)))
          (setf (aio-tcp--sender connection) (aio-tcp--send-all connection))))))
    promise))

(defun aio-tcp-write (connection data)
  "Write DATA, a string, to CONNECTION; return a promise resolved once sent.
Multibyte text is sent as UTF-8.  Writes go out in the order they were
asked for; the promise resolves once DATA is handed to the system, and
is rejected with `aio-tcp-error' if the connection is closed first.
Canceling it sends nothing more of DATA.

DATA goes out in slices, others running between them; but a slice
waits inside Emacs's `process-send-string' while the system's buffers
for the connection are full: a peer that stops reading holds Emacs
once a few megabytes are on their way (\[keyboard-quit] interrupts).
Emacs offers no write that does not wait.  A TLS connection's writes
are the loop thread's: they never hold Emacs.  DATA is then copied
to the loop thread at once, so a peer that does not read holds what
is not yet sent in memory."
  (aio-tcp--check connection)
  (unless (stringp data)
    (signal 'wrong-type-argument (list 'stringp data)))
  (let ((bytes (if (multibyte-string-p data) (encode-coding-string data 'utf-8 t) data)))
    (if (aio-tcp--tls connection)
        (aio-tcp-tls--write connection bytes)
      (aio-tcp--queue connection bytes))))

(defun aio-tcp-close-write (connection)
  "Close CONNECTION's output after the writes queued, keeping its input.
The peer reads the end of what was sent; what it sends back still
arrives.  Return a promise resolved once done.  A TLS connection
cannot close its output alone: the promise is rejected with
`aio-tcp-error'."
  (aio-tcp--check connection)
  (if (aio-tcp--tls connection)
      (aio-tcp-tls--write connection 'eof)
    (aio-tcp--queue connection 'eof)))

(defun aio-tcp-close (connection)
  "Close CONNECTION now: writes not yet sent are dropped, input ends."
  (aio-tcp--check connection)
  (if (aio-tcp--tls connection)
      (aio-tcp-tls--close connection)
    (aio-tcp--close-process connection))
  nil)

(defun aio-tcp--close-process (connection)
  "Close CONNECTION, a connection of an Emacs process."
  (let ((process (aio-tcp--process connection)))
    (when (process-live-p process)
      (delete-process process))
    ;; The sentinel has run: but a process never opened has none.
    (aio-tcp--fail-writes connection (aio-tcp--error connection "Connection closed"))
    (aio--stream-finish (aio-tcp--input connection) t)))

(defun aio-tcp--input-closed (connection _stream)
  "Close CONNECTION: its reader closed its input stream."
  (if (aio-tcp--tls connection)
      (aio-tcp-tls--close connection)
    (let ((process (aio-tcp--process connection)))
      (when (process-live-p process)
        (delete-process process)))))

(defun aio-tcp--stream (connection)
  "Return a new input stream for CONNECTION."
  (let ((stream (aio-stream nil :max-bytes aio-tcp-max-bytes
                            :on-room (apply-partially #'aio-tcp--room connection)
                            :on-close (apply-partially #'aio-tcp--input-closed connection))))
    (setf (aio--stream-name stream)
          (format "TCP %s:%s" (aio-tcp--host connection) (aio-tcp--port connection)))
    stream))

;;;; Connecting

(defun aio-tcp--open (address host port)
  "Start connecting to ADDRESS, PORT; return a promise of the connection.
HOST is the name asked for, for errors."
  (let* ((promise (aio-promise))
         (connection (aio-tcp--make-connection :host host :port port :connecting promise))
         (process (make-network-process
                   :name (format "aio-tcp %s:%s" host port) :buffer nil
                   :host address :service port :nowait t :noquery t :coding 'binary
                   :filter #'aio-tcp--filter :sentinel #'aio-tcp--sentinel)))
    (process-put process 'aio-tcp connection)
    (setf (aio-tcp--process connection) process
          (aio-tcp--input connection) (aio-tcp--stream connection)
          (aio-promise-release promise) (apply-partially #'aio-tcp--abandon connection))
    promise))

(defun aio-tcp--hand-over (promise connection)
  "Resolve PROMISE with CONNECTION, closed if whoever waits is gone.
A task canceled after PROMISE resolved, but before it took CONNECTION,
would otherwise leave CONNECTION open with nobody to close it."
  (if (aio-promise-result promise)
      (aio-tcp-close connection)
    (aio--grant promise connection (apply-partially #'aio-tcp-close connection))))

(defun aio-tcp--handing-over (promise)
  "Return a promise of the connection PROMISE resolves to.
It is handed over as `aio-tcp--hand-over' does.  Canceling it
cancels PROMISE."
  (let ((outer (aio-promise)))
    (setf (aio-promise-release outer) (apply-partially #'aio-cancel promise))
    (aio--listen promise (apply-partially #'aio-tcp--handed outer))
    outer))

(defun aio-tcp--handed (promise value-function)
  "Settle PROMISE with what VALUE-FUNCTION gives; hand a connection over."
  (let ((connection (condition-case nil
                        (funcall value-function)
                      ((error aio-cancel) nil))))
    (if (aio-tcp-connection-p connection)
        (aio-tcp--hand-over promise connection)
      (aio-resolve promise value-function))))

(defun aio-tcp--abandon (connection)
  "Give up CONNECTION while it is being made."
  (setf (aio-tcp--connecting connection) nil)
  (let ((process (aio-tcp--process connection)))
    (when (process-live-p process)
      (delete-process process))))

(aio-defun aio-tcp--connect (host port tls)
  "Connect to HOST and PORT, each of HOST's addresses in turn.
TLS is nil, or the options of a TLS connection (see aio-tcp-tls.el).
See `aio-tcp-connect'."
  (let ((addresses (if (aio-dns--address-p host) (list host) (aio-await (aio-dns-lookup host))))
        (connection nil)
        (failure nil))
    (while (and addresses (not connection))
      (condition-case err
          (setq connection (aio-await (if tls
                                          (aio-tcp-tls--open (pop addresses) host port tls)
                                        (aio-tcp--open (pop addresses) host port))))
        ;; A certificate refused is refused at every address.
        (aio-tcp-tls-error (signal (car err) (cdr err)))
        (file-error (setq failure err))))
    (or connection (signal (car failure) (cdr failure)))))

(cl-defun aio-tcp-connect (host port &key timeout tls (verify-tls t) ca-file)
  "Connect to HOST and PORT; return a promise of an `aio-tcp-connection'.
HOST is a name or an address; a name is looked up with
`aio-dns-lookup', so that Emacs never waits for DNS, and its addresses
are tried in turn.  Without TLS, the connection is an Emacs network
process made with `make-network-process' and :nowait.  With TIMEOUT,
seconds, a connection not made by then is given up and the promise
rejected with `aio-timeout'.

With TLS non-nil, the connection is TLS, made by the module on its
loop thread (libcurl, as for `aio-http-request'), not an Emacs
process: the peer's certificate must be valid for HOST and signed by
an authority the system trusts, or by one in CA-FILE, a file of PEM
certificates, when given; VERIFY-TLS nil accepts any certificate.  A
certificate refused rejects the promise with `aio-tcp-tls-error', an
`aio-tcp-error'.  Such a connection is read, written and closed as the
others, except that it cannot close its output alone.  Its input ends
when the peer closes, whether the peer ends the TLS session first or
just closes the connection (as many servers do): a protocol that marks
the end of its data only by closing cannot tell a cut connection.

The promise is rejected with `aio-dns-error' when HOST has no address,
and with (aio-tcp-error MESSAGE HOST PORT) when no connection could be
made; `aio-tcp-error' is a `file-error'.  Read from `aio-tcp-input',
write with `aio-tcp-write', end with `aio-tcp-close-write' and
`aio-tcp-close'.

\(fn HOST PORT &key TIMEOUT TLS (VERIFY-TLS t) CA-FILE)"
  (unless (stringp host)
    (signal 'wrong-type-argument (list 'stringp host)))
  (unless (integerp port)
    (signal 'wrong-type-argument (list 'integerp port)))
  (unless (< 0 port 65536)
    (signal 'args-out-of-range (list port 1 65535)))
  (unless (or (null ca-file) (stringp ca-file))
    (signal 'wrong-type-argument (list 'stringp ca-file)))
  (when (and ca-file (not tls))
    (signal 'args-out-of-range (list :ca-file "only with :tls")))
  ;; Before anything starts: a refusal later would leave it behind.
  (aio-native--check-timeout timeout)
  (let ((connecting (aio-tcp--handing-over
                     (aio-tcp--connect host port
                                       (and tls
                                            (progn (require 'aio-tcp-tls)
                                                   (aio-tcp-tls--options (and verify-tls t)
                                                                         ca-file)))))))
    (if timeout
        (aio-tcp--handing-over (aio-tcp--with-timeout connecting timeout))
      connecting)))

(aio-defun aio-tcp--with-timeout (promise seconds)
  "Return PROMISE's value, or cancel it and signal `aio-timeout' after SECONDS."
  (aio-with-timeout seconds
    (aio-await promise)))

;;;; Serving

(cl-defstruct (aio-tcp-server (:constructor aio-tcp--make-server)
                              (:conc-name aio-tcp-server--)
                              (:copier nil))
  "A server of `aio-tcp-serve': PROCESS listens, HANDLER is called with
each connection, CONNECTIONS holds those open, STOPPED is non-nil once
stopped."
  process handler (connections (make-hash-table :test #'eq)) (stopped nil))

(defun aio-tcp-server-port (server)
  "Return the port SERVER, an `aio-tcp-server', listens on."
  (unless (aio-tcp-server-p server)
    (signal 'wrong-type-argument (list 'aio-tcp-server-p server)))
  (process-contact (aio-tcp-server--process server) :service))

(defun aio-tcp--handled (server connection value-function)
  "Close CONNECTION of SERVER: its handler ended with VALUE-FUNCTION."
  (remhash connection (aio-tcp-server--connections server))
  (condition-case err
      (funcall value-function)
    (aio-cancel nil)
    (error (message "aio-tcp-serve: error in handler: %s" (error-message-string err))))
  (aio-tcp-close connection))

(defun aio-tcp--accepted (server _listener process _message)
  "Take PROCESS, a connection SERVER accepted, and call SERVER's handler."
  (let ((connection (aio-tcp--make-connection
                     :process process
                     :host (format-network-address (process-contact process :remote) t)
                     :port (process-contact process :service))))
    (setf (aio-tcp--input connection) (aio-tcp--stream connection))
    (process-put process 'aio-tcp connection)
    (set-process-query-on-exit-flag process nil)
    (if (aio-tcp-server--stopped server)
        (delete-process process)
      (puthash connection t (aio-tcp-server--connections server))
      (let ((task (condition-case err
                      (funcall (aio-tcp-server--handler server) connection)
                    (error (let ((failed (aio-promise)))
                             (aio-resolve failed (aio--error-fn err))
                             failed)))))
        (if (aio-promise-p task)
            (progn (setf (aio-tcp--task connection) task)
                   (aio--listen task (apply-partially #'aio-tcp--handled server connection)))
          (aio-tcp--handled server connection (aio--value-fn task)))))))

(cl-defun aio-tcp-serve (port handler &key host)
  "Accept TCP connections on PORT and call HANDLER with each; return a server.
HANDLER is an async function (or a plain one) called with an
`aio-tcp-connection'; when it ends, the connection is closed.  PORT 0
picks a free port: `aio-tcp-server-port' says which.  HOST is the
numeric address to listen on (\"0.0.0.0\" or \"::\" for all), default
127.0.0.1 so that only this machine can connect; a name is refused
with `args-out-of-range', as looking it up would hold Emacs.  The
server is an Emacs network process.  `aio-tcp-server-stop' stops it,
canceling its handlers and closing their connections.

\(fn PORT HANDLER &key HOST)"
  (unless (natnump port)
    (signal 'wrong-type-argument (list 'natnump port)))
  (unless (< port 65536)
    (signal 'args-out-of-range (list port 0 65535)))
  (aio--check-function handler)
  (unless (or (null host) (stringp host))
    (signal 'wrong-type-argument (list 'stringp host)))
  (when (and host (not (aio-dns--address-p host)))
    (signal 'args-out-of-range (list host "a numeric IP address")))
  (aio-tcp--serve port handler (or host "127.0.0.1")))

(defconst aio-tcp--backlog 511
  "How many connections a server's socket holds before it accepts them.")

(defun aio-tcp--serve (port handler host)
  "Start the server of `aio-tcp-serve' on HOST and PORT with HANDLER."
  (let ((server (aio-tcp--make-server :handler handler)))
    (setf (aio-tcp-server--process server)
          (make-network-process :name (format "aio-tcp server %s:%s" host port)
                                ;; A backlog as the HTTP server's: Emacs's
                                ;; default of 5 drops the connections of a
                                ;; burst, whose clients then retry only
                                ;; after seconds.
                                :server aio-tcp--backlog
                                :host host :service (if (zerop port) t port)
                                :buffer nil :coding 'binary :noquery t
                                :filter #'aio-tcp--filter :sentinel #'aio-tcp--sentinel
                                :log (apply-partially #'aio-tcp--accepted server)))
    server))

(defun aio-tcp-server-stop (server)
  "Stop SERVER: stop listening, cancel its handlers, close their connections."
  (unless (aio-tcp-server-p server)
    (signal 'wrong-type-argument (list 'aio-tcp-server-p server)))
  (unless (aio-tcp-server--stopped server)
    (setf (aio-tcp-server--stopped server) t)
    (delete-process (aio-tcp-server--process server))
    (let ((connections nil))
      (maphash (lambda (connection _) (push connection connections))
               (aio-tcp-server--connections server))
      (dolist (connection connections)
        (let ((task (aio-tcp--task connection)))
          (when task (aio-cancel task)))
        (aio-tcp-close connection))))
  nil)

(provide 'aio-tcp)
;;; aio-tcp.el ends here
