;;; aio-sse-test.el --- Server-sent events and JSON lines  -*- lexical-binding: t; -*-

;;; Commentary:

;; The event-stream parser against every rule of the WHATWG format, fed
;; whole, a byte at a time and cut at every byte boundary; then over
;; HTTP from the test server (test/servers/scripted_server.py), whose
;; /sse route sends the same bytes.

;;; Code:

(require 'ert)
(require 'cl-lib)
(require 'aio)
(require 'aio-sse)
(require 'aio-test-helpers)
(require 'aio-test-server)

(defconst aio-sse-test--sample
  "\357\273\277: a comment\r\ndata: first\n\nevent: greeting\r\ndata: caf\303\251\r\n\r\ndata: line one\rdata: line two\r\rid: 42\ndata:no space\n\ndata\n\nretry: 1500\ndata: with retry\n\nretry: soon\ndata: bad retry\n\nevent: ping\n\ndata:  two spaces\nid\n\ndata: \342\202\254 euro\n\ndata: never finished\n"
  "The bytes of the /sse route of the test server.")

(defconst aio-sse-test--expected
  '(("message" "first" nil nil)
    ("greeting" "café" nil nil)
    ("message" "line one\nline two" nil nil)
    ("message" "no space" "42" nil)
    ("message" "" "42" nil)
    ("message" "with retry" "42" 1500)
    ("message" "bad retry" "42" nil)
    ("message" " two spaces" "" nil)
    ("message" "€ euro" "" nil))
  "The events of `aio-sse-test--sample': (TYPE DATA ID RETRY).")

(defun aio-sse-test--fields (event)
  "Return EVENT as (TYPE DATA ID RETRY)."
  (list (aio-sse-event-type event) (aio-sse-event-data event)
        (aio-sse-event-id event) (aio-sse-event-retry event)))

(defun aio-sse-test--parse (pieces)
  "Return the events of PIECES, fed in order to one parser, as fields."
  (let ((parser (aio-sse--make-parser)))
    (mapcar #'aio-sse-test--fields
            (cl-loop for piece in pieces append (aio-sse--feed parser piece)))))

(aio-deftest aio-sse-parses-every-rule ()
  (should (equal (aio-sse-test--parse (list aio-sse-test--sample)) aio-sse-test--expected))
  (should (equal (aio-sse-test--parse (mapcar #'unibyte-string (string-to-list aio-sse-test--sample)))
                 aio-sse-test--expected)))

(aio-deftest aio-sse-cut-at-every-byte-boundary ()
  (let ((n (length aio-sse-test--sample)))
    (dotimes (i (1+ n))
      (should (equal (list i (aio-sse-test--parse (list (substring aio-sse-test--sample 0 i)
                                                         (substring aio-sse-test--sample i))))
                     (list i aio-sse-test--expected))))))

(aio-deftest aio-sse-cr-lf-split-makes-one-line-end ()
  ;; A CR that ends a chunk and an LF that starts the next end one line.
  (should (equal (aio-sse-test--parse '("data: a\r" "\ndata: b\r" "\n\r" "\n"))
                 '(("message" "a\nb" nil nil)))))

(aio-deftest aio-sse-over-http ()
  (dolist (piece '(0 1 7))
    (let* ((response (aio-wait-for (aio-http-request
                                    (aio-test-server--url (format "/sse?piece=%d" piece))
                                    :proxy "" :as 'stream)
                                   10))
           (events (aio-wait-for (aio-stream-collect
                                  (aio-http-sse (aio-http-response-body response)))
                                 10)))
      (should (equal (list piece (mapcar #'aio-sse-test--fields events))
                     (list piece aio-sse-test--expected))))))

(aio-deftest aio-sse-stream-fails-as-its-body-fails ()
  (let* ((response (aio-wait-for (aio-http-request (aio-test-server--url "/close-mid-body")
                                                   :proxy "" :as 'stream)
                                 10))
         (events (aio-http-sse (aio-http-response-body response))))
    (should (eq (car (should-error (aio-wait-for (aio-stream-collect events) 10)))
                'aio-http-transfer-error))))

(aio-deftest aio-stream-json-parses-lines ()
  (let* ((source (aio-stream-from-list
                  (list "{\"a\": 1}\n{\"b\"" ": [1, 2]}\r\n\n" "\"caf\303\251\"\n" "null")))
         (values (aio-wait-for (aio-stream-collect
                                (aio-stream-json source :object-type 'alist :null-object nil))
                               5)))
    (should (equal values '(((a . 1)) ((b . [1 2])) "café" nil))))
  (let ((bad (aio-stream-json (aio-stream-from-list (list "{\"a\":\n")))))
    (should (memq 'json-error
                  (get (car (should-error (aio-wait-for (aio-stream-collect bad) 5)))
                       'error-conditions)))))

(provide 'aio-sse-test)
;;; aio-sse-test.el ends here
