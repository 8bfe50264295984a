;;; aio-dns.el --- Name lookups off the main thread  -*- lexical-binding: t -*-

;; SPDX-License-Identifier: GPL-3.0-or-later

;;; Commentary:

;; `aio-dns-lookup' and `aio-dns-reverse' ask the system's resolver
;; (getaddrinfo and getnameinfo, as `make-network-process' does) from
;; libuv's thread pool, so that Emacs never blocks on DNS.  Names under
;; the special-use domain "invalid" (RFC 6761) fail at once without
;; asking any resolver.

;;; Code:

(require 'cl-lib)
(require 'aio-promise)
(require 'aio-native)

(declare-function aio-native--dns-lookup "aio-native-module" (id host family))
(declare-function aio-native--dns-reverse "aio-native-module" (id address))
(declare-function aio-native--dns-cancel "aio-native-module" (id))

(define-error 'aio-dns-error "Name lookup failed" 'aio-native-error)

(defun aio-dns--handler (promise query)
  "Return the completion handler of a lookup of QUERY for PROMISE."
  (lambda (status payload)
    (unless (aio-promise-result promise)
      (aio-resolve
       promise
       (pcase status
         ('done (aio--value-fn (if (vectorp payload) (append payload nil) payload)))
         ('failed (aio--error-fn
                   (list 'aio-dns-error
                         (if (stringp (cdr-safe payload))
                             (decode-coding-string (cdr payload) 'utf-8)
                           "Name lookup failed")
                         query)))
         (_ (aio--error-fn (list 'aio-cancel))))))))

(defun aio-dns--canceller (id)
  "Return the canceller of lookup ID."
  (apply-partially #'aio-native--stop id #'aio-native--dns-cancel))

(defun aio-dns--start (query description start)
  "Start a lookup of QUERY, described by DESCRIPTION; return its promise.
START is called with the operation's id."
  (let* ((aio--promise (aio-promise))
         (id (aio-native--register (aio-dns--handler aio--promise query)
                                   description aio--promise)))
    (aio-native--starting id
      (funcall start id))
    (setf (aio-promise-release aio--promise) (aio-dns--canceller id))
    aio--promise))

(defun aio-dns--check-name (name)
  "Signal unless NAME is a host name or address string."
  (unless (stringp name)
    (signal 'wrong-type-argument (list 'stringp name)))
  (when (or (equal name "") (string-match-p "[\0\r\n]" name))
    (signal 'args-out-of-range (list name))))

(cl-defun aio-dns-lookup (host &key family)
  "Return a promise of the addresses of HOST, a list of strings.
HOST is a host name or an address.  The system's resolver is asked
from the loop's thread pool, so Emacs does not wait.  FAMILY
`ipv4' or `ipv6' asks for addresses of that family only; nil, for
both.  The addresses come in the order the resolver prefers, without
repeats.  A name that is not known rejects the promise with
\(aio-dns-error MESSAGE HOST); a name under \".invalid\" does so at
once.  Canceling the promise abandons the lookup.

\(fn HOST &key FAMILY)"
  (aio-dns--check-name host)
  (unless (memq family '(nil ipv4 ipv6))
    (signal 'args-out-of-range (list family '(nil ipv4 ipv6))))
  (aio-dns--lookup host (pcase family ('ipv4 4) ('ipv6 6))))

(defun aio-dns--lookup (host family)
  "Look HOST up for `aio-dns-lookup'; FAMILY is nil, 4 or 6."
  (aio-dns--start host (format "DNS %s" host)
                  (lambda (id)
                    (aio-native--dns-lookup id (encode-coding-string host 'utf-8) family))))

(defun aio-dns-reverse (address)
  "Return a promise of the host name of ADDRESS, an IPv4 or IPv6 string.
The system's resolver is asked from the loop's thread pool.  An
address without a name rejects the promise with (aio-dns-error
MESSAGE ADDRESS), as does a string that is no address."
  (aio-dns--check-name address)
  (aio-dns--start address (format "reverse DNS %s" address)
                  (lambda (id) (aio-native--dns-reverse id address))))

;;;; Numeric addresses

(defun aio-dns--ipv4-p (text)
  "Return non-nil if TEXT is an IPv4 address in dotted decimal."
  (let ((parts (split-string text "\\." )))
    (and (= (length parts) 4)
         (cl-loop for part in parts
                  always (and (string-match-p "\\`[0-9]\\{1,3\\}\\'" part)
                              (<= (string-to-number part) 255))))))

(defun aio-dns--ipv6-p (text)
  "Return non-nil if TEXT is an IPv6 address (RFC 4291 text form)."
  (let* ((halves (split-string text "::"))
         (groups (lambda (half)
                   (if (equal half "") nil (split-string half ":"))))
         (all (apply #'append (mapcar groups halves)))
         (last (car (last all)))
         ;; An IPv4 address may end it, in place of two groups.
         (v4 (and last (string-search "." last)))
         (hex (if v4 (butlast all) all))
         (count (+ (length hex) (if v4 2 0))))
    (and (<= (length halves) 2)
         (or (not v4) (aio-dns--ipv4-p last))
         (cl-loop for group in hex
                  always (string-match-p "\\`[0-9a-fA-F]\\{1,4\\}\\'" group))
         (if (= (length halves) 2) (< count 8) (= count 8)))))

(defun aio-dns--address-p (host)
  "Return non-nil if HOST is a numeric IP address rather than a name.
Emacs resolves what is not one with a blocking lookup."
  (or (aio-dns--ipv4-p host) (aio-dns--ipv6-p host)))

(provide 'aio-dns)
;;; aio-dns.el ends here
