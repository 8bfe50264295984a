;;; aio-file.el --- Files off Emacs's main thread  -*- lexical-binding: t -*-

;; SPDX-License-Identifier: GPL-3.0-or-later

;;; Commentary:

;; File operations whose waiting happens on libuv's thread pool, driven
;; by the native loop: `aio-file-write', `aio-file-stat',
;; `aio-file-copy', `aio-file-rename', `aio-file-delete',
;; `aio-make-directory' here, `aio-file-read' in aio-file-read.el and
;; `aio-directory-walk' in aio-file-walk.el.  Each returns a promise
;; (the walk a stream).
;;
;; Failures are Emacs's own `file-error' family with the data Emacs's
;; functions give: `file-missing', `file-already-exists',
;; `permission-denied' (Emacs 29 and later; `file-error' before, as
;; Emacs itself does), else `file-error', e.g.
;; (file-missing "Opening input file" "No such file or directory" FILE).
;;
;; A file name with a handler (a remote name under TRAMP, a compressed
;; or encrypted file) is not native: Emacs's own function runs, as it
;; would without this library, and the promise is settled with its
;; outcome.

;;; Code:

(require 'cl-lib)
(require 'aio-promise)
(require 'aio-native)

(declare-function aio-native--file-write "aio-native-module" (id path data options))
(declare-function aio-native--file-stat "aio-native-module" (id path follow names))
(declare-function aio-native--file-copy "aio-native-module" (id from to overwrite keep-time))
(declare-function aio-native--file-rename "aio-native-module" (id from to overwrite))
(declare-function aio-native--file-delete "aio-native-module" (id path recursive))
(declare-function aio-native--file-mkdir "aio-native-module" (id path parents mode))
(declare-function aio-native--file-cancel "aio-native-module" (id))

(defgroup aio-file nil
  "Files off Emacs's main thread."
  :group 'aio-native)

;;;; Names and errors

(defun aio-file--coding ()
  "Return the coding system of file names."
  (or file-name-coding-system default-file-name-coding-system))

(defun aio-file--encode (name)
  "Return NAME, an expanded file name, encoded for the file system."
  (let ((coding (aio-file--coding)))
    (if (and coding (multibyte-string-p name))
        (encode-coding-string name coding t)
      name)))

(defun aio-file--decode (name)
  "Return NAME from the loop thread as a file name: decode it if unibyte.
An ASCII name is the same text unibyte or not, under any coding of
file names that keeps ASCII as it is: kept, not copied (a walk hands
over names by the hundred thousand, and each copy is garbage)."
  (let ((coding (or (aio-file--coding) 'utf-8)))
    (if (or (multibyte-string-p name)
            (and (not (string-match-p "[^[:ascii:]]" name))
                 (coding-system-get coding :ascii-compatible-p)))
        name
      (decode-coding-string name coding t))))

(defun aio-file--check-name (name)
  "Signal unless NAME is a file name; return it expanded."
  (unless (stringp name)
    (signal 'wrong-type-argument (list 'stringp name)))
  (when (string-search "\0" name)
    (signal 'args-out-of-range (list name)))
  (expand-file-name name))

(defun aio-file--native-p (operation &rest names)
  "Return non-nil if OPERATION on NAMES needs no file name handler."
  ;; A loop, not `cl-some': the first call would load cl-extra (and
  ;; seq, compiling its generic functions), tens of milliseconds.
  (while (and names (not (find-file-name-handler (car names) operation)))
    (setq names (cdr names)))
  (null names))

