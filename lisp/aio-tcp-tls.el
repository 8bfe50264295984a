;;; aio-tcp-tls.el --- TLS connections of aio-tcp-connect, made by the module  -*- lexical-binding: t -*-

;; SPDX-License-Identifier: GPL-3.0-or-later

;;; Commentary:

;; `aio-tcp-connect' with :tls.  Emacs 28 cannot make a TLS connection
;; that is both non-blocking and verified (see aio-tcp.el), so these
;; connections are the module's: libcurl connects, shakes hands and
;; checks the certificate on the loop thread, as it does for
;; `aio-http-request', and the loop thread then moves the bytes.  Such
;; a connection is an `aio-tcp-connection' without a process; it is
;; read, written and closed through the same functions as the others.
;;
;; Its operation id gets the events (connected . "") and (chunk .
;; BYTES), and ends done when the peer closes the connection (then the
;; loop thread closes it too, as Emacs closes a network process),
;; failed when it breaks, cancelled once closed here.  Each write is an
;; operation of its own.
;;
;; Backpressure as for HTTP streams: the loop thread hands over at
;; most `aio-tcp-max-bytes' that Lisp has not acknowledged, and stops
;; reading the socket beyond, so that the peer waits.  A chunk is
;; acknowledged at once when the input stream took it with room to
;; spare, else once the stream's reader has taken the stream down.

;;; Code:

(require 'cl-lib)
(require 'aio-promise)
(require 'aio-native)
(require 'aio-stream)
(require 'aio-http)
(require 'aio-tcp)

(declare-function aio-native--tls-connect "aio-native-module" (id host port address options))
(declare-function aio-native--tls-write "aio-native-module" (id write-id bytes))
(declare-function aio-native--tls-cancel-write "aio-native-module" (id write-id))
(declare-function aio-native--tls-ack "aio-native-module" (id bytes))
(declare-function aio-native--tls-close "aio-native-module" (id))

(defun aio-tcp-tls--options (verify ca-file)
  "Return the options of `aio-native--tls-connect' for VERIFY and CA-FILE.
CA-FILE is checked as `aio-http-request' checks its :ca-file."
  (list :insecure (not verify)
        :ca-file (aio-http--ca-file ca-file)
        :window aio-tcp-max-bytes))

(defun aio-tcp-tls--open (address host port options)
  "Start a TLS connection to HOST, PORT at ADDRESS; return a promise of it.
OPTIONS are those of `aio-native--tls-connect'."
  (let* ((promise (aio-promise))
         (connection (aio-tcp--make-connection :host host :port port :connecting promise
                                               :tls t :held 0))
         (id (aio-native--register (apply-partially #'aio-tcp-tls--on-event connection)
                                   (format "TLS %s:%s" host port) promise)))
    (setf (aio-tcp--native connection) id
          (aio-tcp--input connection) (aio-tcp--stream connection))
    (aio-native--starting id
      (aio-native--tls-connect id host port address options))
    (setf (aio-promise-release promise) (apply-partially #'aio-tcp-tls--close connection))
    promise))

(defun aio-tcp-tls--condition (connection payload)
  "Return the condition of CONNECTION's failure, PAYLOAD (KIND . MESSAGE)."
  (let ((message (if (consp payload) (cdr payload) payload)))
    (list (if (eq (car-safe payload) 'tls) 'aio-tcp-tls-error 'aio-tcp-error)
          (if (multibyte-string-p message) message (decode-coding-string message 'utf-8))
          (aio-tcp--host connection) (aio-tcp--port connection))))

(defun aio-tcp-tls--on-event (connection status payload)
  "Take STATUS and PAYLOAD, news of CONNECTION from the loop thread."
  (if (eq status 'event)
      (pcase (car payload)
        ('connected (let ((connecting (aio-tcp--connecting connection)))
                      (setf (aio-tcp--connecting connection) nil)
                      (when connecting
                        (aio-tcp--hand-over connecting connection))))
        ('chunk (aio-tcp-tls--on-chunk connection (cdr payload))))
    ;; The end: closed by the peer, broken, or closed here.
    (let ((condition (if (eq status 'failed)
                         (aio-tcp-tls--condition connection payload)
                       (aio-tcp--error connection "Connection closed")))
          (connecting (aio-tcp--connecting connection)))
      (setf (aio-tcp--native connection) nil
            (aio-tcp--connecting connection) nil)
      (aio--stream-finish (aio-tcp--input connection) (if (eq status 'failed) condition t))
      (when connecting
        (aio-resolve connecting (aio--error-fn condition))))))

(defun aio-tcp-tls--on-chunk (connection bytes)
  "Put BYTES, received on CONNECTION, into its input stream."
  (let ((stream (aio-tcp--input connection))
        (id (aio-tcp--native connection)))
    (unless (aio--stream-done stream)
      (if (aio-stream-push stream bytes)
          (aio-native--tls-ack id (length bytes))
        (cl-incf (aio-tcp--held connection) (length bytes))))))

(defun aio-tcp-tls--resume (connection)
  "Acknowledge what CONNECTION's input held back: its reader caught up."
  (let ((held (aio-tcp--held connection))
        (id (aio-tcp--native connection)))
    (when (and id (> held 0))
      (setf (aio-tcp--held connection) 0)
      (aio-native--tls-ack id held))))

(defun aio-tcp-tls--on-written (connection promise status payload)
  "Settle PROMISE, a write on CONNECTION, as STATUS and PAYLOAD say."
  (aio-resolve promise
               (pcase status
                 ('done #'ignore)
                 ('failed (aio--error-fn (aio-tcp-tls--condition connection payload)))
                 (_ (aio--error-fn (aio-tcp--error connection "Connection closed"))))))

(defun aio-tcp-tls--cancel-write (id write-id)
  "Send nothing more of write WRITE-ID on connection ID."
  (aio-native--stop write-id (apply-partially #'aio-native--tls-cancel-write id)))

(defun aio-tcp-tls--write (connection data)
  "Send DATA, bytes or `eof', on CONNECTION; return a promise resolved once sent."
  (let ((promise (aio-promise))
        (id (aio-tcp--native connection)))
    (cond
     ((eq data 'eof)
      (aio-resolve promise (aio--error-fn (aio-tcp--error
                                           connection
                                           "A TLS connection cannot close its output alone"))))
     ((null id)
      (aio-resolve promise (aio--error-fn (aio-tcp--error connection "Connection closed"))))
     (t
      (let ((write-id (aio-native--register
                       (apply-partially #'aio-tcp-tls--on-written connection promise))))
        (aio-native--starting write-id
          (aio-native--tls-write id write-id data))
        (setf (aio-promise-release promise)
              (apply-partially #'aio-tcp-tls--cancel-write id write-id)))))
    promise))

(defun aio-tcp-tls--close (connection)
  "Close CONNECTION now, a TLS connection; its writes not sent fail."
  (let ((id (aio-tcp--native connection)))
    (setf (aio-tcp--native connection) nil
          (aio-tcp--connecting connection) nil)
    (when id
      (aio-native--stop id #'aio-native--tls-close)))
  (aio--stream-finish (aio-tcp--input connection) t))

(provide 'aio-tcp-tls)
;;; aio-tcp-tls.el ends here
