;;; aio-probe-specs-tcp.el --- Matrix specs of the TCP functions  -*- lexical-binding: t -*-

;;; Commentary:

;; The argument types and specs of the bad-input matrix for aio-tcp.el,
;; the module's TLS connections and `aio-native--strerror'.  aio-probe-specs.el appends them to its
;; own.
;;
;; Nothing leaves this machine: hosts are those of the DNS pools of
;; aio-probe-specs-files.el (numeric loopback addresses, names under
;; "invalid", strings refused before any lookup), which the matrix's
;; :network check sees too.  A connection value is made to a listener
;; of its own on 127.0.0.1, a server value listens on 127.0.0.1; both
;; belong to the call, which closes them (and what the listener
;; accepted) when it ends.  A connection a call made itself is closed
;; once its promise settles.

;;; Code:

(require 'cl-lib)
(require 'aio)
(require 'aio-tcp)
(require 'aio-probe-values)
(require 'aio-probe-specs-files)

(declare-function aio-probe-values--own "aio-probe-values-io" (promise))
(declare-function aio-probe-refused-port "aio-probe-child" ())

(defun aio-probe-specs-tcp--owned (cleanup)
  "Have the current call run CLEANUP, a function, when it ends."
  (let ((owner (aio-promise)))
    (setf (aio-promise-release owner) cleanup)
    (aio-probe-values--own owner)))

(defun aio-probe-specs-tcp--line-p (v)
  "Return non-nil if V is a string the module takes as a line: not empty,
no NUL, CR or LF."
  (and (stringp v) (not (string-empty-p v)) (not (string-match-p "[\0\r\n]" v))))

(defun aio-probe-specs-tcp--tls-options-p (v)
  "Return non-nil if V is a valid options plist of `aio-native--tls-connect'."
  (and (proper-list-p v) (cl-evenp (length v))
       (cl-loop for (key value) on v by #'cddr
                always (and (keywordp key)
                            (pcase key
                              (:ca-file (or (null value) (aio-probe-specs-tcp--line-p value)))
                              (:window (or (null value) (and (integerp value)
                                                             (<= 1 value (expt 2 40)))))
                              (_ t))))))

(defun aio-probe-specs-tcp--connection ()
  "Return a connection to a listener of its own, both owned by the call."
  (let* ((accepted nil)
         (listener (make-network-process
                    :name "probe-tcp-listener" :server t :buffer nil :noquery t
                    :host "127.0.0.1" :service t
                    :log (lambda (_server client _message) (push client accepted))))
         (connection (aio-wait-for (aio-tcp-connect "127.0.0.1"
                                                    (process-contact listener :service))
                                   10)))
    (aio-probe-specs-tcp--owned
     (lambda ()
       (aio-tcp-close connection)
       ;; Accepted connections have buffers of their own.
       (dolist (client accepted)
         (let ((buffer (process-buffer client)))
           (delete-process client)
           (when (buffer-live-p buffer) (kill-buffer buffer))))
       (delete-process listener)))
    connection))

(defun aio-probe-specs-tcp--server ()
  "Return a server on 127.0.0.1, owned by the call."
  (let ((server (aio-tcp-serve 0 #'ignore)))
    (aio-probe-specs-tcp--owned (apply-partially #'aio-tcp-server-stop server))
    server))

(defun aio-probe-specs-tcp--settle (value)
  "Wait for VALUE, a promise, to settle; close the connection it made."
  (let ((promise (aio-probe-specs-files--settle value)))
    (when (and (aio-promise-p promise) (aio-promise-result promise))
      (let ((connection (ignore-errors (funcall (aio-promise-result promise)))))
        (when (aio-tcp-connection-p connection)
          (aio-tcp-close connection))))
    promise))

(defun aio-probe-specs-tcp--stopper (server-p stop)
  "Return a :then function: it calls STOP on a value that is SERVER-P.
The value is returned; a server a call made is stopped when it ends."
  (lambda (value)
    (when (funcall server-p value)
      (funcall stop value))
    value))

(defconst aio-probe-specs-tcp-types
  `(;; (TYPE VALID-P BASELINE POOLS), as in `aio-probe-types'.
    (tcp-port ,(lambda (v) (and (integerp v) (< 0 v 65536)))
              ,(let ((port nil))
                 (lambda () (or port (setq port (aio-probe-refused-port)))))
              (aio-probe-specs-files-general-numbers))
    (tcp-timeout ,(lambda (v) (or (null v) (and (numberp v) (< 0 v) (<= v 1e9)))) ,#'ignore
                 (aio-probe-specs-files-general-numbers))
    ;; Valid only beside :tls, which the matrix leaves nil.
    (tcp-ca-file null ,#'ignore (aio-probe-specs-files-general-names))
    (tcp-connection aio-tcp-connection-p aio-probe-specs-tcp--connection
                    (aio-probe-specs-files-general-values))
    (tcp-data stringp ,(lambda () "data\n")
              (aio-probe-specs-files-general-values aio-probe-specs-files-data-values))
    (tcp-server aio-tcp-server-p aio-probe-specs-tcp--server
                (aio-probe-specs-files-general-values))
    (tcp-serve-port ,(lambda (v) (and (natnump v) (< v 65536))) ,(lambda () 0)
                    (aio-probe-specs-files-general-numbers))
    (tcp-handler functionp ,(lambda () #'ignore) (aio-probe-specs-files-general-values))
    (tcp-listen-host ,(lambda (v) (or (null v) (stringp v))) ,#'ignore
                     (aio-probe-specs-files-general-names aio-probe-specs-files-dns-host-values))
    ;; The module's TLS connections: hosts from the DNS pools only, so
    ;; that no name leads to a query.
    (tls-native-host ,(lambda (v) (and (aio-probe-specs-tcp--line-p v)
                                       (not (string-match-p "[][/?#@ \t%]" v))))
                     ,(lambda () "127.0.0.1")
                     (aio-probe-specs-files-general-numbers aio-probe-specs-files-dns-host-values
                                                            aio-probe-specs-files-dns-native-host-values))
    (tls-native-address ,(lambda (v) (or (null v) (aio-probe-specs-tcp--line-p v))) ,#'ignore
                        (aio-probe-specs-files-general-numbers
                         aio-probe-specs-files-dns-address-values))
    (tls-native-options aio-probe-specs-tcp--tls-options-p ,(lambda () (list :verify t))
                        (aio-probe-values aio-probe-option-values))
    (errno ,(lambda (v) (and (integerp v) (<= 0 v 4095))) ,(lambda () 2)
           (aio-probe-specs-files-general-numbers)))
  "Argument types of the TCP functions, for `aio-probe-types'.")

(defconst aio-probe-specs-tcp-specs
  `(;; Documented: the file errors of `make-network-process' for a
    ;; listener (an address of no interface here, a port taken).
    (aio-tcp-connect :args (dns-host tcp-port)
                     :keys ((:timeout tcp-timeout) (:tls any) (:verify-tls any)
                            (:ca-file tcp-ca-file))
                     :network t :then aio-probe-specs-tcp--settle)
    (aio-tcp-input :args (tcp-connection))
    (aio-tcp-process :args (tcp-connection))
    (aio-tcp-live-p :args (tcp-connection))
    (aio-tcp-tls-p :args (tcp-connection))
    (aio-tcp-write :args (tcp-connection tcp-data) :then aio-probe-specs-files--settle)
    (aio-tcp-close-write :args (tcp-connection) :then aio-probe-specs-files--settle)
    (aio-tcp-close :args (tcp-connection))
    (aio-tcp-connection-p :args (any))
    (aio-tcp-serve :args (tcp-serve-port tcp-handler) :keys ((:host tcp-listen-host))
                   :errors (file-error)
                   :then ,(aio-probe-specs-tcp--stopper #'aio-tcp-server-p #'aio-tcp-server-stop))
    (aio-tcp-server-p :args (any))
    (aio-tcp-server-port :args (tcp-server))
    (aio-tcp-server-stop :args (tcp-server))
    (aio-native--strerror :args (errno))
    (aio-native--tls-connect :args (fs-native-id tls-native-host tcp-port tls-native-address
                                                 tls-native-options)
                             :native tls)
    (aio-native--tls-write :args (fs-native-id fs-native-id tcp-data))
    (aio-native--tls-cancel-write :args (fs-native-id fs-native-id))
    (aio-native--tls-ack :args (fs-native-id native-bytes))
    (aio-native--tls-close :args (fs-native-id)))
  "Specs of the TCP functions, for `aio-probe-specs'.")

(provide 'aio-probe-specs-tcp)
;;; aio-probe-specs-tcp.el ends here
