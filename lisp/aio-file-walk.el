;;; aio-file-walk.el --- Walking directory trees off the main thread  -*- lexical-binding: t -*-

;; SPDX-License-Identifier: GPL-3.0-or-later

;;; Commentary:

;; `aio-directory-walk': the names of the files under a directory, as a
;; stream, found by the loop's threads.  The walk stays a window of
;; names ahead of its reader, as a streamed HTTP body does: names that
;; go into a stream with room are acknowledged at once, those that fill
;; it once the reader has taken it down to half.

;;; Code:

(require 'cl-lib)
(require 'aio-promise)
(require 'aio-native)
(require 'aio-stream)
(require 'aio-util)
(require 'aio-file)

(declare-function aio-native--file-walk "aio-native-module" (id root ignore options))
(declare-function aio-native--file-ack "aio-native-module" (id n))

(defvar aio-file-walk-window 8192
  "File names a directory walk hands over before its reader takes them.
The walk pauses beyond this; a reader that never reads holds at most
twice this many names.")

(cl-defstruct (aio-file--walk (:constructor aio-file--make-walk)
                              (:copier nil))
  "A directory walk of `aio-directory-walk'.
ID is its native operation, STREAM the stream of names, MATCH nil, a
regexp or a predicate, HELD the names taken into STREAM and not yet
acknowledged, DONE non-nil once the walk ended."
  id stream match (held 0) (done nil))

(defun aio-file--walk-keep-p (match name)
  "Return non-nil if NAME passes MATCH (nil, a regexp or a predicate)."
  (cond ((null match) t)
        ((stringp match) (string-match-p match (file-name-nondirectory name)))
        (t (funcall match name))))

(defun aio-file--on-names (walk names)
  "Put NAMES, a vector of names found by WALK, into its stream."
  (let ((stream (aio-file--walk-stream walk))
        (match (aio-file--walk-match walk))
        (room t))
    (unless (aio-stream-closed-p stream)
      (condition-case err
          (progn
            (dotimes (i (length names))
              (let ((name (aio-file--decode (aref names i))))
                (when (aio-file--walk-keep-p match name)
                  (setq room (aio-stream-push stream name)))))
            (if room
                (aio-native--file-ack (aio-file--walk-id walk) (length names))
              (cl-incf (aio-file--walk-held walk) (length names))))
        (error (aio-file--walk-ended walk err))))))

(defun aio-file--walk-ended (walk condition)
  "End WALK: its stream ends, with CONDITION if it failed."
  (unless (aio-file--walk-done walk)
    (setf (aio-file--walk-done walk) t)
    (let ((stream (aio-file--walk-stream walk)))
      (if condition
          (unless (aio-stream-closed-p stream)
            (funcall (aio-file--canceller (aio-file--walk-id walk)))
            (aio-stream-close stream condition))
        (aio--stream-finish stream t)))))