(defun aio-file--error-symbol (kind)
  "Return the error symbol Emacs signals for failure KIND."
  (pcase kind
    ('missing 'file-missing)
    ('exists 'file-already-exists)
    ;; Emacs 29 signals `permission-denied'; Emacs 28 has no such error.
    ('denied (if (get 'permission-denied 'error-conditions) 'permission-denied 'file-error))
    (_ 'file-error)))

(defun aio-file--condition (payload names)
  "Return the error condition of failure PAYLOAD of an operation on NAMES.
PAYLOAD is (file . [KIND WHAT MESSAGE INDEX...]), an INDEX being the
position of a name in NAMES or a name the operation came upon, or a
string for a failure of the native layer."
  (let ((data (cdr-safe payload)))
    (if (not (and (eq (car-safe payload) 'file) (vectorp data) (>= (length data) 3)))
        (list 'file-error "Native file operation failed"
              (if (stringp payload) (decode-coding-string payload 'utf-8) "out of memory")
              (car names))
      (append (list (aio-file--error-symbol (aref data 0)) (aref data 1))
              (and (aref data 2)
                   (list (if (multibyte-string-p (aref data 2))
                             (aref data 2)
                           (decode-coding-string (aref data 2) locale-coding-system t))))
              (mapcar (lambda (where)
                        (if (integerp where) (nth where names) (aio-file--decode where)))
                      (nthcdr 3 (append data nil)))))))

;;;; Operations

(defun aio-file--handler (promise names convert)
  "Return the completion handler of an operation on NAMES for PROMISE.
CONVERT, if non-nil, makes the result from the payload."
  (lambda (status payload)
    (unless (aio-promise-result promise)
      (aio-resolve
       promise
       (pcase status
         ('done (aio--value-fn (if convert (funcall convert payload) payload)))
         ('failed (aio--error-fn (aio-file--condition payload names)))
         ;; The loop was shut down under the operation.
         (_ (aio--error-fn (list 'aio-cancel))))))))

(defun aio-file--canceller (id)
  "Return the canceller of file operation ID."
  (apply-partially #'aio-native--stop id #'aio-native--file-cancel))

(defun aio-file--start (description names start &optional convert)
  "Start a native file operation and return its promise.
DESCRIPTION says what it is, NAMES are the file names it works on (for
its errors), START is called with the operation's id to start it, and
CONVERT as for `aio-file--handler'."
  (let* ((aio--promise (aio-promise))
         (id (aio-native--register (aio-file--handler aio--promise names convert)
                                   description aio--promise)))
    (aio-native--starting id
      (funcall start id))
    (setf (aio-promise-release aio--promise) (aio-file--canceller id))
    aio--promise))

(defun aio-file--settled (function &rest args)
  "Return a promise settled with the outcome of FUNCTION applied to ARGS.
For names that are not native: Emacs's own function runs now."
  (let ((promise (aio-promise)))
    (aio-resolve promise (condition-case err
                             (aio--value-fn (apply function args))
                           (error (aio--error-fn err))))
    promise))

(defun aio-file--check-offset (value)
  "Signal unless VALUE is nil or a natural number."
  (unless (or (null value) (natnump value))
    (signal 'wrong-type-argument (list 'natnump value))))

