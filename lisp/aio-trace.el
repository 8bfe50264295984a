;;; aio-trace.el --- Log the pauses and resumes of async functions  -*- lexical-binding: t -*-

;; SPDX-License-Identifier: GPL-3.0-or-later

;;; Commentary:

;; `aio-trace-mode' is a global minor mode for debugging: while it is
;; on, every pause of an async function (which function, what it
;; awaits), every resume (how long it waited, whether it resumes with a
;; cancellation) and every end (returned, failed, canceled) is logged,
;; one line each, to the buffer `*aio-trace*'.  The buffer keeps the
;; latest `aio-trace-max-lines' lines.
;;
;; When the mode is off, the driver only tests one variable per pause,
;; resume and end.

;;; Code:

(require 'cl-lib)
(require 'aio-promise)
(require 'aio-native)
(require 'aio-async)
(require 'aio-tasks)

(defgroup aio-trace nil
  "Logging what async functions do."
  :group 'aio-native
  :prefix "aio-trace-")

(defcustom aio-trace-max-lines 5000
  "Most lines the buffer of `aio-trace-mode' keeps; older ones are removed."
  :type 'natnum
  :group 'aio-trace)

(defconst aio-trace-buffer-name "*aio-trace*"
  "The name of the buffer `aio-trace-mode' logs to.")

(defvar aio-trace--awaits (make-hash-table :test #'eql)
  "Map from the number of a paused task to (WHAT . TIME).
WHAT says what it awaits, TIME is the `float-time' of the pause.")

(defvar-local aio-trace--lines 0
  "How many lines the trace buffer holds.")

(define-derived-mode aio-trace-log-mode special-mode "aio Trace"
  "Major mode of the buffer `aio-trace-mode' logs to."
  (setq-local truncate-lines t)
  (setq buffer-undo-list t))

(defun aio-trace--buffer ()
  "Return the trace buffer, made if need be."
  (or (get-buffer aio-trace-buffer-name)
      (with-current-buffer (get-buffer-create aio-trace-buffer-name)
        (aio-trace-log-mode)
        (current-buffer))))

(defun aio-trace--insert (line)
  "Append LINE, and a newline, to the trace buffer; drop the oldest lines."
  (with-current-buffer (aio-trace--buffer)
    (let ((inhibit-read-only t)
          (following (cl-loop for window in (get-buffer-window-list (current-buffer) nil t)
                              when (= (window-point window) (point-max))
                              collect window))
          (at-end (= (point) (point-max))))
      (save-excursion
        (goto-char (point-max))
        (insert line "\n")
        (setq aio-trace--lines (1+ aio-trace--lines))
        (when (> aio-trace--lines aio-trace-max-lines)
          (goto-char (point-min))
          (forward-line (- aio-trace--lines aio-trace-max-lines))
          (delete-region (point-min) (point))
          (setq aio-trace--lines aio-trace-max-lines)))
      (when at-end
        (goto-char (point-max)))
      (dolist (window following)
        (set-window-point window (point-max))))))

(defun aio-trace--task (task)
  "Return how TASK is shown in the trace: its name and number."
  (format "%s #%d" (aio-tasks--name task) (aio--task-id task)))

(defun aio-trace--outcome (value-function)
  "Return a string saying how VALUE-FUNCTION, a task's outcome, ends."
  (condition-case err
      (progn (funcall value-function) "returned")
    (aio-cancel (format "canceled%s"
                        (if (cdr err) (format " (%S)" (cdr err)) "")))
    ;; Also `quit', which is no `error'.
    (t (format "failed: %s" (error-message-string err)))))

(defun aio-trace--line (event task value-function)
  "Return the trace line of EVENT of TASK; see `aio--trace-function'.
VALUE-FUNCTION is only looked at for the event `finish'."
  (let ((id (aio--task-id task)))
    (concat
     (format-time-string "%T.%3N ")
     (pcase event
       ('pause
        (let ((what (aio-tasks--describe-await task t)))
          (puthash id (cons what (float-time)) aio-trace--awaits)
          (format "pause  %s  awaits %s" (aio-trace--task task) what)))
       ('resume
        (let* ((pause (gethash id aio-trace--awaits))
               (what (or (car pause) (aio-tasks--describe-await task t)))
               ;; Paused before tracing began: whole seconds only.
               (since (aio--task-paused-at task)))
          (remhash id aio-trace--awaits)
          (format "resume %s  after %s%s  (%s)"
                  (aio-trace--task task)
                  (cond (pause (format "%.3fs" (- (float-time) (cdr pause))))
                        (since (format "about %ds" (- (time-convert nil 'integer)
                                                      since)))
                        (t "?"))
                  (if (aio--task-cancels task) ", canceled" "")
                  what)))
       ('finish
        (remhash id aio-trace--awaits)
        (format "end    %s  %s" (aio-trace--task task)
                (aio-trace--outcome value-function)))))))

(defun aio-trace--record (event task value-function)
  "Log EVENT of TASK to the trace buffer; see `aio--trace-function'.
VALUE-FUNCTION is as that variable says."
  (condition-case err
      (save-match-data
        (aio-trace--insert (aio-trace--line event task value-function)))
    (error (message "aio-trace: %s" (error-message-string err)))))

;;;###autoload
(define-minor-mode aio-trace-mode
  "Log each pause, resume and end of async functions to a buffer.
While this global mode is on, the buffer `aio-trace-buffer-name' gets
one line for each pause of an async function (its name and number and
what it awaits), each resume (how long it waited, and whether it
resumes with a cancellation) and each end (returned, failed or
canceled).  It keeps the latest `aio-trace-max-lines' lines.

Each pause and resume is written as it happens, so tracing slows a
busy program down; turn it off when done."
  :global t
  :group 'aio-trace
  (clrhash aio-trace--awaits)
  (setq aio--trace-function (and aio-trace-mode #'aio-trace--record))
  (aio-native--track 'aio-trace aio-trace-mode))

(provide 'aio-trace)
;;; aio-trace.el ends here
