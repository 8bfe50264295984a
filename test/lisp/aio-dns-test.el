;;; aio-dns-test.el --- Tests of aio-dns-*  -*- lexical-binding: t; -*-

;;; Commentary:

;; Only localhost, 127.0.0.1 and names under .invalid: no test asks
;; about any other address.

;;; Code:

(require 'ert)
(require 'cl-lib)
(require 'aio)
(require 'aio-test-helpers)

(aio-deftest aio-dns-lookup-localhost ()
  (let ((addresses (aio-test-wait (aio-dns-lookup "localhost"))))
    (should (member "127.0.0.1" addresses))
    (should (equal addresses (delete-dups (copy-sequence addresses)))))
  (let ((addresses (aio-test-wait (aio-dns-lookup "localhost" :family 'ipv4))))
    (should (member "127.0.0.1" addresses))
    (should-not (cl-some (lambda (a) (string-search ":" a)) addresses)))
  (should (equal (aio-test-wait (aio-dns-lookup "127.0.0.1")) '("127.0.0.1")))
  (should (zerop (plist-get (aio-native-stats) :dns-pending))))

(aio-deftest aio-dns-lookup-of-invalid-names-fails-at-once ()
  (dolist (name '("nothing.invalid" "a.b.INVALID" "invalid."))
    (let ((promise (aio-dns-lookup name)))
      (should (equal (aio-test-error promise)
                     (list 'aio-dns-error (format "Could not resolve host: %s" name) name)))))
  (should (get 'aio-dns-error 'error-conditions))
  (should (memq 'aio-native-error (get 'aio-dns-error 'error-conditions))))

(aio-deftest aio-dns-reverse-of-the-loopback ()
  (should (stringp (aio-test-wait (aio-dns-reverse "127.0.0.1"))))
  (should (eq (car (aio-test-error (aio-dns-reverse "not an address"))) 'aio-dns-error)))

(aio-deftest aio-dns-cancel-settles-the-promise ()
  (let ((promise (aio-dns-lookup "localhost")))
    (aio-cancel promise)
    (should (aio-test-canceled-p promise))
    (aio-test-quiesce)
    (should (zerop (plist-get (aio-native-stats) :dns-pending)))))

(aio-deftest aio-dns-bad-arguments ()
  (should-error (aio-dns-lookup 'localhost) :type 'wrong-type-argument)
  (should-error (aio-dns-lookup "") :type 'args-out-of-range)
  (should-error (aio-dns-lookup "a\nb") :type 'args-out-of-range)
  (should-error (aio-dns-lookup "localhost" :family 'ipx) :type 'args-out-of-range)
  (should-error (aio-dns-reverse 127) :type 'wrong-type-argument))

(provide 'aio-dns-test)
;;; aio-dns-test.el ends here
