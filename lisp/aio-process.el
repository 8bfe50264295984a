;;; aio-process.el --- Subprocesses as streams for aio  -*- lexical-binding: t -*-

;;; Commentary:

;; `aio-process' runs a command with Emacs's own `make-process' (so it
;; is listed by `list-processes', and Emacs keeps its hands on signals,
;; ptys and encodings) and hands out its output as `aio-stream's of
;; text chunks, its exit as a promise, and its input as promises of
;; writes.  `aio-process-output' runs a command to its end and gives
;; its exit status and whole output, as asyncio's communicate() does.
;;
;; Backpressure.  When a reader falls behind, Emacs stops reading:
;;
;; - For stdout, the process's process group is stopped with SIGSTOP
;;   and continued with `continue-process' once the reader has caught
;;   up.  `set-process-filter' to t alone is not enough for a real
;;   subprocess: if the process exits while its filter is t, Emacs
;;   closes the pipe without reading what is left in it, and that
;;   output is lost.  A stopped process cannot exit, and what it wrote
;;   before it stopped (at most the pipe's capacity, 64 KiB on Linux)
;;   is still read.
;; - For stderr, read through a pipe process, setting its filter to t
;;   is enough: a pipe process ends only when it reads the end of its
;;   input, so nothing is lost, and the process blocks on its writes.
;;
;; So each stream holds at most its byte bound (`aio-process-max-bytes'
;; by default), plus what was in the pipe when the process was
;; stopped, plus one read (`read-process-output-max').  A stream nobody
;; reads stops the process once it is full: read both streams, or
;; close the one you do not want (its output is then thrown away), or
;; ask for `:stderr' `merge' or `discard'.
;;
;; Writes to stdin are queued and sent in slices, waiting while the
;; process is stopped, so that Emacs never blocks on a process that it
;; stopped itself.
;;
;; Cancellation.  `aio-cancel' on the exit promise (or on an
;; `aio-process-output' promise) sends SIGTERM to the process group,
;; then SIGKILL after `aio-process-kill-grace-seconds'; the promise
;; settles once Emacs has reaped the process and the pipes are closed:
;; no zombie, no process in `list-processes', no buffer left.

;;; Code:

(require 'cl-lib)
(require 'aio-promise)
(require 'aio-async)
(require 'aio-cancel)
(require 'aio-time)
(require 'aio-util)
(require 'aio-combinators)
(require 'aio-stream)

(define-error 'aio-process-error "Process failed")

(defvar aio-process-max-bytes (* 256 1024)
  "The default byte bound of the stdout and stderr streams of a process.")

(defvar aio-process-kill-grace-seconds 2.0
  "Seconds a canceled process has to exit after SIGTERM before SIGKILL.")

(defvar aio-process-linger-seconds 1.0
  "Seconds stderr may stay open after its process has exited.
A child of the process that lives on may keep the stderr pipe open;
after this long the pipe is closed and the process counts as ended.")

(defconst aio--process-slice 4096
  "Characters sent to a process's stdin at once.")

(defconst aio--process-stderr-tail 2000
  "Characters of stderr kept in an `aio-process-error'.")

(cl-defstruct (aio-process (:constructor aio--make-process (command))
                           (:conc-name aio--process-)
                           (:copier nil))
  "A subprocess run by `aio-process'.
COMMAND is its command line, PROCESS the Emacs process, STDERR-PROCESS
the pipe process reading its stderr until that ends; STDOUT and STDERR
its output streams (STDERR nil when merged or discarded).  EXIT is the
promise of its exit, REAPED the internal promise resolved with STATUS
once it has exited and stderr has ended.  STOPPED is non-nil while
Emacs keeps it stopped, and RESUMED is then a promise resolved when
it continues.  INBOX holds the writes still to send, (DATA . PROMISE),
SENDER is the task sending them, SENDING non-nil while a slice is
being written, EOF non-nil once end of input was queued.  KILLING is
non-nil once it was canceled; KILL-TIMER and LINGER-TIMER are its
timers."
  command (process nil) (stderr-process nil) (stdout nil) (stderr nil)
  (exit nil) (reaped (aio-promise)) (status nil)
  (stopped nil) (resumed nil)
  (inbox nil) (sender nil) (sending nil) (eof nil)
  (killing nil) (kill-timer nil) (linger-timer nil))

(defun aio--check-process (object)
  "Return OBJECT if it is an `aio-process', else signal `wrong-type-argument'."
  (unless (aio-process-p object)
    (signal 'wrong-type-argument (list 'aio-process-p object)))
  object)