(defun aio-file--check-mode (mode)
  "Signal unless MODE is nil or permission bits."
  (when mode
    (unless (natnump mode)
      (signal 'wrong-type-argument (list 'natnump mode)))
    (unless (<= mode #o7777)
      (signal 'args-out-of-range (list mode 0 #o7777)))))

(defun aio-file--target (from to)
  "Return TO, or FROM's name inside TO when TO is a directory name."
  (if (directory-name-p to)
      (expand-file-name (file-name-nondirectory (directory-file-name from)) to)
    to))

;;;; Writing

(defun aio-file--data-bytes (data coding)
  "Return DATA, a string or buffer, as bytes, encoding text with CODING.
CODING nil means `coding-system-for-write', else the buffer's
`buffer-file-coding-system' for a buffer, else UTF-8."
  (cond
   ((bufferp data)
    (unless (buffer-live-p data)
      (signal 'wrong-type-argument (list 'buffer-live-p data)))
    (with-current-buffer data
      (save-restriction
        (widen)
        (let ((text (buffer-substring-no-properties (point-min) (point-max))))
          (if (multibyte-string-p text)
              (encode-coding-string
               text (or coding coding-system-for-write
                        (and (not (eq (coding-system-base buffer-file-coding-system) 'undecided))
                             buffer-file-coding-system)
                        'utf-8)
               t)
            text)))))
   ((stringp data)
    (if (multibyte-string-p data)
        (encode-coding-string data (or coding coding-system-for-write 'utf-8) t)
      data))
   (t (signal 'wrong-type-argument (list 'stringp data)))))

(defun aio-file--write-by-emacs (path bytes append mode)
  "Write BYTES to PATH with `write-region'.
APPEND and MODE are as for `aio-file-write'."
  (let ((coding-system-for-write 'no-conversion))
    (write-region bytes nil path append 'silent))
  (when mode (set-file-modes path mode))
  nil)

(cl-defun aio-file-write (path data &key append atomic mode coding)
  "Write DATA to file PATH off the main thread; return a promise.
DATA is a string or a buffer (its whole text, whatever the narrowing).
Text is encoded with CODING, else `coding-system-for-write', else
the buffer's `buffer-file-coding-system', else UTF-8; a unibyte
string is written as it is.  The promise resolves to nil once the
bytes are written.

APPEND non-nil adds DATA at the end of the file instead of replacing
it.  ATOMIC non-nil writes to a temporary file in the same directory,
syncs it to the disk and renames it over PATH, so that PATH is either
the old file or the new one, never a part, even if Emacs or the
machine stops halfway; the new file keeps the old one's permissions
\(and owner where allowed), and a symbolic link PATH stays a link to
the file replaced.  ATOMIC cannot be combined with APPEND.  MODE, an
integer such as #o600, sets the file's permission bits.  Canceling the
promise stops the write: an atomic one leaves the old file as it was,
another leaves what was written so far.

Failures reject the promise with the errors `write-region' signals,
e.g. (file-missing \"Opening output file\" \"No such file or
directory\" PATH).  A file name with a handler (a remote name under
TRAMP...) is written by `write-region', blocking as it does, and then
not atomically.

\(fn PATH DATA &key APPEND ATOMIC MODE CODING)"
  (aio-file--check-mode mode)
  (when coding (check-coding-system coding))
  (when (and append atomic)
    (signal 'args-out-of-range (list :append append :atomic atomic)))
  (aio-file--write (aio-file--check-name path) (aio-file--data-bytes data coding)
                   append atomic mode))

(defun aio-file--write (path bytes append atomic mode)
  "Write BYTES to PATH for `aio-file-write'; APPEND, ATOMIC, MODE as there."
  (if (aio-file--native-p 'write-region path)
      (aio-file--start (format "write %s" path) (list path)
                       (lambda (id)
                         (aio-native--file-write id (aio-file--encode path) bytes
                                                 (list :append append :atomic atomic
                                                       :mode mode)))
                       #'ignore)
    (aio-file--settled #'aio-file--write-by-emacs path bytes append mode)))

;;;; Attributes

(defun aio-file--time (seconds nanoseconds)
  "Return SECONDS and NANOSECONDS as a Lisp timestamp like `file-attributes'."
  (time-convert (cons (+ (* seconds 1000000000) nanoseconds) 1000000000) 'list))

(cl-defstruct (aio-file--stat (:type vector) (:constructor nil) (:copier nil)
                              (:predicate nil))
  "The vector in which the module hands over a file's attributes.
Made by the stat job of module/core/file_ops.cpp, in this order: TYPE
\(t, nil or a symbolic link's target), LINKS, UID and GID (numbers, or
names), the access, modification and status change times as seconds
and nanoseconds, SIZE, MODES (a string like \"-rw-r--r--\"), INODE,
DEVICE."
  type links uid gid atime atime-ns mtime mtime-ns ctime ctime-ns
  size modes inode device)

(defun aio-file--attributes (raw)
  "Return RAW, the native attributes vector or nil, as `file-attributes' does."
  (when raw
    (let ((type (aio-file--stat-type raw)))
      (list (if (stringp type) (aio-file--decode type) type)
            (aio-file--stat-links raw) (aio-file--stat-uid raw) (aio-file--stat-gid raw)
            (aio-file--time (aio-file--stat-atime raw) (aio-file--stat-atime-ns raw))
            (aio-file--time (aio-file--stat-mtime raw) (aio-file--stat-mtime-ns raw))
            (aio-file--time (aio-file--stat-ctime raw) (aio-file--stat-ctime-ns raw))
            (aio-file--stat-size raw) (aio-file--stat-modes raw) t
            (aio-file--stat-inode raw) (aio-file--stat-device raw)))))

(cl-defun aio-file-stat (path &key id-format follow-symlinks)
  "Return a promise of the attributes of file PATH, as `file-attributes' gives.
The list resolved to is the one `file-attributes' returns, read with
its accessors (`file-attribute-size', `file-attribute-modification-time'
...), or nil when PATH does not exist.  ID-FORMAT `string' gives user
and group names instead of numbers.  FOLLOW-SYMLINKS non-nil describes
the file a symbolic link points to rather than the link.  A file name
with a handler (a remote name under TRAMP...) is looked at by
`file-attributes' itself, blocking as it does.

\(fn PATH &key ID-FORMAT FOLLOW-SYMLINKS)"
  (unless (memq id-format '(nil integer string))
    (signal 'args-out-of-range (list id-format '(integer string))))
  (aio-file--stat (aio-file--check-name path) id-format follow-symlinks))

(defun aio-file--stat (path id-format follow-symlinks)
  "Get the attributes of PATH for `aio-file-stat'.
ID-FORMAT and FOLLOW-SYMLINKS are as there."
  (if (aio-file--native-p 'file-attributes path)
      (aio-file--start (format "stat %s" path) (list path)
                       (lambda (id)
                         (aio-native--file-stat id (aio-file--encode path) follow-symlinks
                                                (eq id-format 'string)))
                       #'aio-file--attributes)
    (aio-file--settled #'file-attributes
                       (if follow-symlinks (file-truename path) path) id-format)))

;;;; Copy, rename, delete, make a directory

(cl-defun aio-file-copy (from to &key ok-if-already-exists keep-time)
  "Copy file FROM to TO off the main thread; return a promise.
As `copy-file' does: TO a directory name (ending in a slash) means a
file of FROM's name in it; the copy gets FROM's permission bits, and
with KEEP-TIME its modification time.  Unless OK-IF-ALREADY-EXISTS is
non-nil, an existing TO rejects the promise with
`file-already-exists'.  The promise resolves to nil.  Canceling it
stops the copy and removes what it made.  Names with a handler (a
remote name under TRAMP...) are copied by `copy-file' itself.

\(fn FROM TO &key OK-IF-ALREADY-EXISTS KEEP-TIME)"
  (aio-file--copy (aio-file--check-name from) (aio-file--check-name to)
                  ok-if-already-exists keep-time))

(defun aio-file--copy (from to overwrite keep-time)
  "Copy FROM to TO for `aio-file-copy'; OVERWRITE and KEEP-TIME as there."
  (let ((aio--to (aio-file--target from to)))
    (if (aio-file--native-p 'copy-file from aio--to)
        (aio-file--start (format "copy %s to %s" from aio--to) (list from aio--to)
                         (lambda (id)
                           (aio-native--file-copy id (aio-file--encode from)
                                                  (aio-file--encode aio--to)
                                                  overwrite keep-time))
                         #'ignore)
      (aio-file--settled #'copy-file from aio--to (and overwrite t) keep-time))))

(cl-defun aio-file-rename (from to &key ok-if-already-exists)
  "Rename file FROM to TO off the main thread; return a promise.
As `rename-file' does: TO a directory name (ending in a slash) means a
file of FROM's name in it; across file systems a file is copied and
then removed.  Unless OK-IF-ALREADY-EXISTS is non-nil, an existing TO
rejects the promise with `file-already-exists' (checked atomically
where the system allows).  The promise resolves to nil.  Names with a
handler (a remote name under TRAMP...) are renamed by `rename-file'.

\(fn FROM TO &key OK-IF-ALREADY-EXISTS)"
  (aio-file--rename (aio-file--check-name from) (aio-file--check-name to)
                    ok-if-already-exists))

(defun aio-file--rename (from to overwrite)
  "Rename FROM to TO for `aio-file-rename'; OVERWRITE as there."
  (let ((aio--to (aio-file--target from to)))
    (if (aio-file--native-p 'rename-file from aio--to)
        (aio-file--start (format "rename %s to %s" from aio--to) (list from aio--to)
                         (lambda (id)
                           (aio-native--file-rename id (aio-file--encode from)
                                                    (aio-file--encode aio--to) overwrite))
                         #'ignore)
      (aio-file--settled #'rename-file from aio--to (and overwrite t)))))

(defun aio-file--delete-by-emacs (path recursive)
  "Delete PATH with Emacs's own functions; RECURSIVE as for `aio-file-delete'."
  (if (and (file-directory-p path) (not (file-symlink-p path)))
      (delete-directory path recursive)
    (delete-file path))
  nil)

(cl-defun aio-file-delete (path &key recursive)
  "Delete file PATH off the main thread; return a promise of nil.
PATH may be a file, a symbolic link (removed, not followed) or a
directory: an empty one, or with RECURSIVE non-nil, one with all it
holds.  A PATH that does not exist is no error, as for `delete-file'.
Failures reject the promise with Emacs's errors, e.g. (file-error
\"Removing directory\" \"Directory not empty\" PATH).  Names with a
handler (a remote name under TRAMP...) go to `delete-file' and
`delete-directory'.

\(fn PATH &key RECURSIVE)"
  (aio-file--delete (aio-file--check-name path) recursive))

(defun aio-file--delete (path recursive)
  "Delete PATH for `aio-file-delete'; RECURSIVE as there."
  (if (aio-file--native-p 'delete-file path)
      (aio-file--start (format "delete %s" path) (list path)
                       (lambda (id)
                         (aio-native--file-delete id (aio-file--encode (directory-file-name path))
                                                  recursive))
                       #'ignore)
    (aio-file--settled #'aio-file--delete-by-emacs path recursive)))

(defun aio-file--make-directory-by-emacs (dir parents)
  "Make DIR with `make-directory'; PARENTS as there.
Return non-nil if it existed, as Emacs 29 does."
  (let ((existed (and parents (file-directory-p dir))))
    (make-directory dir parents)
    existed))

(defun aio-make-directory (dir &optional parents)
  "Make directory DIR off the main thread; return a promise.
As `make-directory' does: with PARENTS non-nil, also the missing
directories above it, and an existing DIR is no error.  The promise
resolves to non-nil if DIR already existed (as `make-directory' returns
from Emacs 29 on), else nil.  Failures reject it with Emacs's errors,
e.g. (file-already-exists \"File exists\" DIR).  Names with a handler
\(a remote name under TRAMP...) go to `make-directory' itself."
  (aio-file--make-directory (directory-file-name (aio-file--check-name dir)) parents))

(defun aio-file--make-directory (dir parents)
  "Make DIR for `aio-make-directory'; PARENTS as there."
  (if (aio-file--native-p 'make-directory dir)
      (aio-file--start (format "make directory %s" dir) (list dir)
                       (lambda (id)
                         (aio-native--file-mkdir id (aio-file--encode dir) parents nil))
                       (lambda (existed) (and existed t)))
    (aio-file--settled #'aio-file--make-directory-by-emacs dir parents)))

(provide 'aio-file)
;;; aio-file.el ends here
