;;; aio-debug.el --- Debugging async functions: backtraces, locals, Edebug  -*- lexical-binding: t -*-

;; SPDX-License-Identifier: GPL-3.0-or-later

;;; Commentary:

;; The debugger's side of async functions.
;;
;; `aio-backtrace' shows the *async backtrace* of the latest failure:
;; the chain of async functions the error travelled through, each with
;; the await it was paused at.  The driver (aio-driver.el) records it as
;; the error goes from one function to the one awaiting it.
;;
;; With `debug-on-error', the driver runs a task's step with `debugger'
;; bound to `aio--debugger', and the step function called by the
;; task's name.  An error of the body then stops where it is signaled,
;; in a backtrace that shows the async function, unless an async
;; function awaiting this one (directly or through others) catches it
;; with a `condition-case' around its await: that much can be told from
;; the sites of the awaits.  Once the debugger has seen an error, it is
;; passed on without stopping again.
;;
;; `aio-locals' names the variables kept in the frame of a paused or
;; running async function.  And `aio--edebug-enter' is how a step of a
;; body instrumented by Edebug enters Edebug; see aio-expand.el.

;;; Code:

(require 'cl-lib)
(require 'aio-promise)
(require 'aio-site)
(require 'aio-async)

(defvar edebug-entered)
(defvar edebug-execution-mode)
(defvar edebug-next-execution-mode)
(declare-function edebug-enter "edebug" (func args body))

;;;; The debugger

(defun aio--uncaught-p (task condition)
  "Return non-nil if CONDITION, escaping TASK's body, would go unhandled.
It is handled when each async function it would reach catches it
around its await, or it reaches a listener that is no async function
\(a combinator, `aio-catch', a callback), which may handle it.  It is
unhandled when it reaches a promise nobody listens to, or
`aio-wait-for' (which signals it where, as ordinary code, it was
called)."
  (let ((promises (list (aio--task-promise task)))
        (uncaught nil)
        (steps 0))
    (while (and promises (not uncaught) (< steps 10000))
      (let* ((promise (pop promises))
             (callbacks (aio-promise-callbacks promise)))
        (setq steps (1+ steps))
        (if (null callbacks)
            (setq uncaught t)
          (dolist (callback callbacks)
            (cond
             ;; What `aio-wait-for' listens with.
             ((eq callback #'ignore) (setq uncaught t))
             ((and (consp callback) (fixnump (car callback)))
              (let* ((waiter (gethash (car callback) aio--tasks))
                     (site (and waiter (aio--task-site waiter))))
                (when (and waiter (eq (aio--task-awaited waiter) promise)
                           (not (and site (aio--site-catches-p site condition))))
                  (push (aio--task-promise waiter) promises)))))))))
    uncaught))

(defun aio--debugger (&rest args)
  "Call the debugger with ARGS, for an error in an async body, if wanted.
Bound to `debugger' around the steps of async functions while
`debug-on-error' is on, see `aio--step-debugging'.  The error is
passed on without the debugger when an awaiting async function
catches it; see `aio--uncaught-p'."
  (let ((debugger aio--outer-debugger)
        (task aio--current-task)
        (condition (and (eq (car args) 'error) (cadr args))))
    (if (and task (consp condition)
             (not (aio--uncaught-p task condition)))
        ;; Not entering it after all: Emacs must not take the next
        ;; error for one in the debugger (see `call_debugger').
        (setq num-nonmacro-input-events (1+ num-nonmacro-input-events))
      (when (and task (consp condition))
        (setq aio--debugged (cons condition task)))
      (apply debugger args))))

;;;; Async backtraces

(defun aio--name-string (name)
  "Return NAME, a task's name (see `aio--task'), as a string."
  (cond ((null name) "an async function")
        ((symbolp name) (symbol-name name))
        (t name)))

(defun aio--info-where (info)
  "Return \"FILE:LINE\" for INFO, an `aio--info', or nil if unknown."
  (let ((file (and info (aio--info-file info))))
    (when file
      (if (aio--info-line info)
          (format "%s:%d" (file-name-nondirectory file) (aio--info-line info))
        (file-name-nondirectory file)))))

(defun aio--link-string (link first)
  "Return the line of LINK, (NAME SITE INFO), in an async backtrace.
FIRST is non-nil for the function where the error was signaled."
  (cl-destructuring-bind (name site info) link
    (let ((defined (aio--info-where info)))
      (format "  %s%s: %s"
              (aio--name-string name)
              (if (and defined (symbolp name)) (format " (%s)" defined) "")
              (cond ((and first site)
                     (format "signaled after resuming at %s" (aio--site-where site info)))
                    (first "signaled before its first await")
                    (site (format "awaiting %s" (aio--site-where site info)))
                    (t "awaiting"))))))

(defun aio--chain-string (chain)
  "Return CHAIN, an async backtrace (see `aio--last-failure'), as text.
The function where the error was signaled comes first."
  (let ((first t))
    (concat "Async backtrace, where the error was signaled first:\n"
            (mapconcat (lambda (link)
                         (prog1 (aio--link-string link first)
                           (setq first nil)))
                       (reverse chain) "\n"))))

