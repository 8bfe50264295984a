;;; aio-probe-specs-server.el --- Matrix specs of the HTTP server functions  -*- lexical-binding: t -*-

;;; Commentary:

;; The argument types and specs of the bad-input matrix for
;; aio-http-server.el and the module's `aio-native--server-*'
;; functions.  aio-probe-specs.el appends them to its own.
;;
;; Every server listens on 127.0.0.1 (or on what the pool of hosts
;; offers, numeric loopback addresses or strings refused before any
;; socket is made).  A server value belongs to the call, which stops it
;; when it ends; a server a call started itself is stopped at once.
;; The module's functions get fresh ids: a server they start is stopped
;; through the spec's :native kind, and answers to requests that do not
;; exist are dropped by the loop.

;;; Code:

(require 'cl-lib)
(require 'aio)
(require 'aio-http-server)
(require 'aio-probe-values)
(require 'aio-probe-specs-files)
(require 'aio-probe-specs-tcp)

(declare-function aio-probe-specs--fresh-id "aio-probe-specs" ())
(declare-function aio-probe-specs--clean-string-p "aio-probe-specs" (v))
(declare-function aio-probe-specs--token-p "aio-probe-specs" (v))

(defun aio-probe-specs-server--server ()
  "Return a server on 127.0.0.1, owned by the call."
  (let ((server (aio-http-serve 0 (lambda (_) "ok"))))
    (aio-probe-specs-tcp--owned (apply-partially #'aio-http-server-stop server))
    server))

(defun aio-probe-specs-server--request ()
  "Return a request record, as a handler receives one."
  (aio-http-server--make-request :method "GET" :path "/" :query nil
                                 :headers '(("host" . "127.0.0.1"))
                                 :body "" :target "/" :version "1.1"
                                 :remote "127.0.0.1"))

(defun aio-probe-specs-server--host-p (v)
  "Return non-nil if V is a host `aio-http-serve' listens on."
  (or (null v) (equal v "localhost") (and (stringp v) (aio-dns--address-p v))))

(defun aio-probe-specs-server--count-p (max)
  "Return a predicate of nil or an integer from 1 to MAX."
  (lambda (v) (or (null v) (and (integerp v) (<= 1 v max)))))

(defun aio-probe-specs-server--seconds-p (v)
  "Return non-nil if V is nil or a server timeout: 0.001 to 1e9 seconds."
  (or (null v) (and (numberp v) (<= 0.001 v 1e9))))

(defun aio-probe-specs-server--options-p (v)
  "Return non-nil if V is a valid options plist of `aio-native--server-start'."
  (and (proper-list-p v) (cl-evenp (length v))
       (cl-loop for (key value) on v by #'cddr
                always (pcase key
                         (:max-header-bytes
                          (funcall (aio-probe-specs-server--count-p (expt 2 24)) value))
                         (:max-body-bytes
                          (funcall (aio-probe-specs-server--count-p (1- (expt 2 63))) value))
                         (:max-connections
                          (funcall (aio-probe-specs-server--count-p 100000) value))
                         ((or :request-timeout :keep-alive-timeout)
                          (aio-probe-specs-server--seconds-p value))
                         (_ t)))))

(defun aio-probe-specs-server--fields-p (v)
  "Return non-nil if V is a list of (NAME . VALUE) fields the module sends."
  (and (proper-list-p v)
       (cl-loop for field in v
                always (and (consp field)
                            (aio-probe-specs--token-p (car field))
                            (aio-probe-specs--clean-string-p (cdr field))))))

(defun aio-probe-specs-server--body-p (v)
  "Return non-nil if V is a body the module sends."
  (or (null v) (eq v 'stream) (stringp v)
      (and (eq (car-safe v) 'file) (consp (cdr v))
           (aio-probe-specs-files--native-name-p (cadr v)))))

(defconst aio-probe-specs-server-types
  `(;; (TYPE VALID-P BASELINE POOLS), as in `aio-probe-types'.
    (http-server aio-http-server-p aio-probe-specs-server--server
                 (aio-probe-specs-files-general-values))
    (http-server-request aio-http-server-request-p aio-probe-specs-server--request
                         (aio-probe-specs-files-general-values))
    (http-server-host aio-probe-specs-server--host-p ,#'ignore
                      (aio-probe-specs-files-general-names aio-probe-specs-files-dns-host-values))
    (http-server-count ,(aio-probe-specs-server--count-p 100000) ,#'ignore
                       (aio-probe-specs-files-general-numbers))
    (http-server-seconds aio-probe-specs-server--seconds-p ,#'ignore
                         (aio-probe-specs-files-general-numbers))
    (http-server-name stringp ,(lambda () "Host") (aio-probe-specs-files-general-values))
    ;; The module's arguments.
    (server-native-host ,(lambda (v) (and (stringp v) (aio-dns--address-p v)))
                        ,(lambda () "127.0.0.1")
                        (aio-probe-specs-files-general-names aio-probe-specs-files-dns-host-values))
    (server-native-port ,(lambda (v) (and (natnump v) (< v 65536))) ,(lambda () 0)
                        (aio-probe-specs-files-general-numbers))
    (server-native-options aio-probe-specs-server--options-p ,#'ignore
                           (aio-probe-specs-files-general-values))
    (server-status ,(lambda (v) (and (integerp v) (<= 200 v 599))) ,(lambda () 200)
                   (aio-probe-specs-files-general-numbers))
    (server-fields aio-probe-specs-server--fields-p ,#'ignore
                   (aio-probe-specs-files-general-values))
    (server-body aio-probe-specs-server--body-p ,(lambda () "body")
                 (aio-probe-specs-files-general-values aio-probe-specs-files-data-values)))
  "Argument types of the HTTP server functions, for `aio-probe-types'.")

(defconst aio-probe-specs-server-specs
  `(;; Documented: `file-error' for a port that cannot be had.
    (aio-http-serve :args (tcp-serve-port tcp-handler)
                    :keys ((:host http-server-host) (:max-header-bytes http-server-count)
                           (:max-body-bytes http-server-count)
                           (:request-timeout http-server-seconds)
                           (:keep-alive-timeout http-server-seconds)
                           (:max-connections http-server-count))
                    :errors (file-error)
                    :then ,(aio-probe-specs-tcp--stopper #'aio-http-server-p #'aio-http-server-stop))
    (aio-http-server-stop :args (http-server))
    (aio-http-server-port :args (http-server))
    (aio-http-server-host :args (http-server))
    (aio-http-server-live-p :args (http-server))
    (aio-http-server-p :args (any))
    (aio-http-server-request-p :args (any))
    (aio-http-server-request-header :args (http-server-request http-server-name))
    (aio-http-server-request-method :args (http-server-request))
    (aio-http-server-request-path :args (http-server-request))
    (aio-http-server-request-query :args (http-server-request))
    (aio-http-server-request-headers :args (http-server-request))
    (aio-http-server-request-body :args (http-server-request))
    (aio-http-server-request-target :args (http-server-request))
    (aio-http-server-request-version :args (http-server-request))
    (aio-http-server-request-remote :args (http-server-request))
    ;; Module functions.
    (aio-native--server-start :args (fs-native-id server-native-host server-native-port
                                                  server-native-options)
                              :native server :errors (file-error))
    (aio-native--server-stop :args (fs-native-id))
    (aio-native--server-respond :args (fs-native-id fs-native-id server-status server-fields
                                                    server-body))
    (aio-native--server-write :args (fs-native-id fs-native-id tcp-data))
    (aio-native--server-end :args (fs-native-id fs-native-id))
    (aio-native--server-abort :args (fs-native-id fs-native-id)))
  "Specs of the HTTP server functions, for `aio-probe-specs'.")

(provide 'aio-probe-specs-server)
;;; aio-probe-specs-server.el ends here