(defun aio-file--on-walk-event (walk root status payload)
  "Take STATUS and PAYLOAD, news of WALK under ROOT."
  (pcase status
    ('event (when (eq (car payload) 'names)
              (aio-file--on-names walk (cdr payload))))
    ('done (aio-file--walk-ended walk nil))
    ('failed (aio-file--walk-ended walk (aio-file--condition payload (list root))))
    (_ (aio-file--walk-ended walk '(aio-cancel)))))

(defun aio-file--walk-room (walk _stream)
  "Acknowledge the names WALK held back: its stream has room again."
  (let ((held (aio-file--walk-held walk)))
    (unless (or (zerop held) (aio-file--walk-done walk))
      (setf (aio-file--walk-held walk) 0)
      (aio-native--file-ack (aio-file--walk-id walk) held))))

(defun aio-file--walk-closed (walk _stream)
  "Stop WALK: its reader closed the stream."
  (unless (aio-file--walk-done walk)
    (setf (aio-file--walk-done walk) t)
    (funcall (aio-file--canceller (aio-file--walk-id walk)))))

(defun aio-file--glob-p (name patterns)
  "Return non-nil if the last part of NAME matches one of glob PATTERNS."
  (let ((base (file-name-nondirectory (directory-file-name name))))
    (cl-loop for pattern in patterns
             thereis (string-match-p (wildcard-to-regexp (string-trim pattern "/" "/"))
                                     base))))

(defun aio-file--walk-by-emacs (dir match ignore follow-symlinks include-directories)
  "Return a stream of the walk of DIR done by `directory-files-recursively'.
For names with a handler; MATCH, IGNORE, FOLLOW-SYMLINKS and
INCLUDE-DIRECTORIES are as for `aio-directory-walk', IGNORE patterns
being matched against names only."
  (condition-case err
      (aio-stream-from-list
       (cl-loop for name in (directory-files-recursively
                             dir "" include-directories
                             (lambda (sub) (not (aio-file--glob-p sub ignore)))
                             follow-symlinks)
                when (and (not (aio-file--glob-p name ignore))
                          (aio-file--walk-keep-p match name))
                collect name))
    (error (let ((stream (aio-stream 0)))
             (aio-stream-close stream err)
             stream))))

(cl-defun aio-directory-walk (dir &key match ignore follow-symlinks include-directories)
  "Return a stream of the names of the files under directory DIR.
The tree is walked by the loop's threads, as fast as find(1), while
Emacs goes on; each value of the stream is a file's absolute name, in
no particular order.  Directories are not values unless
INCLUDE-DIRECTORIES is non-nil; symbolic links are values and are not
entered unless FOLLOW-SYMLINKS is non-nil (then, as with find -L, a
link to a directory counts as that directory, and a link back to a
directory above it is not entered).  Directories that cannot be read
are skipped.

MATCH, if non-nil, keeps only some names: a regexp matched against the
last part of the name (as `directory-files-recursively' does), or a
function called with the name.  IGNORE is a list of glob patterns whose
matches are left out, and whose directories are not entered: a pattern
ending in \"/\" applies to directories only; one holding another \"/\"
is matched against the path below DIR (\"build/*.o\"; a leading \"/\"
anchors nothing more), one without against each name at any depth
\(\".git\", \"*.elc\", \"node_modules/\").

The walk stays at most `aio-file-walk-window' names ahead of its
reader.  Closing the stream, or canceling the task that reads it with
`aio-dostream', stops the walk.  A DIR that cannot be read fails the
stream with the error `directory-files' signals, e.g. (file-missing
\"Opening directory\" \"No such file or directory\" DIR).  A name with a
handler (a remote name under TRAMP...) is walked by
`directory-files-recursively' at once, blocking as it does.

\(fn DIR &key MATCH IGNORE FOLLOW-SYMLINKS INCLUDE-DIRECTORIES)"
  (let ((root (directory-file-name (aio-file--check-name dir))))
    (unless (or (null match) (stringp match) (functionp match))
      (signal 'wrong-type-argument (list 'stringp match)))
    (unless (aio--string-list-p ignore)
      (signal 'wrong-type-argument (list 'listp ignore)))
    (if (not (aio-file--native-p 'directory-files root))
        (aio-file--walk-by-emacs root match ignore follow-symlinks include-directories)
      (let* ((walk (aio-file--make-walk :match match))
             (stream (aio-stream aio-file-walk-window
                                 :on-room (apply-partially #'aio-file--walk-room walk)
                                 :on-close (apply-partially #'aio-file--walk-closed walk)))
             (id (aio-native--register
                  (apply-partially #'aio-file--on-walk-event walk root)
                  (format "walk %s" root))))
        (setf (aio--stream-name stream) (format "walk of %s" root)
              (aio-file--walk-stream walk) stream
              (aio-file--walk-id walk) id)
        (aio-native--starting id
          (aio-native--file-walk
           id (aio-file--encode root) (mapcar #'aio-file--encode ignore)
           (list :follow-symlinks follow-symlinks
                 :include-directories include-directories
                 :utf-8 (eq (coding-system-base (or (aio-file--coding) 'utf-8)) 'utf-8)
                 :window aio-file-walk-window)))
        stream))))

(provide 'aio-file-walk)
;;; aio-file-walk.el ends here
