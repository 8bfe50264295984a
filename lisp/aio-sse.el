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

(defun aio-sse--field-p (name text start colon)
  "Return non-nil if the field of TEXT from START to COLON is NAME."
  (and (= (- colon start) (length name))
       (eq t (compare-strings name nil nil text start colon))))

(defun aio-sse--line (parser text start end events)
  "Take the line of TEXT from START to END into PARSER.
TEXT is unibyte and the line has no line end.  Return EVENTS, the
events dispatched so far (newest first), with the one this line ends
if any.  Only the values of the fields kept are copied out of TEXT."
  (cond
   ((= start end)
    (let ((data (aio-sse--parser-data parser)))
      (when data
        (push (aio-sse--make-event
               (let ((type (aio-sse--parser-type parser)))
                 (if (member type '(nil "")) "message" type))
               (aio-sse--decode (if (cdr data)
                                    (mapconcat #'identity (nreverse data) "\n")
                                  (car data)))
               (aio-sse--parser-last-id parser)
               (aio-sse--parser-retry parser))
              events)))
    (setf (aio-sse--parser-data parser) nil
          (aio-sse--parser-type parser) nil
          (aio-sse--parser-retry parser) nil))
   ((eq (aref text start) ?:))          ; a comment
   (t
    (let* ((colon (let ((at (string-search ":" text start)))
                    (if (and at (< at end)) at end)))
           (from (cond ((= colon end) end)
                       ((and (< (1+ colon) end) (eq (aref text (1+ colon)) ?\s))
                        (+ colon 2))
                       (t (1+ colon)))))
      (cond
       ((aio-sse--field-p "data" text start colon)
        (push (substring text from end) (aio-sse--parser-data parser)))
       ((aio-sse--field-p "event" text start colon)
        (setf (aio-sse--parser-type parser) (aio-sse--decode (substring text from end))))
       ((aio-sse--field-p "id" text start colon)
        (let ((value (substring text from end)))
          (unless (string-search "\0" value)
            (setf (aio-sse--parser-last-id parser) (aio-sse--decode value)))))
       ((aio-sse--field-p "retry" text start colon)
        (let ((value (substring text from end)))
          (when (string-match-p "\\`[0-9]+\\'" value)
            (setf (aio-sse--parser-retry parser) (string-to-number value)))))))))
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
    (let ((end nil))
      (while (setq end (string-match "[\r\n]" text start))
        (let ((partial (aio-sse--parser-partial parser)))
          (if (equal partial "")
              (setq events (aio-sse--line parser text start end events))
            ;; The line begun in an earlier chunk: only it is copied.
            (let ((line (concat partial (substring text start end))))
              (setf (aio-sse--parser-partial parser) "")
              (setq events (aio-sse--line parser line 0 (length line) events)))))
        (setq start (1+ end))
        (when (eq (aref text end) ?\r)
          (if (< start (length text))
              (when (eq (aref text start) ?\n)
                (setq start (1+ start)))
            (setf (aio-sse--parser-skip-lf parser) t))))
      (when (< start (length text))
        (setf (aio-sse--parser-partial parser)
              (concat (aio-sse--parser-partial parser) (substring text start)))))
    (nreverse events)))

(aio-defstream aio-sse--events (body)
  "Yield the events of BODY, a stream of event-stream bytes."
  (aio--detach-from-buffer)
  (let ((parser (aio-sse--make-parser)))
    (aio-dostream (chunk body)
      (dolist (event (aio-sse--feed parser chunk))
        (aio-yield event)))))

(declare-function aio-http--sse-stream "aio-http-stream" (body))

(defun aio-http-sse (stream)
  "Return a stream of the server-sent events read from STREAM.
STREAM yields unibyte strings, such as the body of a response to
`aio-http-request' with :as `stream'.  Each value of the result is an
`aio-sse-event'; see `aio-sse-event-type', `aio-sse-event-data',
`aio-sse-event-id' and `aio-sse-event-retry'.  The result ends when
STREAM ends (an event not ended by a blank line is dropped) and fails
as STREAM fails; closing it closes STREAM.

When STREAM is the body of such a response and nothing of it was read
yet, the loop thread parses the events itself, and STREAM ends at once:
read the events from the result only.  Bytes that are not UTF-8 then
become U+FFFD, as the WHATWG rules say; parsed in Lisp, they stay raw
bytes."
  (aio--check-stream stream)
  (or (and (fboundp 'aio-http--sse-stream) (aio-http--sse-stream stream))
      (aio-sse--events stream)))

(aio-defstream aio-sse--json (lines args)
  "Yield the JSON values of LINES, parsed with `json-parse-string' and ARGS."
  (aio--detach-from-buffer)
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
