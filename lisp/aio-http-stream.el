;;; aio-http-stream.el --- Streamed and file bodies for aio-http-request  -*- lexical-binding: t -*-

;; SPDX-License-Identifier: GPL-3.0-or-later

;;; Commentary:

;; The requests of `aio-http-request' whose transfer reports as it goes:
;; a body read as a stream (:as `stream'), a body written to a file by
;; the loop thread (:as (file PATH)), progress reports (:on-progress).
;; Each such transfer keeps its state in an `aio-http--transfer' record
;; and gets its events through `aio-http--on-event'.
;;
;; Backpressure of a streamed body.  The loop thread hands over at most
;; `aio-http-stream-window' bytes that Lisp has not acknowledged, then
;; pauses the transfer (curl's CURL_WRITEFUNC_PAUSE) until it has.  Lisp
;; acknowledges the bytes of a chunk as soon as the body stream takes it
;; with room to spare; once the stream is full, it holds them back until
;; the reader has taken the stream down to half (its ON-ROOM hook).  So
;; a reader that never reads holds at most twice the window: one window
;; in the stream, one on its way.
;;
;; `aio-http-download' is the command and function for downloads.

;;; Code:

(require 'cl-lib)
(require 'aio-promise)
(require 'aio-native)
(require 'aio-stream)
(require 'aio-http)
(require 'aio-file-read)

(declare-function aio-native--http-start "aio-native-module"
                  (id url method headers body options))
(declare-function aio-native--http-ack "aio-native-module" (id bytes))
(declare-function aio-native--http-stream-start "aio-native-module" (id sse))

(defvar aio-http--bodies (make-hash-table :test #'eq :weakness 'key)
  "Map from a streamed body not yet read to its `aio-http--transfer'.
The loop thread holds such a body until it is read, as bytes, or until
`aio-http-sse' asks for it as events, which the loop thread parses.")

(defvar aio-http-sse-bound 256
  "Most events a stream of `aio-http-sse' holds before its reader takes them.")

(cl-defstruct (aio-http--transfer (:constructor aio-http--make-transfer)
                                  (:copier nil))
  "A transfer of `aio-http-request' that reports as it goes.
ID is its operation id, PROMISE the promise of its response, URL what
it requested, AS the body form asked for, PROGRESS nil or the
function told of progress.  For a streamed body: STREAM the body,
HELD the bytes taken into it and not yet acknowledged, RESPONSE the
response handed out, DONE non-nil once the transfer has ended (then
closing STREAM stops nothing)."
  id promise url as progress
  (stream nil) (held 0) (response nil) (done nil))

(defun aio-http--start-reporting (url method headers body options promise as progress)
  "Start a transfer that sends news of its body; return PROMISE.
URL, METHOD, HEADERS, BODY and OPTIONS are as for `aio-http--start',
PROMISE the promise of the response, AS the body form (`stream',
\(file PATH) or a form of `aio-http--body'), PROGRESS nil or a
function called with four arguments; see `aio-http-request'."
  (let* ((state (aio-http--make-transfer :promise promise :url url :as as
                                         :progress progress))
         (id (aio-native--register (apply-partially #'aio-http--on-event state)
                                   (format "HTTP %s %s" method url)
                                   promise)))
    (setf (aio-http--transfer-id state) id)
    (aio-native--starting id
      (aio-native--http-start id url method headers body options))
    (setf (aio-promise-release promise)
          (if (eq (car-safe as) 'buffer)
              (apply-partially #'aio-http--cancel-into-buffer id (cadr as))
            (aio-http--canceller id)))
    promise))

(defun aio-http--cancel-into-buffer (id file)
  "Abort transfer ID, whose body was to be read from FILE, and delete FILE."
  (aio-http--cancel id)
  (delete-file file))

(defun aio-http--on-event (state status payload)
  "Take STATUS and PAYLOAD, news of the transfer of STATE.
STATUS is as for the handlers of `aio-native--pending'."
  (pcase status
    ('event (pcase (car payload)
              ('chunk (aio-http--on-chunk state (cdr payload)))
              ('sse (aio-http--on-events state (cdr payload)))
              ('headers (aio-http--on-headers state (cdr payload)))
              ('progress (aio-http--on-progress state (cdr payload)))))
    ('done (aio-http--on-done state payload))
    ('failed (aio-http--on-failed
              state (aio-http--condition payload (aio-http--transfer-url state))))
    ;; The loop was shut down under the transfer.
    (_ (aio-http--on-failed
        state (list 'aio-http-cancelled (aio-http--transfer-url state))))))

(defun aio-http--on-headers (state raw)
  "Resolve the promise of STATE with the response RAW, its body a stream.
The loop thread holds the body until it is first read; see
`aio-http--bodies'."
  (let ((stream (aio-stream nil :max-bytes aio-http-stream-window
                            :on-room (apply-partially #'aio-http--on-room state)
                            :on-close (apply-partially #'aio-http--on-closed state)))
        (response (aio-http--response raw 'string)))
    (setf (aio--stream-demand stream) (apply-partially #'aio-http--on-first-read state)
          (aio-http-response-body response) stream
          (aio-http--transfer-stream state) stream
          (aio-http--transfer-response state) response)
    (puthash stream state aio-http--bodies)
    (aio-resolve (aio-http--transfer-promise state) (aio--value-fn response))))

(defun aio-http--on-first-read (state stream)
  "Let the body of STATE go as bytes: STREAM, its body, is being read."
  (setf (aio--stream-demand stream) nil)
  (when (gethash stream aio-http--bodies)
    (remhash stream aio-http--bodies)
    (unless (aio-http--transfer-done state)
      (aio-native--http-stream-start (aio-http--transfer-id state) nil))))

(defun aio-http--sse-stream (body)
  "Return a stream of the events of BODY, parsed by the loop thread.
BODY is a streamed body not yet read (see `aio-http--bodies'), or nil
is returned.  BODY itself then ends at once."
  (let ((state (gethash body aio-http--bodies)))
    (when (and state (not (aio-http--transfer-done state)))
      (remhash body aio-http--bodies)
      (let ((events (aio-stream aio-http-sse-bound
                                :on-room (apply-partially #'aio-http--on-room state)
                                :on-close (apply-partially #'aio-http--on-closed state))))
        ;; The body is let go without stopping the transfer.
        (setf (aio--stream-on-close body) nil
              (aio--stream-demand body) nil
              (aio-http--transfer-stream state) events)
        (aio-stream-close body)
        (aio-native--http-stream-start (aio-http--transfer-id state) t)
        events))))

(defun aio-http--on-chunk (state bytes)
  "Put BYTES, the next piece of the body of STATE, into its stream."
  (let ((stream (aio-http--transfer-stream state)))
    (unless (aio-stream-closed-p stream)
      (if (aio-stream-push stream bytes)
          (aio-native--http-ack (aio-http--transfer-id state) (length bytes))
        (cl-incf (aio-http--transfer-held state) (length bytes))))))

(defun aio-http--on-events (state batch)
  "Put the events of BATCH, [BYTES EVENT...], into the stream of STATE."
  (let ((stream (aio-http--transfer-stream state))
        (room t)
        (i 1)
        (n (length batch)))
    (unless (aio-stream-closed-p stream)
      (while (< i n)
        (setq room (aio-stream-push stream (aref batch i))
              i (1+ i)))
      (if room
          (aio-native--http-ack (aio-http--transfer-id state) (aref batch 0))
        (cl-incf (aio-http--transfer-held state) (aref batch 0))))))

(defun aio-http--on-room (state _stream)
  "Acknowledge what the body stream of STATE held back: it has room again."
  (let ((held (aio-http--transfer-held state)))
    (unless (or (zerop held) (aio-http--transfer-done state))
      (setf (aio-http--transfer-held state) 0)
      (aio-native--http-ack (aio-http--transfer-id state) held))))

(defun aio-http--on-closed (state _stream)
  "Abort the transfer of STATE: its reader closed the body stream."
  (unless (aio-http--transfer-done state)
    (setf (aio-http--transfer-done state) t)
    (aio-http--cancel (aio-http--transfer-id state))))

(cl-defstruct (aio-http--progress (:type vector) (:constructor nil) (:copier nil)
                                  (:predicate nil))
  "The vector of a progress report of the module (module/emacs/payload.cpp).
Bytes DOWN and UP so far, and their totals, -1 while unknown."
  down down-total up up-total)

(defun aio-http--on-progress (state numbers)
  "Tell the progress function of STATE of NUMBERS, an `aio-http--progress'."
  (let ((function (aio-http--transfer-progress state)))
    (when function
      (condition-case-unless-debug err
          (let ((down-total (aio-http--progress-down-total numbers))
                (up-total (aio-http--progress-up-total numbers)))
            (funcall function (aio-http--progress-down numbers)
                     (and (>= down-total 0) down-total)
                     (aio-http--progress-up numbers)
                     (and (>= up-total 0) up-total)))
        (error (message "aio: error in an :on-progress function: %s"
                        (error-message-string err)))))))

(defun aio-http--on-done (state raw)
  "End the transfer of STATE, whose final response is RAW."
  (setf (aio-http--transfer-done state) t)
  (let ((promise (aio-http--transfer-promise state))
        (as (aio-http--transfer-as state))
        (stream (aio-http--transfer-stream state)))
    (cond
     ((eq as 'stream)
      (if stream
          (setf (aio-http-response--timing-data (aio-http--transfer-response state))
                (aio-http--raw-timings raw))
        ;; No final header block was seen streaming (nothing to stream).
        (setq stream (aio-stream 0))
        (aio-http--on-headers state raw))
      (aio-stream-close stream))
     ((eq (car-safe as) 'file)
      (let ((response (aio-http--response raw 'string)))
        (setf (aio-http-response-body response) (cadr as))
        (aio-resolve promise (aio--value-fn response))))
     ((eq (car-safe as) 'buffer)
      (aio-http--fill-buffer state raw))
     (t
      (aio-resolve promise
                   (condition-case err
                       (aio--value-fn (aio-http--response raw as))
                     ((error aio-cancel) (aio--error-fn err))))))))

(defun aio-http--fill-buffer (state raw)
  "Resolve the promise of STATE with the response RAW, its body in a buffer.
The loop thread wrote the body to the file of STATE's :as; it goes
into a new buffer through `aio-file-read', decoded with the charset of
RAW's Content-Type, else as UTF-8, in pieces over several turns of
the ready queue: a burst of big bodies does not hold Emacs.  The file
is deleted once read, and the buffer killed if the promise is
cancelled meanwhile."
  (let ((promise (aio-http--transfer-promise state))
        (file (cadr (aio-http--transfer-as state)))
        (buffer nil))
    (condition-case err
        (let* ((response (aio-http--response raw 'string))
               (coding (or (aio-http--charset (aio-http-response-headers response)) 'utf-8))
               (reading (aio-file-read file :as 'buffer
                                       :buffer (setq buffer (generate-new-buffer " *aio-http*"))
                                       :coding coding)))
          (setf (aio-promise-release promise) (apply-partially #'aio-cancel reading))
          (aio-listen reading (apply-partially #'aio-http--filled promise response file buffer)))
      ((error aio-cancel)
       (aio-http--filled promise nil file buffer (aio--error-fn err))))))

(defun aio-http--filled (promise response file buffer value-fn)
  "Settle PROMISE now that BUFFER was filled from FILE, as told by VALUE-FN.
On success PROMISE resolves to RESPONSE with BUFFER as its body; else
BUFFER is killed and PROMISE rejected alike.  FILE is deleted."
  (delete-file file)
  (condition-case err
      (progn
        (funcall value-fn)
        (with-current-buffer buffer
          (set-buffer-modified-p nil))
        (setf (aio-http-response-body response) buffer)
        (aio-resolve promise (aio--value-fn response)))
    ((error aio-cancel)
     (when buffer
       (kill-buffer buffer))
     (aio-resolve promise (aio--error-fn err)))))

(defun aio-http--on-failed (state condition)
  "End the transfer of STATE with CONDITION, an error condition."
  (setf (aio-http--transfer-done state) t)
  (when (eq (car-safe (aio-http--transfer-as state)) 'buffer)
    (delete-file (cadr (aio-http--transfer-as state))))
  (let ((stream (aio-http--transfer-stream state)))
    (if stream
        (unless (aio-stream-closed-p stream)
          (aio-stream-close stream condition))
      (aio-resolve (aio-http--transfer-promise state) (aio--error-fn condition)))))

;;; Downloads

(defun aio-http--read-download ()
  "Read the arguments of `aio-http-download' interactively."
  (let* ((url (read-string "Download URL: "))
         (name (file-name-nondirectory (car (split-string (url-unhex-string url) "[?#]"))))
         (path (read-file-name "Save to: " nil nil nil (and (not (equal name "")) name))))
    (list url (if (directory-name-p path) (expand-file-name name path) path))))

;;;###autoload
(defun aio-http-download (url path &rest args)
  "Download URL to the file PATH; return a promise of the response.
The loop thread writes the body to a temporary file beside PATH and
renames it to PATH only once the whole body is in: a failed or
cancelled download leaves nothing at PATH.  The promise resolves to an
`aio-http-response' whose body is PATH, or rejects as
`aio-http-request' does (also with `aio-http-file-error' when the file
cannot be written).  A response with an error status (404...) is not
written.  ARGS are keyword arguments of `aio-http-request' (not :as).

Interactively, ask for URL and PATH and show the progress in the echo
area."
  (interactive (aio-http--read-download))
  (when (plist-member args :as)
    (error "`aio-http-download' takes no :as"))
  (let* ((file (expand-file-name path))
         (reporter (and (called-interactively-p 'any)
                        (make-progress-reporter (format "Downloading %s..." url))))
         (progress (plist-get args :on-progress))
         (promise (apply #'aio-http-request url :as (list 'file file) :fail-on-error-status t
                         (if reporter
                             (append (list :on-progress (aio-http--reporter reporter progress))
                                     args)
                           args))))
    (when reporter
      (aio-listen promise (apply-partially #'aio-http--download-done reporter file)))
    promise))

(defun aio-http--reporter (reporter progress)
  "Return an :on-progress function updating REPORTER, then calling PROGRESS."
  (lambda (down total up up-total)
    (progress-reporter-force-update
     reporter nil (if total
                      (format "Downloading... %d%% of %s " (/ (* 100 down) (max total 1))
                              (file-size-human-readable total))
                    (format "Downloading... %s " (file-size-human-readable down))))
    (when progress (funcall progress down total up up-total))))

(defun aio-http--download-done (reporter path value-function)
  "Say how the download to PATH ended; REPORTER showed its progress.
VALUE-FUNCTION is the promise's."
  (condition-case err
      (progn (funcall value-function)
             (progress-reporter-done reporter)
             (message "Downloaded %s" (abbreviate-file-name path)))
    ((error aio-cancel)
     (message "Download to %s failed: %s" (abbreviate-file-name path)
              (error-message-string err)))))

(provide 'aio-http-stream)
;;; aio-http-stream.el ends here
