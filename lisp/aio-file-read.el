;;; aio-file-read.el --- Reading files off the main thread  -*- lexical-binding: t -*-

;; SPDX-License-Identifier: GPL-3.0-or-later

;;; Commentary:

;; `aio-file-read': a file read off the main thread, whole, as text, or
;; into a buffer.
;;
;; Reading into a buffer.  The loop thread opens the file and reads
;; ahead of Emacs, so that the disk is never waited for on the main
;; thread; Emacs inserts the file in pieces from that open descriptor
;; \(/proc/self/fd/N: the file that was opened, whatever has happened to
;; its name since), each piece a turn of the ready queue, so that a
;; 1 GiB file fills a buffer while timers and input keep running, and
;; its bytes never become a Lisp string.  Decoded text is cut after
;; newlines so that no character is split; the coding system is found
;; as `insert-file-contents' finds it, from the file's name, its head
;; and tail, and its first piece.

;;; Code:

(require 'cl-lib)
(require 'aio-promise)
(require 'aio-native)
(require 'aio-file)

(declare-function aio-native--file-read "aio-native-module" (id path start end options))
(declare-function aio-native--file-ack "aio-native-module" (id n))

(defvar aio-file-read-ahead (* 64 1024 1024)
  "Bytes the loop thread reads ahead of a buffer being filled.")

(defvar aio-file-insert-seconds 0.004
  "Longest time one piece of a read into a buffer may take, in seconds.
Pieces are inserted one turn of the ready queue after another, as
many in a turn as fit in this time.")

(cl-defstruct (aio-file--reading (:constructor aio-file--make-reading)
                                 (:copier nil))
  "A file being inserted into a buffer by `aio-file-read'.
ID is the native operation, PROMISE what it settles, PATH the file,
AS the result form (`text' or `buffer'), BUFFER where the text goes
and MARKER where the next piece goes in it, OWN non-nil if BUFFER was
made here.  FD-PATH names the open descriptor, POS is the next byte
to insert, CUTS the ends of the pieces read ahead (oldest first),
CODING the coding system (nil until the first piece decides it;
`no-conversion' for bytes), FIRST non-nil until the first piece is
in, QUEUED non-nil while an insertion waits in the ready queue, DONE
non-nil once the operation ended, RATE the seconds a byte takes to
insert, as measured so far."
  id promise path as buffer marker own
  (fd-path nil) (pos 0) (cuts nil) (coding nil) (first t)
  (queued nil) (done nil) (rate 2e-8))

(defun aio-file--fd-path (fd)
  "Return a file name that opens descriptor FD of this process."
  (if (file-directory-p "/proc/self/fd")
      (format "/proc/self/fd/%d" fd)
    (format "/dev/fd/%d" fd)))

(defun aio-file--literal-p (coding)
  "Return non-nil if CODING means bytes without any conversion."
  (and coding (eq (coding-system-base coding) 'no-conversion)))

(defun aio-file--insert-piece (state end)
  "Insert the bytes of STATE's file up to END at its marker."
  (let* ((coding (aio-file--reading-coding state))
         (literal (aio-file--literal-p coding))
         (file (if (and (aio-file--reading-first state) (not literal))
                   ;; The first piece by name, so that the coding system
                   ;; is decided from the name as for the whole file.
                   (aio-file--reading-path state)
                 (aio-file--reading-fd-path state))))
    (with-current-buffer (aio-file--reading-buffer state)
      (save-excursion
        (goto-char (aio-file--reading-marker state))
        (if literal
            (insert-file-contents-literally file nil (aio-file--reading-pos state) end)
          (let ((coding-system-for-read coding))
            (insert-file-contents file nil (aio-file--reading-pos state) end)
            (setf (aio-file--reading-coding state) last-coding-system-used)))))
    (setf (aio-file--reading-first state) nil)
    (aio-native--file-ack (aio-file--reading-id state) (- end (aio-file--reading-pos state)))
    (setf (aio-file--reading-pos state) end)))

(defun aio-file--next-cut (state seconds)
  "Take from STATE's cuts the end of a piece that should take SECONDS.
The furthest cut whose bytes the rate measured so far inserts in time,
or else the nearest one."
  (let* ((cuts (aio-file--reading-cuts state))
         (pos (aio-file--reading-pos state))
         (most (+ pos (/ seconds (aio-file--reading-rate state))))
         (end (pop cuts)))
    (while (and cuts (<= (car cuts) most))
      (setq end (pop cuts)))
    (setf (aio-file--reading-cuts state) cuts)
    end))

(defun aio-file--insert (state)
  "Insert what STATE's file has ready, for at most `aio-file-insert-seconds'.
The fewer pieces the better, since each call of `insert-file-contents'
costs the same again: a piece is as large as fits in the time left,
judging by the rate of the pieces before."
  (setf (aio-file--reading-queued state) nil)
  (unless (aio-file--reading-done state)
    (let ((deadline (+ (float-time) aio-file-insert-seconds)))
      (condition-case err
          (let ((now (float-time)))
            (while (and (aio-file--reading-cuts state)
                        (not (aio-file--reading-done state))
                        (< now deadline))
              (let* ((from (aio-file--reading-pos state))
                     (end (aio-file--next-cut state (- deadline now)))
                     (start now))
                (aio-file--insert-piece state end)
                (setq now (float-time))
                (when (> end from)
                  ;; Seconds per byte, weighing the last piece by half.
                  (setf (aio-file--reading-rate state)
                        (/ (+ (aio-file--reading-rate state)
                              (/ (max (- now start) 1e-6) (- end from)))
                           2))))))
        ((error quit)
         (aio-file--read-failed state (if (eq (car err) 'quit) '(aio-cancel) err))))
      (aio--spent)
      (when (and (aio-file--reading-cuts state) (not (aio-file--reading-done state)))
        (aio-file--queue-insert state)))))

(defun aio-file--queue-insert (state)
  "Have STATE's next pieces inserted from the ready queue."
  (unless (aio-file--reading-queued state)
    (setf (aio-file--reading-queued state) t)
    (aio--enqueue #'aio-file--insert state)
    (aio--schedule)))

(defun aio-file--read-end (state)
  "End the read of STATE: stop everything, return nothing."
  (setf (aio-file--reading-done state) t
        (aio-file--reading-cuts state) nil)
  (set-marker (aio-file--reading-marker state) nil))

(defun aio-file--read-failed (state condition)
  "Fail the read of STATE with CONDITION."
  (unless (aio-file--reading-done state)
    (aio-file--read-end state)
    (funcall (aio-file--canceller (aio-file--reading-id state)))
    (when (and (aio-file--reading-own state) (buffer-live-p (aio-file--reading-buffer state)))
      (kill-buffer (aio-file--reading-buffer state)))
    (aio-resolve (aio-file--reading-promise state) (aio--error-fn condition))))

(defun aio-file--read-result (state)
  "Return the result of the read of STATE, whose buffer is filled."
  (let ((buffer (aio-file--reading-buffer state)))
    (if (eq (aio-file--reading-as state) 'text)
        (prog1 (with-current-buffer buffer (buffer-string))
          (kill-buffer buffer))
      (when (aio-file--reading-own state)
        (with-current-buffer buffer
          (set-buffer-modified-p nil)
          (goto-char (point-min))))
      buffer)))

(defun aio-file--read-done (state payload)
  "Settle the read of STATE, completed with PAYLOAD."
  (unless (aio-file--reading-done state)
    (condition-case err
        (progn
          (when (eq payload 'irregular)
            ;; Not a regular file (a pipe, a device): Emacs reads it.
            (with-current-buffer (aio-file--reading-buffer state)
              (save-excursion
                (goto-char (aio-file--reading-marker state))
                (let ((coding-system-for-read (aio-file--reading-coding state)))
                  (insert-file-contents (aio-file--reading-path state))))))
          (aio-file--read-end state)
          (aio-resolve (aio-file--reading-promise state)
                       (aio--value-fn (aio-file--read-result state))))
      (error (aio-file--read-failed state err)))))

(defun aio-file--on-read-event (state status payload)
  "Take STATUS and PAYLOAD, news of the read of STATE."
  (pcase status
    ('event (pcase (car payload)
              ('open (setf (aio-file--reading-fd-path state)
                           (aio-file--fd-path (aref (cdr payload) 0))))
              ('ready (setf (aio-file--reading-cuts state)
                            (nconc (aio-file--reading-cuts state) (append (cdr payload) nil)))
                      (aio-file--queue-insert state))))
    ('done (aio-file--read-done state payload))
    ('failed (aio-file--read-failed
              state (aio-file--condition payload (list (aio-file--reading-path state)))))
    (_ (aio-file--read-failed state '(aio-cancel)))))

(defun aio-file--cancel-read (state)
  "Stop the read of STATE: its promise was canceled."
  (unless (aio-file--reading-done state)
    (aio-file--read-end state)
    (funcall (aio-file--canceller (aio-file--reading-id state)))
    (when (and (aio-file--reading-own state) (buffer-live-p (aio-file--reading-buffer state)))
      (kill-buffer (aio-file--reading-buffer state)))))

(defun aio-file--read-into (path start end as coding buffer)
  "Start reading PATH, bytes START to END, into a buffer; return a promise.
AS is `text' or `buffer', CODING nil or the coding system, BUFFER nil
for a new buffer or the buffer to insert into at its point."
  (let* ((own (null buffer))
         (target (or buffer (generate-new-buffer " *aio-file*")))
         (literal (aio-file--literal-p coding))
         (state (aio-file--make-reading
                 :promise (aio-promise) :path path :as as :buffer target :own own
                 :marker (with-current-buffer target (copy-marker (point) t))
                 :pos (or start 0) :coding coding
                 ;; A first guess: bytes go in at 500 MB/s, text at 50.
                 :rate (if literal 2e-9 2e-8))))
    (when (and own literal)
      (with-current-buffer target (set-buffer-multibyte nil)))
    (condition-case err
        (let ((id (aio-native--register (apply-partially #'aio-file--on-read-event state)
                                        (format "read %s" path)
                                        (aio-file--reading-promise state))))
          (setf (aio-file--reading-id state) id)
          (aio-native--starting id
            (aio-native--file-read id (aio-file--encode path) start end
                                   (list :insert t :lines (not literal)
                                         :window aio-file-read-ahead))))
      (error (when own (kill-buffer target))
             (signal (car err) (cdr err))))
    (setf (aio-promise-release (aio-file--reading-promise state))
          (apply-partially #'aio-file--cancel-read state))
    (aio-file--reading-promise state)))

(defun aio-file--read-by-emacs (path start end as coding buffer)
  "Read PATH with Emacs's own `insert-file-contents'; see `aio-file-read'.
For file names with a handler.  START, END, AS, CODING and BUFFER are
as there."
  (if (eq as 'bytes)
      (with-temp-buffer
        (set-buffer-multibyte nil)
        (insert-file-contents-literally path nil start end)
        (buffer-string))
    (let ((target (or buffer (generate-new-buffer " *aio-file*"))))
      (condition-case err
          (with-current-buffer target
            (when (and (null buffer) (aio-file--literal-p coding))
              (set-buffer-multibyte nil))
            (save-excursion
              (let ((coding-system-for-read coding))
                (if (aio-file--literal-p coding)
                    (insert-file-contents-literally path nil start end)
                  (insert-file-contents path nil start end))))
            (if (eq as 'text)
                (prog1 (buffer-string) (kill-buffer target))
              target))
        (error (unless buffer (kill-buffer target))
               (signal (car err) (cdr err)))))))

(defconst aio-file--literal-handlers
  '(jka-compr-handler image-file-handler epa-file-handler)
  "Handlers `insert-file-contents-literally' leaves out.")

(cl-defun aio-file-read (path &key start end (as 'text) coding buffer)
  "Return a promise of the contents of file PATH, read off the main thread.
START and END are byte offsets, as for `insert-file-contents': the
bytes from START (default 0) to END (default the end of the file).
AS says what the promise resolves to:

`text'    (the default) a string of the text, decoded as
          `insert-file-contents' decodes it (the coding system found
          from the name, a coding cookie, the contents; or CODING).
`bytes'   a unibyte string of the bytes, read whole by the loop thread.
`buffer'  a buffer holding the text.  With BUFFER, the text is
          inserted into BUFFER at its point (which stays before it, as
          `insert-file-contents' leaves it) and the promise resolves to
          BUFFER; else a new buffer is made, which the caller must
          kill.

CODING, a coding system, decodes the text instead (as binding
`coding-system-for-read' does, whose value at the call is the
default); `no-conversion' gives the bytes as they are, in a unibyte
new buffer, as `insert-file-contents-literally' does.

For `text' and `buffer' the text is inserted in pieces, one turn of
the ready queue after another, from the file the loop thread opened
and reads ahead, so that Emacs neither blocks on the disk nor holds the
whole file in a Lisp string: a large file fills its buffer while
timers, input and other tasks keep running.  Cancel the promise to
stop; a new buffer is then killed.

Failures reject the promise with the errors `insert-file-contents'
signals, e.g. (file-missing \"Opening input file\" \"No such file or
directory\" PATH).  A file name with a handler (a remote name under
TRAMP, a compressed or encrypted file) is read by Emacs's own
functions, blocking as they do, and the promise settled with the
outcome.

\(fn PATH &key START END (AS \\='text) CODING BUFFER)"
  (aio-file--check-offset start)
  (aio-file--check-offset end)
  (when (and start end (< end start))
    (signal 'args-out-of-range (list start end)))
  (unless (memq as '(text bytes buffer))
    (signal 'args-out-of-range (list as '(text bytes buffer))))
  (when coding (check-coding-system coding))
  (when buffer
    (unless (and (bufferp buffer) (buffer-live-p buffer))
      (signal 'wrong-type-argument (list 'buffer-live-p buffer)))
    (unless (eq as 'buffer)
      (signal 'args-out-of-range (list :buffer as))))
  (aio-file--read (aio-file--check-name path) start end as
                  (or coding coding-system-for-read) buffer))

(defun aio-file--read (path start end as coding buffer)
  "Start reading PATH for `aio-file-read', whose arguments are checked.
START, END, AS, CODING and BUFFER are as there."
  (cond
   ((not (if (eq as 'bytes)
             (let ((inhibit-file-name-handlers
                    (append aio-file--literal-handlers inhibit-file-name-handlers))
                   (inhibit-file-name-operation 'insert-file-contents))
               (aio-file--native-p 'insert-file-contents path))
           (aio-file--native-p 'insert-file-contents path)))
    (aio-file--settled #'aio-file--read-by-emacs path start end as coding buffer))
   ((eq as 'bytes)
    (aio-file--start (format "read %s" path) (list path)
                     (lambda (id)
                       (aio-native--file-read id (aio-file--encode path) start end nil))
                     ;; The module hands over no bytes as nil.
                     (lambda (payload) (or payload ""))))
   (t (aio-file--read-into path start end as coding buffer))))

(provide 'aio-file-read)
;;; aio-file-read.el ends here