(defun aio--awaiters-string (task)
  "Return text saying what awaits TASK, and what awaits that, and so on."
  (let ((lines nil)
        (promise (aio--task-promise task))
        (steps 0))
    (while (and promise (< steps 100))
      (setq steps (1+ steps))
      (let* ((callbacks (aio-promise-callbacks promise))
             (resumer (cl-loop for c in callbacks
                               when (and (consp c) (fixnump (car c))) return c))
             (waiter (and resumer (gethash (car resumer) aio--tasks))))
        (cond
         (waiter
          (push (format "  awaited by %s%s"
                        (aio--name-string (aio--task-name waiter))
                        (let ((site (aio--task-site waiter)))
                          (if site
                              (format " at %s" (aio--site-where site (aio--task-info waiter)))
                            "")))
                lines)
          (setq promise (aio--task-promise waiter)))
         ((memq #'ignore callbacks)
          (push "  awaited by `aio-wait-for'" lines)
          (setq promise nil))
         (callbacks
          (push "  listened to by a callback" lines)
          (setq promise nil))
         (t
          (push "  awaited by nobody" lines)
          (setq promise nil)))))
    (mapconcat #'identity (nreverse lines) "\n")))

(defun aio-locals (&optional task)
  "Return the variables of the async function TASK as an alist.
TASK defaults to the async function running now: call this from the
debugger (\\<debugger-mode-map>\\[debugger-eval-expression] (aio-locals)) or from Edebug, inside an async body.
Each element is (NAME . VALUE), for the variables that live across an
await, which the async function keeps in its frame rather than as
variables; innermost first.  Nil for a function on generator.el,
whose variables stay variables.  Interactively, show them."
  (interactive)
  (let* ((aio--task (or task aio--current-task))
         (iter (and aio--task (aio--task-iter aio--task)))
         (info (and aio--task (aio--task-info aio--task)))
         (names (and info (vectorp iter) (aio--info-locals info)))
         (out nil))
    (dotimes (i (min (length names) (length iter)))
      (when (aref names i)
        (push (cons (aref names i) (aref iter i)) out)))
    (when (called-interactively-p 'interactive)
      (message "%s" (if aio--task
                        (mapconcat (lambda (cell) (format "%s = %S" (car cell) (cdr cell)))
                                   out ", ")
                      "Not inside an async function")))
    out))

(defun aio--current-string (task)
  "Return text about TASK, the async function running in the debugger."
  (let ((info (aio--task-info task))
        (locals (aio-locals task)))
    (concat
     (format "Running: %s%s\n"
             (aio--name-string (aio--task-name task))
             (let ((where (aio--info-where info)))
               (if where (format " (%s)" where) "")))
     (if locals
         (concat "Variables across awaits:\n"
                 (mapconcat (lambda (cell)
                              (let ((print-length 10) (print-level 3))
                                (format "  %s = %S" (car cell) (cdr cell))))
                            (reverse locals) "\n")
                 "\n")
       "")
     (aio--awaiters-string task) "\n")))

;;;###autoload
(defun aio-backtrace ()
  "Show the async backtrace of the latest failure of an async function.
That is the chain of async functions the error travelled through,
each with the await where it was paused, from where the error was
signaled to the last one that failed with it; the error data are
unchanged.  Called inside an async function (from the debugger, or
Edebug), also show that function's variables and what awaits it.
Return the buffer, `*aio-backtrace*'."
  (interactive)
  (let ((failure aio--last-failure)
        (task aio--current-task)
        (buffer (get-buffer-create "*aio-backtrace*")))
    (with-current-buffer buffer
      (let ((inhibit-read-only t))
        (erase-buffer)
        (when task
          (insert (aio--current-string task) "\n"))
        (if (null failure)
            (insert "No async function has failed yet.\n")
          (insert (format "Latest failure: %s\n  %S\n"
                          (error-message-string (car failure)) (car failure))
                  (aio--chain-string (cdr failure)) "\n"))
        (goto-char (point-min)))
      (special-mode))
    (when (called-interactively-p 'interactive)
      (display-buffer buffer))
    buffer))

;;;; Edebug

(defvar aio--edebug-modes (make-hash-table :test #'eq :weakness 'key)
  "The Edebug execution mode each paused task had when it paused.")

(defun aio--edebug-enter (name args body)
  "Run BODY, one step of an async function instrumented by Edebug.
NAME and ARGS are as for `edebug-enter'.  When the step starts
outside Edebug, it goes on in the mode it paused in (stepping goes
on after the await); an error stops in Edebug where it is signaled."
  (let ((task aio--current-task))
    (when (and task (not (bound-and-true-p edebug-entered)))
      (let ((mode (gethash task aio--edebug-modes)))
        (when mode
          (setq edebug-next-execution-mode mode))))
    (prog1 (edebug-enter
            name args
            (lambda ()
              (condition-case err
                  (funcall body)
                ((debug error)
                 ;; Edebug has shown it: pass it on quietly.
                 (let ((debug-on-error nil))
                   (signal (car err) (cdr err)))))))
      (when task
        (puthash task edebug-execution-mode aio--edebug-modes)))))

(defun aio--edebug-iter (name args iter)
  "Return generator ITER, stepped within Edebug as NAME with ARGS.
For bodies on generator.el; see `aio--edebug-enter'."
  (lambda (op value)
    (aio--edebug-enter name args (lambda () (funcall iter op value)))))

(provide 'aio-debug)
;;; aio-debug.el ends here