(defun aio-process-stdout (process)
  "Return the stream of the stdout of PROCESS, an `aio-process'.
Its values are strings as Emacs reads them, decoded by the process's
coding system; `aio-stream-lines' turns them into lines."
  (aio--process-stdout (aio--check-process process)))

(defun aio-process-stderr (process)
  "Return the stream of the stderr of PROCESS, or nil if not kept apart."
  (aio--process-stderr (aio--check-process process)))

(defun aio-process-exit (process)
  "Return the promise of the exit status of PROCESS, an `aio-process'.
It resolves, once PROCESS has exited and Emacs has reaped it, to its
exit code, or to minus the number of the signal that killed it (-9
for SIGKILL).  `aio-cancel' on it kills PROCESS; see `aio-process'."
  (aio--process-exit (aio--check-process process)))

(defun aio-process-process (process)
  "Return the Emacs process object of PROCESS, an `aio-process'."
  (aio--process-process (aio--check-process process)))

;;;; Output and flow control

(defun aio--process-filter (object which _process chunk)
  "Put CHUNK, output of OBJECT's WHICH (`stdout' or `stderr'), in its stream."
  (let ((stream (if (eq which 'stdout)
                    (aio--process-stdout object)
                  (aio--process-stderr object))))
    ;; A stream its reader closed throws output away.
    (when (and stream (not (aio--stream-done stream))
               (not (aio-stream-push stream chunk)))
      (aio--process-flow object))))

(defun aio--process-wants-stop (stream)
  "Return non-nil if the reader of STREAM is too far behind its producer."
  (and stream (aio--stream-blocked stream) (not (aio--stream-done stream))))

(defun aio--process-signal (object signal)
  "Send SIGNAL to the process group of OBJECT's process, unless it has exited."
  (let ((process (aio--process-process object)))
    (when (and process (not (aio--process-status object))
               (process-live-p process) (process-id process))
      (signal-process (- (process-id process)) signal))))

(defvar aio--processes-stopped (make-hash-table :test #'eq)
  "The `aio-process'es whose process group Emacs keeps stopped.")

(defun aio--process-continue-all ()
  "Let every process that Emacs stopped run again, as Emacs exits.
Else they would stay stopped for good, deaf to the SIGHUP Emacs sends
them."
  (maphash (lambda (object _) (aio--process-signal object 'SIGCONT))
           aio--processes-stopped))

(add-hook 'kill-emacs-hook #'aio--process-continue-all)

(defun aio--process-continue (object)
  "Let OBJECT's process, which Emacs stopped, run again."
  (remhash object aio--processes-stopped)
  (setf (aio--process-stopped object) nil)
  (let ((process (aio--process-process object)))
    (when (and (not (aio--process-status object)) (process-live-p process))
      ;; Also tells Emacs that it runs again, which allows writes.
      (ignore-errors (continue-process process))))
  (let ((resumed (aio--process-resumed object)))
    (setf (aio--process-resumed object) nil)
    (when resumed (aio-resolve resumed #'ignore))))

(defun aio--process-flow (object)
  "Stop or continue reading OBJECT's output as its readers need."
  (let ((stop (and (aio--process-wants-stop (aio--process-stdout object))
                   (not (aio--process-killing object)))))
    (cond ((and stop (not (aio--process-stopped object))
                (not (aio--process-sending object)))
           (setf (aio--process-stopped object) t
                 (aio--process-resumed object) (aio-promise))
           (puthash object t aio--processes-stopped)
           (aio--process-signal object 'SIGSTOP))
          ((and (not stop) (aio--process-stopped object))
           (aio--process-continue object))))
  (let ((pipe (aio--process-stderr-process object)))
    (when pipe
      (let ((stop (and (aio--process-wants-stop (aio--process-stderr object))
                       (not (aio--process-killing object))))
            (stopped (eq (process-filter pipe) t)))
        (cond ((and stop (not stopped)) (set-process-filter pipe t))
              ((and (not stop) stopped)
               (set-process-filter pipe (apply-partially #'aio--process-filter
                                                         object 'stderr))))))))

(defun aio--process-later (object _stream)
  "Look at OBJECT's flow control again, from the ready queue.
The hooks of its streams call this from inside a reader's call,
where `continue-process' (which may run sentinels) must not run."
  (aio--enqueue #'aio--process-flow object)
  (aio--schedule))

;;;; The end

(defun aio--process-delete (process)
  "Delete PROCESS and kill its buffer."
  (let ((buffer (process-buffer process)))
    (delete-process process)
    (when (buffer-live-p buffer)
      (kill-buffer buffer))))

(defun aio--process-ended (object)
  "Resolve the reaping of OBJECT if it has exited and stderr has ended."
  (when (and (aio--process-status object)
             (null (aio--process-stderr-process object)))
    (when (aio--process-kill-timer object)
      (cancel-timer (aio--process-kill-timer object))
      (setf (aio--process-kill-timer object) nil))
    (aio-resolve (aio--process-reaped object)
                 (aio--value-fn (aio--process-status object)))))

(defun aio--process-stderr-ended (object)
  "Close the stderr of OBJECT: delete its pipe process, end its stream."
  (let ((pipe (aio--process-stderr-process object)))
    (when pipe
      (setf (aio--process-stderr-process object) nil)
      (when (aio--process-linger-timer object)
        (cancel-timer (aio--process-linger-timer object))
        (setf (aio--process-linger-timer object) nil))
      (aio--process-delete pipe)
      (when (aio--process-stderr object)
        (aio--stream-finish (aio--process-stderr object) t))
      (aio--process-ended object))))

(defun aio--process-linger (object)
  "Close the stderr of OBJECT, whose process exited a while ago.
Not while its reader is behind, unless OBJECT was canceled."
  (setf (aio--process-linger-timer object) nil)
  (let ((pipe (aio--process-stderr-process object)))
    (when pipe
      (if (or (aio--process-killing object) (not (eq (process-filter pipe) t)))
          (aio--process-stderr-ended object)
        (setf (aio--process-linger-timer object)
              (run-at-time aio-process-linger-seconds nil
                           #'aio--process-linger object))))))

(defun aio--process-stderr-sentinel (object pipe _event)
  "React to a change of state of PIPE, the reader of OBJECT's stderr."
  (unless (process-live-p pipe)
    (aio--process-stderr-ended object)))

(defun aio--process-fail-writes (object)
  "Reject the writes OBJECT still had to send: its process has exited."
  (let ((error (aio--error-fn (list 'error (format "Process %s has exited"
                                                   (process-name (aio--process-process object)))))))
    (dolist (entry (aio--process-inbox object))
      (aio-resolve (cdr entry) error))
    (setf (aio--process-inbox object) nil)))

(defun aio--process-sentinel (object process _event)
  "React to a change of state of PROCESS, the process of OBJECT."
  (when (and (memq (process-status process) '(exit signal))
             (not (aio--process-status object)))
    (setf (aio--process-status object)
          (if (eq (process-status process) 'exit)
              (process-exit-status process)
            (- (process-exit-status process))))
    ;; Emacs has read what was left of stdout: the sentinel runs after.
    (aio--stream-finish (aio--process-stdout object) t)
    (aio--process-continue object)
    (aio--process-delete process)
    (aio--process-fail-writes object)
    (if (aio--process-stderr-process object)
        (setf (aio--process-linger-timer object)
              (run-at-time aio-process-linger-seconds nil
                           #'aio--process-linger object))
      (aio--process-ended object))))

;;;; Cancellation

(defun aio--process-kill-now (object)
  "Send SIGKILL to OBJECT's process group: its grace period is over."
  (setf (aio--process-kill-timer object) nil)
  (aio--process-signal object 'SIGKILL))

(defun aio--process-kill (object)
  "Kill OBJECT's process: SIGTERM now, SIGKILL after the grace period."
  (unless (aio--process-killing object)
    (setf (aio--process-killing object) t)
    (aio--process-signal object 'SIGTERM)
    ;; A stopped process acts on SIGTERM only once continued.
    (aio--process-signal object 'SIGCONT)
    (aio--process-flow object)
    (unless (aio--process-status object)
      (setf (aio--process-kill-timer object)
            (run-at-time aio-process-kill-grace-seconds nil
                         #'aio--process-kill-now object)))))

(defvar aio--process-waits (make-hash-table :test #'eq :weakness 'key)
  "Promises awaited by exit tasks, mapped to their `aio-process'.")

(defun aio--process-reaping (object)
  "Return a promise of the reaping of OBJECT, which may be canceled alone."
  (let ((promise (aio-shield (aio--process-reaped object))))
    (puthash promise object aio--process-waits)
    promise))

(put 'aio--process-reaping 'aio-tasks-describe-function
     (lambda (promise)
       (let ((object (gethash promise aio--process-waits)))
         (and object (format "exit of process %s"
                             (process-name (aio--process-process object)))))))

(aio-defun aio--process-wait (object)
  "Return the exit status of OBJECT once it is reaped.
Canceled, kill the process, and end canceled once it is reaped."
  (aio--detach-from-buffer)
  (let ((canceled nil)
        (reaped (aio--process-reaped object)))
    (while (not (aio-promise-result reaped))
      (condition-case err
          (aio-await (aio--process-reaping object))
        (aio-cancel
         (unless canceled
           (setq canceled err)
           (aio--process-kill object)))))
    (when canceled
      (signal (car canceled) (cdr canceled)))
    (funcall (aio-promise-result reaped))))

;;;; Input

(defun aio--process-write (object text)
  "Send TEXT, or the end of input if TEXT is `eof', to OBJECT's process now."
  (setf (aio--process-sending object) t)
  (unwind-protect
      (if (eq text 'eof)
          (process-send-eof (aio--process-process object))
        (process-send-string (aio--process-process object) text))
    (setf (aio--process-sending object) nil)
    (aio--process-flow object)))

(aio-defun aio--process-send-all (object)
  "Send the writes queued for OBJECT, in order, waiting while it is stopped."
  (aio--detach-from-buffer)
  (let (entry)
    (while (setq entry (pop (aio--process-inbox object)))
      (let ((data (car entry))
            (promise (cdr entry))
            (start 0))
        (condition-case err
            (progn
              (while (and (not (aio-promise-result promise))
                          (or (eq data 'eof) (< start (length data))))
                ;; Emacs refuses to write to a stopped process.
                (while (aio--process-stopped object)
                  (aio-await (aio--process-resumed object)))
                (if (eq data 'eof)
                    (progn (aio--process-write object 'eof)
                           (setq data ""))
                  (let ((end (min (length data) (+ start aio--process-slice))))
                    (aio--process-write object (substring data start end))
                    (setq start end))))
              (aio-resolve promise #'ignore))
          (error (aio-resolve promise (aio--error-fn err))))))))

(defun aio--process-queue (object data)
  "Queue DATA, a string or `eof', for OBJECT's stdin; return its promise."
  (let ((promise (aio-promise)))
    (cond
     ((aio--process-status object)
      (aio-resolve promise (aio--error-fn
                            (list 'error (format "Process %s has exited"
                                                 (process-name (aio--process-process object)))))))
     ((aio--process-eof object)
      (aio-resolve promise (aio--error-fn
                            (list 'error (format "End of input already sent to %s"
                                                 (process-name (aio--process-process object)))))))
     (t
      (when (eq data 'eof)
        (setf (aio--process-eof object) t))
      (setf (aio--process-inbox object)
            (nconc (aio--process-inbox object) (list (cons data promise))))
      (let ((sender (aio--process-sender object)))
        ;; The sender may run to its end at once.
        (unless (and sender (null (aio-promise-result sender)))
          (setf (aio--process-sender object) (aio--process-send-all object))))))
    promise))

(defun aio-process-send (process string)
  "Write STRING to the stdin of PROCESS, an `aio-process'.
Return a promise resolved once STRING has been handed to the
operating system, encoded with the process's coding system.  Writes
go out in the order they were asked for, and wait while the process
is stopped because a reader of its output is behind: read its output
meanwhile, or the write waits for good.  Canceling the promise sends
nothing more of STRING.  The promise is rejected if the process has
exited or its end of input was sent."
  (aio--check-process process)
  (unless (stringp string)
    (signal 'wrong-type-argument (list 'stringp string)))
  (aio--process-queue process string))

(defun aio-process-send-eof (process)
  "Close the stdin of PROCESS after the writes queued before.
Return a promise resolved once it is closed; see `aio-process-send'."
  (aio--check-process process)
  (aio--process-queue process 'eof))

;;;; Starting

(defun aio--check-command (command)
  "Signal `wrong-type-argument' unless COMMAND is a non-empty list of strings."
  (unless (and (consp command) (aio--string-list-p command))
    (signal 'wrong-type-argument (list 'aio-command-p command))))

(defun aio--process-stream (object name)
  "Return a new output stream for OBJECT, named NAME."
  (let ((stream (aio-stream nil :max-bytes aio-process-max-bytes
                            :on-room (apply-partially #'aio--process-later object)
                            :on-close (apply-partially #'aio--process-later object))))
    (setf (aio--stream-name stream) name)
    stream))

(defun aio--process-check-coding (coding)
  "Signal `coding-system-error' unless CODING is nil, a coding system or a pair."
  (when coding
    (if (consp coding)
        (progn (check-coding-system (car coding)) (check-coding-system (cdr coding)))
      (check-coding-system coding))))

(cl-defun aio-process (&key command name (connection-type 'pipe) coding
                            (stderr 'stream) directory environment noquery
                            (max-bytes aio-process-max-bytes))
  "Start a subprocess as `make-process' does; return an `aio-process'.
COMMAND is the program and its arguments, a list of strings.  NAME
names the process (default: the program's name).  CONNECTION-TYPE is
`pipe' (the default) or `pty'.  CODING is the coding system of its
input and output, as for `make-process'.  STDERR is `stream' (the
default: a stream apart, see `aio-process-stderr'), `merge' (into
stdout) or `discard'.  DIRECTORY is the directory it runs in (default
`default-directory').  ENVIRONMENT is a list of \"NAME=VALUE\" strings
added in front of `process-environment'.  NOQUERY non-nil means Emacs
does not ask about the process when it exits.

Each output stream holds at most MAX-BYTES (default
`aio-process-max-bytes') bytes and what Emacs read before it could
stop the process; while it is full, the process waits.  See the
commentary of aio-process.el.

Read its output with `aio-process-stdout' and `aio-process-stderr',
write its input with `aio-process-send' and `aio-process-send-eof',
await its exit with `aio-process-exit'; `aio-cancel' on that promise
kills it.  A command that cannot be found, or a DIRECTORY that does
not exist, signals `file-missing' here."
  (aio--check-command command)
  (unless (memq connection-type '(pipe pty))
    (signal 'wrong-type-argument (list '\(member\ pipe\ pty\) connection-type)))
  (unless (memq stderr '(stream merge discard))
    (signal 'wrong-type-argument (list '\(member\ stream\ merge\ discard\) stderr)))
  (unless (aio--string-list-p environment)
    (signal 'wrong-type-argument (list 'listp environment)))
  (when name (cl-check-type name string))
  (when directory (cl-check-type directory string))
  (aio--process-check-coding coding)
  (aio--check-size max-bytes)
  (when (zerop max-bytes)
    (signal 'args-out-of-range (list max-bytes)))
  (let* ((object (aio--make-process command))
         (aio-process-max-bytes max-bytes)
         (name (or name (file-name-nondirectory (car command))))
         (default-directory (if directory
                                (file-name-as-directory (expand-file-name directory))
                              default-directory))
         (process-environment (append environment process-environment))
         ;; The streams before the pipe: nothing may fail once it exists
         ;; but what the `condition-case' below cleans up after.
         (stdout (aio--process-stream object (concat "stdout of " name)))
         (stderr-stream (and (eq stderr 'stream)
                             (aio--process-stream object (concat "stderr of " name))))
         (pipe (unless (eq stderr 'merge)
                 ;; Emacs 28 makes a buffer even when told not to.
                 (let ((buffer (generate-new-buffer (format " *%s stderr*" name))))
                   (condition-case err
                       (make-pipe-process
                        :name (concat name " stderr")
                        :buffer buffer
                        :noquery t :coding coding
                        :filter (if (eq stderr 'discard)
                                    #'ignore
                                  (apply-partially #'aio--process-filter object 'stderr))
                        :sentinel (apply-partially #'aio--process-stderr-sentinel object))
                     (error (kill-buffer buffer)
                            (signal (car err) (cdr err))))))))
    (setf (aio--process-stdout object) stdout
          (aio--process-stderr object) stderr-stream
          (aio--process-stderr-process object) pipe)
    (condition-case err
        (setf (aio--process-process object)
              (make-process :name name :command command :buffer nil
                            :connection-type connection-type :coding coding
                            :noquery noquery :stderr pipe
                            :filter (apply-partially #'aio--process-filter object 'stdout)
                            :sentinel (apply-partially #'aio--process-sentinel object)))
      (error
       (when pipe (aio--process-delete pipe))
       (signal (car err) (cdr err))))
    (setf (aio--process-exit object) (aio--process-wait object))
    object))

;;;; Running to the end

(defun aio--process-tail (text)
  "Return the end of TEXT, at most `aio--process-stderr-tail' characters."
  (if (> (length text) aio--process-stderr-tail)
      (substring text (- (length text) aio--process-stderr-tail))
    text))

(aio-defun aio--process-output (command input directory coding timeout check)
  "Run COMMAND to its end; see `aio-process-output' for the other arguments."
  (aio--detach-from-buffer)
  (let ((object (aio-process :command command :directory directory
                             :coding coding :noquery t)))
    (condition-case err
        (aio-with-timeout timeout
          (let ((stdout (aio-stream-collect (aio--process-stdout object)))
                (stderr (aio-stream-collect (aio--process-stderr object))))
            (when input
              (aio-process-send object input))
            (aio-process-send-eof object)
            (let* ((status (aio-await (aio--process-exit object)))
                   (out (apply #'concat (aio-await stdout)))
                   (errors (apply #'concat (aio-await stderr))))
              (when (and check (not (eql status 0)))
                (signal 'aio-process-error
                        (list (mapconcat #'identity command " ") status
                              (aio--process-tail errors))))
              (list status out errors))))
      ((aio-cancel aio-timeout error)
       ;; Settle only once the process is gone.
       (aio-cancel (aio--process-exit object))
       (aio-await (aio-catch (aio--process-exit object)))
       (signal (car err) (cdr err))))))

(cl-defun aio-process-output (command &key input directory coding timeout (check t))
  "Run COMMAND to its end; return a promise of (STATUS STDOUT STDERR).
COMMAND is the program and its arguments, a list of strings.  INPUT,
if non-nil, is a string written to its stdin, which is then closed.
DIRECTORY and CODING are as for `aio-process'.  STATUS is as for
`aio-process-exit', STDOUT and STDERR are strings.

Unless CHECK is nil, a STATUS other than 0 rejects the promise with
\(aio-process-error COMMAND-LINE STATUS STDERR-TAIL), the tail being
the last characters of stderr.  With TIMEOUT, a number of seconds,
the process is killed when it runs longer and the promise is rejected
with (aio-timeout . TIMEOUT).  Canceling the promise kills the process
too; either way the promise settles once it has been reaped.  A
command that cannot be found or a DIRECTORY that does not exist
rejects it with `file-missing'.

\(fn COMMAND &key INPUT DIRECTORY CODING TIMEOUT (CHECK t))"
  (aio--check-command command)
  (when input (cl-check-type input string))
  (aio--process-check-coding coding)
  ;; Refused here, before a process is started for nothing.
  (when timeout (aio-native--check-seconds timeout))
  (aio--process-output command input directory coding timeout check))

(provide 'aio-process)
;;; aio-process.el ends here
