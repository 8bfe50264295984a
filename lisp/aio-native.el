;;; aio-native.el --- Async/await for Emacs Lisp on a native event loop  -*- lexical-binding: t; -*-

;; Copyright (C) 2026 The aio-native authors

;; Author: The aio-native authors
;; Version: 0.1.0
;; Package-Requires: ((emacs "28.1"))
;; URL: https://github.com/aio-native/aio-native
;; Keywords: processes, lisp
;; SPDX-License-Identifier: GPL-3.0-or-later

;; This file is not part of GNU Emacs.

;;; Commentary:

;; Starts the module's libuv loop, which runs on its own thread, and
;; carries its completions back to promises.  The loop wakes Emacs by
;; writing one byte to a pipe process; that process's filter drains the
;; finished operations (plain data keyed by integer ids) and resolves
;; the promises registered under those ids.  Nothing Lisp is ever held
;; by the module, so an abandoned promise is ordinary garbage.
;;
;; aio-native-registry.el keeps what Lisp waits for, by id; the
;; operations themselves live in files of their own (`aio-sleep' in
;; aio-time.el, HTTP in aio-http.el...).

;;; Code:

(require 'aio-promise)
(require 'aio-native-build)
(require 'aio-native-registry)

;; Defined by the module when it loads.
(declare-function aio-native--init "aio-native-module" (pipe-process))
(declare-function aio-native--shutdown "aio-native-module" ())
(declare-function aio-native--running-p "aio-native-module" ())
(declare-function aio-native--set-wake-enabled "aio-native-module" (flag))
(declare-function aio-native--drain "aio-native-module" (&optional max max-bytes))
(declare-function aio-native--stats "aio-native-module" ())

(defconst aio-native--wake-methods '(channel timer)
  "The values `aio-native-wake-method' may take.")

(defcustom aio-native-wake-method 'channel
  "How the native loop tells Emacs that operations have finished.
`channel': the loop writes a byte to a pipe Emacs already listens to;
completions arrive within a fraction of a millisecond and an idle Emacs
uses no CPU.  `timer': an Emacs timer polls every
`aio-native-poll-interval' seconds while operations are pending; kept as
a fallback and a yardstick.  Any other value is reported once and
treated as `channel'."
  :type '(choice (const :tag "Pipe wake-up" channel)
                 (const :tag "Polling timer" timer))
  :group 'aio-native
  :set (lambda (symbol value)
         (unless (memq value aio-native--wake-methods)
           (user-error "`%s' must be one of %S, not %S"
                       symbol aio-native--wake-methods value))
         (set-default symbol value)
         (when (fboundp 'aio-native--apply-wake-method)
           (aio-native--apply-wake-method))))

(defconst aio-native--default-poll-interval 0.002
  "The default of `aio-native-poll-interval'.")

(defcustom aio-native-poll-interval aio-native--default-poll-interval
  "Seconds between polls when `aio-native-wake-method' is `timer'.
A number from 0.001 to 1; any other value is reported once and the
default is used instead."
  :type 'number
  :group 'aio-native
  :set (lambda (symbol value)
         (unless (and (numberp value) (<= 0.001 value 1))
           (user-error "`%s' must be a number of seconds from 0.001 to 1, not %S"
                       symbol value))
         (set-default symbol value)))

(defconst aio-native--default-drain-batch 4096
  "The default of `aio-native-drain-batch'.")

(defvar aio-native-drain-batch aio-native--default-drain-batch
  "Most completions one wake-up hands to Lisp: a positive integer, or nil.
What is left is announced again, so that a flood of completions is
taken in slices and input is read between them.  nil means no limit;
any other value is reported once and the default is used instead.")

(defconst aio-native--default-drain-bytes (* 256 1024)
  "The default of `aio-native-drain-bytes'.")

(defvar aio-native-drain-bytes aio-native--default-drain-bytes
  "Most bytes of results (bodies, messages) one wake-up hands to Lisp.
A positive integer, or nil for no limit; any other value is reported
once and the default is used instead.  At least one completion is
taken whatever its size; the rest wait for the next turn, so that a
burst of large bodies does not hold Emacs in one long call.")

(defvar aio-native-start-functions nil
  "Functions called with no arguments each time the native loop starts.
For settings the loop forgets when it stops, such as HTTP connection
caps.")

(defconst aio-native--max-seconds 1e9
  "Longest duration accepted by native timers (about 31 years).")

(defvar aio-native--process nil
  "The pipe process the loop writes wake bytes to, or nil.")

(defconst aio-native--statuses [done cancelled failed event]
  "The statuses of completions, by the number the module gives them.
As Status in module/core/completion.hpp: `done', `cancelled', `failed',
and `event', news of an operation that goes on.")

(defvar aio-native--poll-timer nil
  "The polling timer of the `timer' wake method, while it runs.")

;;; Loop life cycle

(defsubst aio-native--complete (handler status payload)
  "Complete an operation through HANDLER with STATUS and PAYLOAD.
See `aio-native--pending' for what HANDLER may be."
  (if (functionp handler)
      (funcall handler status payload)
    (let ((promise (if (consp handler) (car handler) handler)))
      (cond ((eq status 'done)
             (aio-resolve promise (aio--value-fn (cdr-safe handler))))
            ((eq status 'failed)
             (aio-resolve promise
                          (aio--error-fn
                           (list 'aio-native-error
                                 (if (stringp payload) payload "native operation failed")))))
            (t (aio-cancel promise))))))


(defun aio-native--filter (_process _bytes)
  "Drain completions; the wake byte itself carries no information."
  (aio-native--dispatch (aio-native--drain-limit 'aio-native-drain-batch
                                                 aio-native--default-drain-batch)
                        (aio-native--drain-limit 'aio-native-drain-bytes
                                                 aio-native--default-drain-bytes)))

(defun aio-native--sentinel (process _event)
  "Replace PROCESS, the wake pipe, if it died under a running loop.
Somebody deleted it (or killed its buffer): without a new one, finished
work would wait for the next operation to be noticed."
  (unless (process-live-p process)
    (when (eq process aio-native--process)
      (setq aio-native--process nil)
      (aio-native--delete-wake-process process)
      (when (and (aio-native--running-p)
                 (not (zerop (hash-table-count aio-native--pending))))
        (aio-native-init)))))

(defun aio-native-init ()
  "Start the native loop if it is not running, and return non-nil.
Operations start it themselves; call this to start it early."
  ;; The wake pipe lives exactly as long as the loop: whoever stops the
  ;; loop deletes it (see `aio-native--loop-stopped').
  (unless (and aio-native--process (process-live-p aio-native--process))
    (aio-native-load-module)
    (let ((fresh (not (aio-native--running-p)))
          (old aio-native--process))
      (when old
        ;; A loop stopped behind our back: its wake pipe goes with it.
        (setq aio-native--process nil)
        (aio-native--delete-wake-process old))
      (let* (;; Adaptive buffering holds back small reads for up to tens
             ;; of milliseconds: every wake-up is a single byte.
             (process-adaptive-read-buffering nil)
             (process (make-pipe-process
                       :name " aio-native-wake"
                       ;; Emacs 28 makes a buffer even for :buffer nil.
                       :buffer (get-buffer-create " *aio-native-wake*")
                       :coding 'binary
                       :noquery t
                       :filter #'aio-native--filter
                       :sentinel #'aio-native--sentinel)))
        (aio-native--init process)
        (setq aio-native--process process)
        (add-hook 'kill-emacs-hook #'aio-native-shutdown)
        (when fresh
          (run-hooks 'aio-native-start-functions))
        (aio-native--apply-wake-method)
        ;; Completions that waited for a new pipe are announced by nobody.
        (aio-native--dispatch nil))))
  t)

(defun aio-native--delete-wake-process (process)
  "Delete PROCESS, a wake pipe, and its buffer."
  (let ((buffer (process-buffer process)))
    (when (process-live-p process)
      (delete-process process))
    (when (buffer-live-p buffer)
      (kill-buffer buffer))))

(defun aio-native--loop-stopped ()
  "Settle what Lisp waited for from a loop that has stopped.
The module calls this after `aio-native--shutdown': the loop dropped
its pending work, so every pending operation is rejected with
`aio-cancel', and the wake pipe is deleted.  The next operation starts
a new loop."
  (aio-native--stop-polling)
  (when aio-native--process
    (let ((process aio-native--process))
      (setq aio-native--process nil)
      (aio-native--delete-wake-process process)))
  (let ((handlers nil))
    (maphash (lambda (_id handler) (push handler handlers)) aio-native--pending)
    (clrhash aio-native--pending)
    (clrhash aio-native--info)
    (clrhash aio-native--by-promise)
    (dolist (handler (nreverse handlers))
      (aio-native--complete handler 'cancelled nil))))

(defun aio-native-shutdown ()
  "Stop the native loop and join its thread.
Every pending native operation is rejected with `aio-cancel'.  The next
native operation starts the loop again."
  (interactive)
  (if (fboundp 'aio-native--shutdown)
      ;; Calls `aio-native--loop-stopped' once the thread has ended.
      (aio-native--shutdown)
    (aio-native--loop-stopped)))

;;; Wake methods

(defvar aio-native--reported-settings nil
  "Bad settings already reported, as (SYMBOL . VALUE) pairs.")

(defun aio-native--setting (symbol valid-p default)
  "Return the value of SYMBOL if VALID-P accepts it, else DEFAULT.
A bad value is reported once, as a warning: a setting that silently
stopped the delivery of completions would hang every wait."
  (let ((value (symbol-value symbol)))
    (if (funcall valid-p value)
        value
      ;; Not `member': a value may be a circular list.
      (unless (let ((seen aio-native--reported-settings) (found nil))
                (while (and seen (not found))
                  (let ((pair (pop seen)))
                    (setq found (and (eq (car pair) symbol)
                                     (or (eq (cdr pair) value)
                                         (and (atom value) (equal (cdr pair) value)))))))
                found)
        (push (cons symbol value) aio-native--reported-settings)
        (display-warning 'aio (format "Bad value of `%s': %S; using %S instead"
                                      symbol value default)
                         :error))
      default)))

(defun aio-native--drain-limit (symbol default)
  "Return the drain limit in SYMBOL if valid, else DEFAULT.
Valid are nil (no limit) and a positive fixnum."
  (let ((value (symbol-value symbol)))
    ;; The common case without a call: this runs at every wake-up.
    (if (or (null value) (and (fixnump value) (> value 0)))
        value
      (aio-native--setting symbol #'ignore default))))

(defun aio-native--wake-method ()
  "Return the wake method in use: `aio-native-wake-method' if valid."
  (aio-native--setting 'aio-native-wake-method
                       (lambda (value) (memq value aio-native--wake-methods))
                       'channel))

(defun aio-native--poll-interval ()
  "Return the poll interval in use: `aio-native-poll-interval' if valid."
  (aio-native--setting 'aio-native-poll-interval
                       (lambda (value) (and (numberp value) (<= 0.001 value 1)))
                       aio-native--default-poll-interval))

(defun aio-native--apply-wake-method ()
  "Make the running loop use `aio-native-wake-method'."
  (when (and aio-native--process (fboundp 'aio-native--set-wake-enabled))
    (let ((method (aio-native--wake-method)))
      (aio-native--set-wake-enabled (eq method 'channel))
      (if (eq method 'timer)
          (aio-native--maybe-poll)
        (aio-native--stop-polling)
        (aio-native--dispatch nil)))))

(defun aio-native--poll ()
  "Drain from the polling timer; stop polling when nothing is pending."
  (aio-native--dispatch nil)
  (when (zerop (hash-table-count aio-native--pending))
    (aio-native--stop-polling)))

(defun aio-native--maybe-poll ()
  "Start the polling timer if the `timer' wake method needs it."
  ;; Every operation's start comes here: the usual value is taken as it
  ;; is, any other validated (and reported if bad).
  (when (and (not aio-native--poll-timer) (not (eq aio-native-wake-method 'channel))
             (eq (aio-native--wake-method) 'timer))
    (let ((interval (aio-native--poll-interval)))
      (setq aio-native--poll-timer
            (run-at-time interval interval #'aio-native--poll)))))

(defun aio-native--stop-polling ()
  "Cancel the polling timer, if any."
  (when aio-native--poll-timer
    (cancel-timer aio-native--poll-timer)
    (setq aio-native--poll-timer nil)))

;;; Operations

(defun aio-native--dispatch (max &optional max-bytes)
  "Take up to MAX completions (all if nil) and complete their promises.
With MAX-BYTES, take no more than that many bytes of results, but at
least one completion.  A handler that signals loses nothing but its
own operation: the report goes to `aio-native--report-error' and the
rest of the batch is completed all the same."
  (when (fboundp 'aio-native--drain)
    (let* ((done (aio-native--drain max max-bytes))
           (n (length done))
           (i 0))
      ;; One handler for the batch, entered again after an error, costs
      ;; less than a handler per completion.  Not `-unless-debug': the
      ;; completions after an error would be lost to the debugger.
      (while (< i n)
        (condition-case err
            (while (< i n)
              (let* ((id (aref done i))
                     (handler (gethash id aio-native--pending)))
                (setq i (+ i 3))
                (when handler
                  (let ((status (aref aio-native--statuses (aref done (- i 2)))))
                    (if (eq status 'event)
                        ;; The operation goes on.  Only operations whose
                        ;; handler is a function send events.
                        (funcall handler status (aref done (- i 1)))
                      (aio-native--forget id)
                      (aio-native--complete handler status (aref done (- i 1))))))))
          (error (aio-native--report-error err)))))))

(defun aio-native--report-error (err)
  "Report ERR, signaled while completing a native operation."
  (message "aio: error while completing a native operation: %s"
           (error-message-string err)))

(defun aio-native--register (handler &optional description promise)
  "Return a fresh operation id to be completed through HANDLER.
HANDLER is called with STATUS and PAYLOAD, see `aio-native--pending'.
DESCRIPTION, a string such as \"HTTP GET https://example.org/\", says
what the operation is, and PROMISE is the promise it settles (for a
sleep, the car of HANDLER); with a DESCRIPTION, or while
`aio-native--trackers' is non-nil, both are recorded, with the time,
for `aio-list-tasks' and `aio-trace-mode'."
  (aio-native-init)
  (let ((id (setq aio-native--last-id (1+ aio-native--last-id))))
    (puthash id handler aio-native--pending)
    (when (or description aio-native--trackers)
      (let ((settles (or promise (aio-native--sleep-promise handler))))
        (puthash id (list (float-time) description settles) aio-native--info)
        (when settles
          (puthash settles id aio-native--by-promise))))
    (aio-native--maybe-poll)
    id))

(defun aio-native--check-seconds (seconds)
  "Signal unless SECONDS is a number of seconds a native timer accepts."
  (unless (numberp seconds)
    (signal 'wrong-type-argument (list 'numberp seconds)))
  ;; NaN fails this comparison too.
  (unless (<= 0 seconds aio-native--max-seconds)
    (signal 'args-out-of-range (list seconds 0 aio-native--max-seconds))))

(defun aio-native--check-timeout (seconds)
  "Signal unless SECONDS is nil or a timeout: over 0, as a timer takes it."
  (when seconds
    (aio-native--check-seconds seconds)
    (when (zerop seconds)
      (signal 'args-out-of-range (list seconds 0 aio-native--max-seconds)))))

;;; Introspection

(defun aio-native-stats ()
  "Return a plist of counters of the native loop.
:running       whether the loop runs
:timers-pending native timers not yet finished
:http-pending  HTTP transfers not yet finished
:files-pending file operations not yet finished
:dns-pending   name lookups not yet finished
:servers-pending HTTP servers and requests not yet finished
:tls-pending   TLS connections open or being made, and their writes
:commands      requests sent to the loop
:completions   finished operations handed to Lisp
:wakeups       bytes written to the wake pipe
:drains        times Lisp took completions
:lisp-pending  operations Lisp still waits for
:wake-method   the value of `aio-native-wake-method'"
  (append (if (fboundp 'aio-native--stats)
              (aio-native--stats)
            '(:running nil))
          (list :lisp-pending (hash-table-count aio-native--pending)
                :wake-method aio-native-wake-method)))

(provide 'aio-native)
;;; aio-native.el ends here
