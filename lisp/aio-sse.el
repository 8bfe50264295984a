;;; aio-sse.el --- Server-sent events and JSON lines from byte streams  -*- lexical-binding: t -*-

;; SPDX-License-Identifier: GPL-3.0-or-later

;;; Commentary:

;; `aio-http-sse' turns the body stream of a streamed HTTP response
;; (`aio-http-request' with :as `stream') into a stream of
;; `aio-sse-event' records, parsed as the WHATWG HTML standard's
;; "event stream" rules say: UTF-8 with an optional byte order mark,
;; lines ended by CR LF, LF or CR (also when a chunk ends between CR and
;; LF), comment lines, fields without a colon, one space after the
;; colon dropped, multi-line data joined with newlines, `retry' only
;; when all digits, an `id' kept for the events after it, and an event
;; dispatched only at a blank line: a half-received event at the end is
;; dropped.  No reconnection is attempted.
;;
;; `aio-stream-json' turns a stream of bytes of JSON lines (NDJSON)
;; into a stream of parsed values.
;;
;; The parser works on bytes and decodes each line once it is whole, so
;; a character split across two chunks is never cut.

;;; Code:

(require 'cl-lib)
(require 'aio-promise)
(require 'aio-stream)

(cl-defstruct (aio-sse-event (:constructor aio-sse--make-event (type data id retry))
                             (:copier nil))
  "One server-sent event.
TYPE is its event type, \"message\" when it names none.  DATA is its
data, the lines of its data fields joined with newlines.  ID is the
last event id at the time it was dispatched (set by this event or an
earlier one), or nil if none was ever set.  RETRY is the reconnection
time in milliseconds given with this event, or nil."
  type data id retry)

(cl-defstruct (aio-sse--parser (:constructor aio-sse--make-parser)
                               (:copier nil))
  "What the event-stream parser keeps between chunks.
PARTIAL holds the bytes of an unfinished line, SKIP-LF is non-nil when
the last chunk ended with CR (an LF that follows ends no new line),
STARTED is non-nil once the byte order mark, if any, is gone.  DATA
lists the data lines of the event being read (newest first), TYPE,
RETRY its fields, LAST-ID the last event id."
  (partial "") (skip-lf nil) (started nil)
  (data nil) (type nil) (retry nil) (last-id nil))

(defun aio-sse--decode (bytes)
  "Return BYTES, a unibyte string, decoded as UTF-8."
  (decode-coding-string bytes 'utf-8 t))

(defun aio-sse--line (parser line events)
  "Take LINE, unibyte without its end, into PARSER; return EVENTS extended.
EVENTS is the list of events dispatched so far, newest first."
  (cond
   ((equal line "")
    (let ((data (aio-sse--parser-data parser)))
      (when data
        (push (aio-sse--make-event
               (or (aio-sse--parser-type parser) "message")
               (mapconcat #'aio-sse--decode (nreverse data) "\n")
               (aio-sse--parser-last-id parser)
               (aio-sse--parser-retry parser))
              events)))
    (setf (aio-sse--parser-data parser) nil
          (aio-sse--parser-type parser) nil
          (aio-sse--parser-retry parser) nil))
   ((eq (aref line 0) ?:))              ; a comment
   (t
    (let* ((colon (string-search ":" line))
           (field (if colon (substring line 0 colon) line))
           (value (cond ((null colon) "")
                        ((and (< (1+ colon) (length line)) (eq (aref line (1+ colon)) ?\s))
                         (substring line (+ colon 2)))
                        (t (substring line (1+ colon))))))
      (pcase field
        ("data" (push value (aio-sse--parser-data parser)))
        ("event" (setf (aio-sse--parser-type parser) (aio-sse--decode value)))
        ("id" (unless (string-search "\0" value)
                (setf (aio-sse--parser-last-id parser) (aio-sse--decode value))))
        ("retry" (when (string-match-p "\\`[0-9]+\\'" value)
                   (setf (aio-sse--parser-retry parser) (string-to-number value))))))))
  events)

(defun aio-sse--feed (parser chunk)
  "Parse CHUNK, unibyte bytes of an event stream, with PARSER.
Return the events it completes, oldest first."
  (let ((text chunk)
        (start 0)
        (events nil))
    (unless (aio-sse--parser-started parser)
      (setq text (concat (aio-sse--parser-partial parser) text))
      (setf (aio-sse--parser-partial parser) "")
      ;; Wait for three bytes before deciding about a byte order mark.
      (if (and (< (length text) 3) (string-prefix-p text "\357\273\277"))
          (setf (aio-sse--parser-partial parser) text
                text "")
        (setf (aio-sse--parser-started parser) t)
        (when (string-prefix-p "\357\273\277" text)
          (setq start 3))))
    (when (and (aio-sse--parser-skip-lf parser) (> (length text) start))
      (setf (aio-sse--parser-skip-lf parser) nil)
      (when (eq (aref text start) ?\n)
        (setq start (1+ start))))
    (let ((partial (aio-sse--parser-partial parser))
          (end nil))
      (while (setq end (string-match "[\r\n]" text start))
        (let ((line (if (equal partial "")
                        (substring text start end)
                      (prog1 (concat partial (substring text start end))
                        (setq partial "")))))
          (setq events (aio-sse--line parser line events))
          (setq start (1+ end))
          (when (eq (aref text end) ?\r)
            (if (< start (length text))
                (when (eq (aref text start) ?\n)
                  (setq start (1+ start)))
              (setf (aio-sse--parser-skip-lf parser) t)))))
      (setf (aio-sse--parser-partial parser)
            (if (< start (length text))
                (concat partial (substring text start))
              partial)))
    (nreverse events)))

(aio-defstream aio-sse--events (body)
  "Yield the events of BODY, a stream of event-stream bytes."
  (let ((parser (aio-sse--make-parser)))
    (aio-dostream (chunk body)
      (dolist (event (aio-sse--feed parser chunk))
        (aio-yield event)))))

(defun aio-http-sse (stream)
  "Return a stream of the server-sent events read from STREAM.
STREAM yields unibyte strings, such as the body of a response to
`aio-http-request' with :as `stream'.  Each value of the result is an
`aio-sse-event'; see `aio-sse-event-type', `aio-sse-event-data',
`aio-sse-event-id' and `aio-sse-event-retry'.  The result ends when
STREAM ends (an event not ended by a blank line is dropped) and fails
as STREAM fails; closing it closes STREAM."
  (aio--check-stream stream)
  (aio-sse--events stream))

(aio-defstream aio-sse--json (lines args)
  "Yield the JSON values of LINES, parsed with `json-parse-string' and ARGS."
  (aio-dostream (line lines)
    (unless (string-match-p "\\`[ \t\r]*\\'" line)
      (aio-yield (apply #'json-parse-string line args)))))

(defun aio-stream-json (stream &rest args)
  "Return a stream of the JSON values on the lines of STREAM (JSON lines).
STREAM yields text or unibyte chunks (UTF-8), such as the body of a
response to `aio-http-request' with :as `stream'.  Each line holds one
JSON value, parsed with `json-parse-string' given ARGS (:object-type,
:array-type, :null-object, :false-object); blank lines are skipped.  A
line that is no JSON fails the result with a `json-error'.

\(fn STREAM &key OBJECT-TYPE ARRAY-TYPE NULL-OBJECT FALSE-OBJECT)"
  (aio--check-stream stream)
  (aio-sse--json (aio-stream-lines stream) args))

(provide 'aio-sse)
;;; aio-sse.el ends here
