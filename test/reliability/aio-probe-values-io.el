;;; aio-probe-values-io.el --- Matrix values that hold streams, processes and files  -*- lexical-binding: t -*-

;;; Commentary:

;; The values of aio-probe-values.el that own something outside the
;; call: streams, subprocesses, and paths in temporary directories.
;;
;; What a value owns is the matrix's to clean up after the call, as it
;; was made for that call alone: a process made as a value is noted in
;; `aio-probe-values--owned' (the promise of its exit, which the matrix
;; cancels and waits for), a temporary directory in
;; `aio-probe-values--directories' (which the matrix checks for files
;; the call left, then deletes).  Processes run harmless programs only
;; ("cat", "true").  Every path is inside a fresh temporary directory
;; under the child's scratch directory (the directory of its report
;; file), which the parent deletes whatever happens to the child.

;;; Code:

(require 'cl-lib)
(require 'aio)

(defvar aio-probe-values--owned nil
  "Promises the values made for the current call own: cancel and await them.")

(defvar aio-probe-values--directories nil
  "Temporary directories made for the current call, each (DIRECTORY . FILES).
FILES are the files the values put there.")

(defvar aio-probe-values--file-root nil
  "The directory under which the values' temporary directories are made.")

;;;; Files

(defun aio-probe-values--file-root ()
  "Return the directory for temporary directories, made once.
It is in the child's scratch directory when there is one."
  (unless (and aio-probe-values--file-root (file-directory-p aio-probe-values--file-root))
    (let ((out (getenv "AIO_PROBE_OUT")))
      (setq aio-probe-values--file-root
            (make-temp-file (expand-file-name "aio-probe-files-"
                                              (if (and out (not (string-empty-p out)))
                                                  (file-name-directory out)
                                                temporary-file-directory))
                            t))))
  aio-probe-values--file-root)

(defun aio-probe-values--directory ()
  "Return a new empty temporary directory, owned by the current call."
  (let ((directory (file-name-as-directory
                    (make-temp-file (expand-file-name "call-" (aio-probe-values--file-root)) t))))
    (push (list directory) aio-probe-values--directories)
    directory))

(defun aio-probe-values--path (name &optional contents)
  "Return the path of NAME in a new temporary directory.
With CONTENTS, a string, the file is made with it."
  (let* ((directory (aio-probe-values--directory))
         (path (expand-file-name name directory)))
    (when contents
      (let ((coding-system-for-write 'no-conversion))
        (write-region contents nil path nil 0))
      (push path (cdr (assoc directory aio-probe-values--directories))))
    path))

(defun aio-probe-values-sweep-files ()
  "Delete the temporary directories of the current call; return what was left.
The value lists the files found there that no value made."
  (let ((left nil))
    (dolist (entry aio-probe-values--directories)
      (when (file-directory-p (car entry))
        (dolist (file (directory-files-recursively (car entry) "" t))
          (unless (member file (cdr entry))
            (push (file-relative-name file (car entry)) left)))
        (delete-directory (car entry) t)))
    (setq aio-probe-values--directories nil)
    left))

;;;; Streams

(defun aio-probe-values--stream (values &optional end)
  "Return a new stream holding VALUES.
END t ends it after them; a condition fails it with that error."
  (let ((stream (aio-stream (max 4 (length values)))))
    (dolist (value values)
      (aio-stream-push stream value))
    (when end
      (aio-stream-close stream (and (consp end) end)))
    stream))

(defun aio-probe-values--generator ()
  "Return the stream of a generator that yields one line, not started."
  (funcall (aio-stream-lambda () (aio-yield "a\n"))))

;;;; Processes

(defun aio-probe-values--own (promise)
  "Note that the current call owns PROMISE; return it."
  (push promise aio-probe-values--owned)
  promise)

(defun aio-probe-values-take-owned ()
  "Return the promises owned by the current call's values, and forget them."
  (prog1 aio-probe-values--owned
    (setq aio-probe-values--owned nil)))

(defun aio-probe-values--process (&optional command)
  "Return a new `aio-process' of COMMAND (default cat), owned by the call."
  (let ((process (aio-process :command (or command (list "cat")) :noquery t)))
    (aio-probe-values--own (aio-process-exit process))
    process))

(defun aio-probe-values--exited-process ()
  "Return an `aio-process' that has exited and been reaped."
  (let ((process (aio-probe-values--process (list "true"))))
    (ignore-errors (aio-wait-for (aio-process-exit process) 2))
    process))

(defun aio-probe-values--task ()
  "Return the task of an async function paused for good, owned by the call."
  (let ((promise (funcall (aio-lambda () (aio-await (aio-promise))))))
    (aio-probe-values--own promise)
    (gethash (aio-promise-task promise) aio--tasks)))

;;;; Pools

(defconst aio-probe-stream-values
  `((stream-ended t . ,(lambda () (aio-probe-values--stream nil t)))
    (stream-failed t . ,(lambda () (aio-probe-values--stream (list "a\n") '(error "Probe stream fails"))))
    (stream-forged t . ,(lambda () (record 'aio-stream)))
    (stream-of-numbers t . ,(lambda () (aio-probe-values--stream (list 1 nil) t)))
    (stream-open-empty nil . ,(lambda () (aio-stream 4)))
    (stream-rendezvous nil . ,(lambda () (aio-stream 0)))
    (stream-raw-bytes nil . ,(lambda () (aio-probe-values--stream (list (unibyte-string 255 10 13)) t)))
    (stream-generator nil . ,#'aio-probe-values--generator))
  "Streams for stream positions, besides the general pool.")

(defconst aio-probe-process-values
  `((process-forged t . ,(lambda () (record 'aio-process)))
    (process-exited nil . ,#'aio-probe-values--exited-process))
  "Values for `aio-process' positions, besides the general pool.")

(defconst aio-probe-command-values
  `((command-empty-program t . ,(lambda () (list "")))
    (command-nul t . ,(lambda () (list "cat\0x")))
    (command-missing nil . ,(lambda () (list "aio-probe-no-such-program")))
    (command-absolute-missing nil . ,(lambda () (list "/nonexistent-aio-probe/program")))
    (command-true nil . ,(lambda () (list "true")))
    (command-symbols nil . ,(lambda () (list 'cat))))
  "Command lines: harmless programs, or none.")

(defconst aio-probe-directory-values
  `((directory-fresh t . ,#'aio-probe-values--directory)
    (directory-missing t . ,(lambda () (expand-file-name "missing/" (aio-probe-values--directory))))
    (directory-is-file nil . ,(lambda () (aio-probe-values--path "file" "x")))
    (directory-nul nil . ,(lambda () (concat (aio-probe-values--directory) "a\0b"))))
  "Directories, all in temporary directories.")

(defconst aio-probe-path-values
  `((path-fresh t . ,(lambda () (aio-probe-values--path "file")))
    (path-nul t . ,(lambda () (concat (aio-probe-values--path "file") "\0x")))
    (path-is-directory t . ,#'aio-probe-values--directory)
    (path-missing-directory nil . ,(lambda () (expand-file-name "missing/file" (aio-probe-values--directory))))
    (path-existing nil . ,(lambda () (aio-probe-values--path "file" "old contents")))
    (path-multibyte nil . ,(lambda () (aio-probe-values--path "é✓")))
    (path-long-name nil . ,(lambda () (aio-probe-values--path (make-string 300 ?n)))))
  "File names, all in temporary directories.")

(defconst aio-probe-as-values
  `((as-stream t . ,(lambda () 'stream))
    (as-file t . ,(lambda () (list 'file (aio-probe-values--path "body"))))
    (as-file-nul t . ,(lambda () (list 'file (concat (aio-probe-values--path "body") "\0x"))))
    (as-file-no-path t . ,(lambda () (list 'file)))
    (as-buffer nil . ,(lambda () 'buffer))
    (as-text nil . ,(lambda () 'text))
    (as-file-directory nil . ,(lambda () (list 'file (aio-probe-values--directory))))
    (as-file-missing-directory nil . ,(lambda () (list 'file (expand-file-name "missing/body" (aio-probe-values--directory)))))
    (as-file-number nil . ,(lambda () (list 'file 1)))
    (as-file-extra nil . ,(lambda () (list 'file (aio-probe-values--path "body") "more")))
    (as-file-dotted nil . ,(lambda () (cons 'file (aio-probe-values--path "body"))))
    (as-file-symbol nil . ,(lambda () 'file)))
  "Values for :as of `aio-http-request', besides the general pool.")

(defconst aio-probe-body-file-values
  `((body-file t . ,(lambda () (list 'file (aio-probe-values--path "upload" "x"))))
    (body-file-missing t . ,(lambda () (list 'file (aio-probe-values--path "missing"))))
    (body-file-directory nil . ,(lambda () (list 'file (aio-probe-values--directory))))
    (body-file-nul nil . ,(lambda () (list 'file (concat (aio-probe-values--path "upload" "x") "\0x"))))
    (body-file-no-path nil . ,(lambda () (list 'file)))
    (body-file-number nil . ,(lambda () (list 'file 1))))
  "Values for :body of `aio-http-request', besides the general pool.")

(defconst aio-probe-coding-values
  `((coding-unknown t . ,(lambda () 'aio-probe-no-such-coding))
    (coding-utf-8 nil . ,(lambda () 'utf-8))
    (coding-binary nil . ,(lambda () 'binary))
    (coding-pair-unknown t . ,(lambda () (cons 'utf-8 'aio-probe-no-such-coding))))
  "Coding systems, known and not.")

(defconst aio-probe-size-values
  `((size-zero t . ,(lambda () 0)))
  "Sizes, besides the general pool: zero, core for the sizes that must be positive.")

(defconst aio-probe-task-values
  `((task-paused t . ,#'aio-probe-values--task))
  "Tasks of async functions, besides the general pool.")

(defconst aio-probe-dostream-specs
  `((spec-no-stream t . ,(lambda () (list 'aio-probe-value)))
    (spec-not-stream t . ,(lambda () (list 'aio-probe-value 5)))
    (spec-too-long t . ,(lambda () (list 'aio-probe-value '(aio-stream-from-list (list 1)) nil 'extra)))
    (spec-nil-variable nil . ,(lambda () (list nil '(aio-stream-from-list (list 1)))))
    (spec-result nil . ,(lambda () (list 'aio-probe-value '(aio-stream-from-list (list 1)) 'aio-probe-value)))
    (spec-open-stream nil . ,(lambda () (list 'aio-probe-value '(aio-stream 1)))))
  "(VAR STREAM [RESULT]) specs for `aio-dostream', besides the general pool.")

(provide 'aio-probe-values-io)
;;; aio-probe-values-io.el ends here
