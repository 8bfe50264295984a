;;; task-group.el --- Structured concurrency with a task group  -*- lexical-binding: t; -*-

;;; Commentary:

;; emacs -Q --batch -L lisp -l examples/task-group.el
;; Shows: `aio-task-group' runs children concurrently and ends only when
;; all of them have ended.  When one child fails, the others are
;; cancelled (their cleanups run, their native timers stop) and the
;; group signals that child's error.

;;; Code:

(require 'aio)

(aio-defun task-group-worker (name seconds fail)
  "Sleep SECONDS, then return NAME, or signal an error if FAIL."
  (unwind-protect
      (progn
        (aio-await (aio-sleep seconds))
        (when fail (error "Worker %s failed" name))
        (message "  %s finished" name)
        name)
    (message "  %s is done (finished, failed or cancelled)" name)))

(aio-defun task-group-run (specs)
  "Run a worker per (NAME SECONDS FAIL) in SPECS; return the names in order."
  (let ((results nil))
    (aio-task-group (group)
      (dolist (spec specs)
        (aio-task-group-spawn
         group (aio-lambda ()
                 (push (aio-await (apply #'task-group-worker spec)) results)))))
    (nreverse results)))

(message "All succeed:")
(message "=> %S" (aio-wait-for (task-group-run '((a 0.1 nil) (b 0.2 nil) (c 0.3 nil)))))
(message "The second fails at 0.2 s; the slow third is cancelled:")
(message "=> %S" (condition-case err
                     (aio-wait-for (task-group-run '((a 0.1 nil) (b 0.2 t) (c 5 nil))))
                   (error (list 'caught (error-message-string err)))))
(message "Native timers still pending: %d" (plist-get (aio-native-stats) :timers-pending))

(provide 'task-group)
;;; task-group.el ends here
