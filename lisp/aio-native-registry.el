;;; aio-native-registry.el --- The native operations Lisp waits for  -*- lexical-binding: t -*-

;;; Commentary:

;; Each native operation has an integer id, the only thing the module
;; knows of it; this file keeps, under that id, what completes it (a
;; handler) and, for `aio-list-tasks' and `aio-trace-mode', what it is.
;; aio-native.el registers operations and dispatches their completions.

;;; Code:

(require 'aio-promise)

(declare-function aio-native--running-p "aio-native-module" ())
(declare-function aio-native--timer-times "aio-native-module" (ids))

;; Grown threefold when full, not by half: a burst of 10,000 sleeps makes
;; one table of 12,288 instead of three growing ones, 1.2 MB of garbage
;; less (a collection or two).  Emacs never shrinks it.
(defvar aio-native--pending (make-hash-table :test #'eql :size 4096 :rehash-size 3.0)
  "Map from operation id to what completes it: a handler.
A handler is a function called with STATUS (a symbol of
`aio-native--statuses') and PAYLOAD, or,
for a sleep, its promise (resolved with nil) or a cons (PROMISE
. RESULT): far less garbage than a closure, and sleeps come by the
hundred thousand.")

(defvar aio-native--info (make-hash-table :test #'eql)
  "Map from operation id to what is known of it, for display.
Each value is a list (START DESCRIPTION PROMISE): the `float-time' at
which it started, a string saying what it is (or nil), and the
promise it completes (or nil).  Only operations registered with a
description, or while `aio-native--trackers' is non-nil, are here:
sleeps cost nothing extra when nobody looks.")

(defvar aio-native--by-promise (make-hash-table :test #'eq :weakness 'key)
  "Map from the promise of an operation in `aio-native--info' to its id.")

(defvar aio-native--trackers nil
  "Who wants every native operation described, a list of symbols.
While it is non-nil, each operation's start and description are
recorded in `aio-native--info'.  See `aio-native--track'.")

(defvar aio-native--last-id 0
  "The id most recently handed to the module.")

(defsubst aio-native--sleep-promise (handler)
  "Return the promise of HANDLER if it is a sleep's, else nil."
  (cond ((aio-promise-p handler) handler)
        ((consp handler) (car handler))))

(defun aio-native--describe (id description)
  "Say with DESCRIPTION, a string, what operation ID is, if it is recorded.
For an operation that learns what it is only once started, such as a
server on a port the system picked."
  (let ((info (gethash id aio-native--info)))
    (when info
      (setcar (cdr info) description))))

(defun aio-native--forget-info (id)
  "Drop what `aio-native--info' knows of operation ID."
  (let ((info (gethash id aio-native--info)))
    (when info
      (remhash id aio-native--info)
      (when (nth 2 info)
        (remhash (nth 2 info) aio-native--by-promise)))))

(defun aio-native--forget (id)
  "Drop operation ID: its completion, if it comes, is ignored."
  (remhash id aio-native--pending)
  (unless (zerop (hash-table-count aio-native--info))
    (aio-native--forget-info id)))

(defmacro aio-native--starting (id &rest body)
  "Run BODY, the start of native operation ID; if it signals, forget ID.
An operation the module refused never completes: its handler would
stay in `aio-native--pending' for good.  The error goes on."
  (declare (indent 1) (debug (form body)))
  (let ((err (make-symbol "err")))
    `(condition-case ,err
         (progn ,@body)
       (error (aio-native--forget ,id)
              (signal (car ,err) (cdr ,err))))))

(defun aio-native--stop (id stop)
  "Forget operation ID and call STOP with ID while the loop is running.
STOP is the module function that stops it; its completion, if one
still comes, is ignored."
  (aio-native--forget id)
  (when (aio-native--running-p)
    (funcall stop id)))

(defun aio-native--track (who on)
  "Record every native operation's start and description if ON, for WHO.
WHO is a symbol; with ON nil, WHO no longer asks for it.  Operations
are recorded while anybody asks."
  (setq aio-native--trackers (if on
                                 (if (memq who aio-native--trackers)
                                     aio-native--trackers
                                   (cons who aio-native--trackers))
                               (delq who aio-native--trackers))))

(defun aio-native--sleep-times (ids)
  "Return an alist of (ID START DURATION) for those of IDS that are sleeps.
START is the `float-time' it started at.  The loop thread knows; Lisp
keeps nothing of a sleep but its promise."
  (let ((now (float-time)))
    (and ids (fboundp 'aio-native--timer-times) (aio-native--running-p)
         (mapcar (lambda (entry) (list (nth 0 entry) (- now (nth 1 entry)) (nth 2 entry)))
                 (aio-native--timer-times ids)))))

(defun aio-native--operation (id &optional times)
  "Return what is known of pending operation ID, or nil if it is not pending.
The value is a list (ID DESCRIPTION START PROMISE): DESCRIPTION a
string, START the `float-time' it started at or nil if unknown,
PROMISE the promise it settles or nil if unknown.  TIMES, if given, is
what `aio-native--sleep-times' says of it and others."
  (let ((handler (gethash id aio-native--pending)))
    (when handler
      (let* ((info (gethash id aio-native--info))
             (sleep (aio-native--sleep-promise handler))
             (time (and sleep (not info)
                        (assq id (or times (aio-native--sleep-times (list id)))))))
        (list id
              (cond ((nth 1 info))
                    (time (format "sleep %ss" (aio-native--round (nth 2 time))))
                    (sleep "sleep")
                    (t "native operation"))
              (or (car info) (nth 1 time))
              (or (nth 2 info) sleep))))))

(defun aio-native--round (seconds)
  "Return SECONDS rounded to milliseconds, an integer when whole."
  (let ((ms (round (* 1000 seconds))))
    (if (zerop (% ms 1000)) (/ ms 1000) (/ ms 1000.0))))

(defun aio-native--operations ()
  "Return the pending native operations, oldest first.
Each is described as `aio-native--operation' does."
  (let ((ids nil))
    (maphash (lambda (id _) (push id ids)) aio-native--pending)
    (setq ids (sort ids #'<))
    (let ((times (aio-native--sleep-times ids)))
      (mapcar (lambda (id) (aio-native--operation id times)) ids))))

(defun aio-native--promise-operation (promise)
  "Return the id of the pending operation that settles PROMISE, or nil.
A sleep's promise holds its id; other operations are found only when
recorded in `aio-native--info'."
  (let* ((canceller (aio-promise-release promise))
         (id (if (fixnump canceller)
                 canceller
               (gethash promise aio-native--by-promise))))
    (and id (gethash id aio-native--pending) id)))

(provide 'aio-native-registry)
;;; aio-native-registry.el ends here
