;;; aio-debug-test.el --- Tests of debugging async functions  -*- lexical-binding: t -*-

;;; Commentary:

;; Errors nobody awaits are reported once; async backtraces; the
;; debugger entered where an error is signaled, in a frame named after
;; the async function; `aio-locals' and variables seen from `debug';
;; byte-compiler warnings in async bodies; quitting `aio-wait-for'.
;; Edebug is tested in aio-edebug-test.el, the test clock in
;; aio-test-clock-test.el.
;;
;; ERT binds `debug-on-error' to t around each test on Emacs 28 and 29;
;; aio takes that for ERT's, not the user's, unless
;; `ert-debug-on-error' is set, which the debugger tests do.

;;; Code:

(require 'ert)
(require 'cl-lib)
(require 'aio)
(require 'aio-test-helpers)

(defmacro aio-debug-test--reporting (reports &rest body)
  "Run BODY, collecting the reports of unhandled errors in REPORTS.
Each report is (ERROR WHERE CHAIN)."
  (declare (indent 1) (debug (symbolp body)))
  `(let* ((,reports nil)
          (aio-report-unhandled-errors t)
          (aio-unhandled-error-grace-seconds 0)
          (aio-unhandled-error-function
           (lambda (err where)
             (push (list err where aio--unhandled-chain) ,reports))))
     ,@body))

(aio-defun aio-debug-test--fail-later (data)
  "Signal `arith-error' with DATA after an await."
  (aio-await (aio-sleep 0.001))
  (signal 'arith-error data))

(aio-defun aio-debug-test--fail-now (data)
  "Signal `arith-error' with DATA before any await."
  (signal 'arith-error data))

(aio-defun aio-debug-test--middle (data)
  "Await `aio-debug-test--fail-later' with DATA."
  (aio-await (aio-debug-test--fail-later data)))

(aio-defun aio-debug-test--outer (data)
  "Await `aio-debug-test--middle' with DATA."
  (let ((result (aio-await (aio-debug-test--middle data))))
    result))

(aio-defun aio-debug-test--catching (data)
  "Await `aio-debug-test--middle' with DATA and catch its error."
  (condition-case err
      (aio-await (aio-debug-test--middle data))
    (arith-error (list 'caught err))))

;;;; Errors nobody awaits

(aio-deftest aio-debug-unawaited-failure-is-reported-exactly-once ()
  (aio-debug-test--reporting reports
    (let ((data (list "after an await")))
      (aio-debug-test--fail-later data)
      (aio-test-settle)
      (aio-test-settle)
      (should (= 1 (length reports)))
      (let ((report (car reports)))
        ;; The error data are what was signaled, not a copy.
        (should (eq 'arith-error (car (nth 0 report))))
        (should (eq data (cdr (nth 0 report))))
        (should (string-match-p "aio-debug-test--fail-later" (nth 1 report)))))
    ;; Failing before its first await is reported too.
    (setq reports nil)
    (aio-debug-test--fail-now '(1))
    (aio-test-settle)
    (should (equal '((arith-error 1)) (mapcar #'car reports)))))

(aio-deftest aio-debug-failure-awaited-in-the-same-turn-is-not-reported ()
  (aio-debug-test--reporting reports
    ;; Failed before the caller got the promise, awaited at once.
    (should-error (aio-test-wait (aio-debug-test--fail-now '(2))) :type 'arith-error)
    ;; Awaited by an async function right after the call.
    (should (equal '(caught (arith-error 3))
                   (aio-test-wait (funcall (aio-lambda ()
                                             (let ((p (aio-debug-test--fail-now '(3))))
                                               (condition-case err (aio-await p)
                                                 (arith-error (list 'caught err)))))))))
    ;; Failed while the ready queue runs; a callback queued before the
    ;; failure starts listening afterwards, in the same turn.
    (let* ((gate (aio-promise))
           (failing (funcall (aio-lambda () (aio-await gate) (error "Late"))))
           (outcome nil))
      (aio-listen gate (lambda (_) (aio-listen failing (lambda (v) (setq outcome v)))))
      (aio-resolve gate #'ignore)
      (aio-test-settle)
      (should outcome)
      (should (equal '(error "Late") (should-error (funcall outcome)))))
    (aio-test-settle)
    (should-not reports)))

(aio-deftest aio-debug-cancellation-and-caught-errors-are-not-reported ()
  (aio-debug-test--reporting reports
    (let ((task (aio-debug-test--fail-later '(4))))
      (aio-cancel task)
      (aio-test-settle))
    (aio-test-wait (aio-catch (aio-debug-test--fail-later '(5))))
    (aio-test-settle)
    (should-not reports)))

(aio-deftest aio-debug-reports-can-be-turned-off ()
  (aio-debug-test--reporting reports
    (let ((aio-report-unhandled-errors nil))
      (aio-debug-test--fail-later '(6))
      (aio-test-settle)
      (aio-test-settle))
    (should-not reports)))

(aio-deftest aio-debug-grace-period-lets-a-late-listener-take-the-error ()
  (aio-debug-test--reporting reports
    ;; Long enough that no stall ends the grace before the listener.
    (let ((aio-unhandled-error-grace-seconds 2))
      (let ((late (aio-debug-test--fail-now '(7)))
            (never (aio-debug-test--fail-now '(8))))
        (aio-test-wait (aio-sleep 0.02))
        (should-not reports)
        ;; Listening within the grace period takes care of it.
        (should-error (aio-test-wait late) :type 'arith-error)
        (should (aio-test-eventually (lambda () reports) 10))
        (should (equal '((arith-error 8)) (mapcar #'car reports)))
        (ignore never)))))

(aio-deftest aio-debug-default-report-is-a-warning-with-the-async-backtrace ()
  (let ((warnings nil)
        (aio-report-unhandled-errors t)
        (aio-unhandled-error-grace-seconds 0))
    (cl-letf (((symbol-function 'display-warning)
               (lambda (type message &rest _) (push (list type message) warnings))))
      (aio-debug-test--outer '(9))
      (aio-test-eventually (lambda () warnings) 2))
    (should (= 1 (length warnings)))
    (should (eq 'aio (car (car warnings))))
    (let ((text (cadr (car warnings))))
      (should (string-match-p "Unhandled error in `aio-debug-test--outer': Arithmetic error" text))
      (should (string-match-p "Async backtrace" text))
      (should (string-match-p (concat "aio-debug-test--fail-later.*\n"
                                      ".*aio-debug-test--middle.*\n"
                                      ".*aio-debug-test--outer")
                              text)))))

(aio-defun aio-debug-test--bad-command ()
  "A command that fails after an await."
  (interactive)
  (aio-await (aio-sleep 0.001))
  (error "The command failed"))

(aio-deftest aio-debug-failing-async-command-reports-like-a-command ()
  (aio-debug-test--reporting reports
    (let* ((shown nil)
           (command-error-function
            (lambda (data context signal) (push (list data context signal) shown))))
      (call-interactively #'aio-debug-test--bad-command)
      (should (aio-test-eventually (lambda () shown) 2))
      (aio-test-settle)
      (should (= 1 (length shown)))
      (should (equal '(error "The command failed") (car (car shown))))
      (should (string-match-p "aio-debug-test--bad-command" (cadr (car shown))))
      ;; Not also as a warning.
      (should-not reports)
      ;; Called as a function, it reports as any async function.
      (setq shown nil)
      (aio-debug-test--bad-command)
      (should (aio-test-eventually (lambda () reports) 2))
      (should-not shown))))

;;;; Async backtraces

(aio-deftest aio-debug-async-backtrace-names-the-chain ()
  (let* ((data (list "deep"))
         (err (should-error (aio-test-wait (aio-debug-test--outer data))
                            :type 'arith-error)))
    ;; The error data are exactly what was signaled.
    (should (eq data (cdr err)))
    (let ((chain (cdr aio--last-failure)))
      (should (eq data (cdr (car aio--last-failure))))
      (should (equal '(aio-debug-test--outer aio-debug-test--middle
                                             aio-debug-test--fail-later)
                     (mapcar #'car chain)))
      ;; Where each was paused: file and line of the await.
      (let ((link (nth 1 chain)))
        (should (string-match-p "\\`aio-debug-test\\.el:[0-9]+\\'"
                                (aio--site-where (nth 1 link) (nth 2 link))))))
    (let ((text (with-current-buffer (aio-backtrace) (buffer-string))))
      (should (string-match-p "Latest failure: Arithmetic error: \"deep\"" text))
      (should (string-match-p
               (concat "aio-debug-test--fail-later (aio-debug-test\\.el:[0-9]+): "
                       "signaled after resuming at aio-debug-test\\.el:[0-9]+\n"
                       "  aio-debug-test--middle .*: awaiting aio-debug-test\\.el:[0-9]+\n"
                       "  aio-debug-test--outer .*: awaiting aio-debug-test\\.el:[0-9]+")
               text)))
    (kill-buffer "*aio-backtrace*")))

(defvar aio-debug-test--made nil
  "An async function loaded from a file by a test.")

(aio-deftest aio-debug-sites-say-the-line-of-each-await ()
  (let ((file (make-temp-file "aio-site-" nil ".el"
                              (concat ";;; -*- lexical-binding: t -*-\n"
                                      "(setq aio-debug-test--made\n"
                                      "  (aio-lambda (p)\n"
                                      "    (aio-await (aio-sleep 0))\n"
                                      "    (aio-await p)))\n"))))
    (unwind-protect
        ;; Loaded, then evaluated with point inside it, as C-M-x does.
        (dolist (how (list (lambda () (load file nil t))
                           (lambda ()
                             (with-current-buffer (find-file-noselect file)
                               (goto-char (point-min))
                               (search-forward "(aio-lambda")
                               (eval-defun nil)
                               (kill-buffer)))))
          (setq aio-debug-test--made nil)
          (funcall how)
          (let* ((gate (aio-promise))
                 (promise (funcall aio-debug-test--made gate))
                 (task (gethash (aio-promise-task promise) aio--tasks)))
            (should (aio-test-eventually
                     (lambda () (eq gate (aio--task-awaited task)))))
            (should (equal (format "%s:5" (file-name-nondirectory file))
                           (aio--site-where (aio--task-site task) (aio--task-info task))))
            (should (equal 3 (aio--info-line (aio--task-info task))))
            (aio-resolve gate #'ignore)
            (aio-test-wait promise)))
      (delete-file file))))

;;;; The debugger

(defvar aio-debug-test--entries nil
  "What the recording debugger saw: a list of (ARGS FRAME-NAMES).")

(defun aio-debug-test--recorder (&rest args)
  "Record the debugger's ARGS and the backtrace's function names."
  (push (list args
              (mapcar (lambda (frame)
                        (let ((f (cadr frame)))
                          (and (symbolp f) (symbol-name f))))
                      (backtrace-frames)))
        aio-debug-test--entries)
  ;; As ERT's debugger does: let Emacs enter the debugger again.
  (setq num-nonmacro-input-events (1+ num-nonmacro-input-events))
  nil)

(defmacro aio-debug-test--debugging (&rest body)
  "Run BODY with `debug-on-error' and the recording debugger."
  (declare (indent 0) (debug t))
  `(let ((aio-debug-test--entries nil)
         (debug-on-error t)
         (ert-debug-on-error t)
         (debugger #'aio-debug-test--recorder))
     ,@body))

(aio-deftest aio-debug-debugging-is-the-users-not-erts ()
  (let ((debug-on-error t))
    (let ((ert-debug-on-error nil))
      (should-not (aio--debugging-p)))
    (let ((ert-debug-on-error t))
      (should (aio--debugging-p)))))

(aio-deftest aio-debug-debugger-stops-where-the-error-is-signaled ()
  (aio-debug-test--reporting reports
    (aio-debug-test--debugging
      (let ((data (list "unawaited")))
        (aio-debug-test--middle data)
        (aio-test-settle)
        (aio-test-settle)
        ;; Once, at the signal, in a frame named after the function.
        (should (= 1 (length aio-debug-test--entries)))
        (let ((entry (car aio-debug-test--entries)))
          (should (equal (list 'error (cons 'arith-error data)) (car entry)))
          (should (member "aio-debug-test--fail-later" (cadr entry)))
          (should (member "signal" (cadr entry))))
        ;; The error goes on as it was.
        (should (equal (list (cons 'arith-error data)) (mapcar #'car reports)))))))

(aio-deftest aio-debug-debugger-stops-at-the-origin-of-an-error-waited-for ()
  (aio-debug-test--debugging
    (let ((err (should-error (aio-wait-for (aio-debug-test--outer '(10)) 5)
                             :type 'arith-error)))
      (should (equal '(arith-error 10) err))
      ;; Entered once, where the error was signaled, not again at each
      ;; await nor in `aio-wait-for'.
      (should (= 1 (length aio-debug-test--entries)))
      (should (member "aio-debug-test--fail-later"
                      (cadr (car aio-debug-test--entries)))))))

(aio-deftest aio-debug-debugger-skips-errors-an-awaiter-catches ()
  (aio-debug-test--debugging
    (should (equal '(caught (arith-error 11))
                   (aio-wait-for (aio-debug-test--catching '(11)) 5)))
    (should-not aio-debug-test--entries)))

(aio-deftest aio-debug-quitting-the-debugger-settles-the-promise ()
  (let* ((aio-report-unhandled-errors nil)
         (debug-on-error t)
         (ert-debug-on-error t)
         (debugger (lambda (&rest _)
                     ;; Emacs calls no debugger again until an input
                     ;; event: later failures would abort the run.
                     (setq num-nonmacro-input-events (1+ num-nonmacro-input-events))
                     (throw 'aio-debug-test--quit 'quit)))
         (promise nil))
    (should (eq 'quit (catch 'aio-debug-test--quit
                        (setq promise (aio-debug-test--fail-now '(12)))
                        'returned)))
    ;; The task was ended, as a quit, when the debugger left it.
    (should-not promise)
    (should-not (cl-some (lambda (task) (eq (aio--task-name task) 'aio-debug-test--fail-now))
                         (hash-table-values aio--tasks)))))

;;;; Variables

(aio-deftest aio-debug-locals-name-the-variables-of-the-frame ()
  (let* ((seen nil)
         (gate (aio-promise))
         (promise (funcall (aio-lambda (x)
                             (let ((y (* x 2)))
                               (aio-await gate)
                               (setq seen (aio-locals))
                               (+ x y)))
                           20)))
    (aio-resolve gate #'ignore)
    (should (= 60 (aio-test-wait promise)))
    (should (equal 20 (alist-get 'x seen)))
    (should (equal 40 (alist-get 'y seen)))))

(aio-deftest aio-debug-debug-sees-the-variables-by-name ()
  ;; Interpreted, as when the code is evaluated from its source: the
  ;; debugger's `e' evaluates in the frame of the call of `debug'.
  (let* ((seen nil)
         (fn (eval '(aio-lambda (x)
                      (let ((y (* x 2)))
                        (aio-await (aio-sleep 0))
                        (debug)
                        (+ x y)))
                   t)))
    (cl-letf (((symbol-function 'debug)
               (lambda (&rest _)
                 (setq seen (list (backtrace-eval 'x 0 'debug)
                                  (backtrace-eval 'y 0 'debug)))
                 ;; Setting a variable from the debugger sticks.
                 (backtrace-eval '(setq y 100) 0 'debug))))
      (should (= 101 (aio-test-wait (funcall fn 1)))))
    (should (equal '(1 2) seen))))

;; What `aio-backtrace' says from inside an async function, as from
;; the debugger's recursive edit.
(aio-deftest aio-debug-backtrace-inside-a-function-shows-it-and-its-awaiters ()
  (let* ((text nil)
         (gate (aio-promise))
         (inner (aio-lambda (x)
                  (let ((y (+ x 1)))
                    (aio-await gate)
                    (setq text (with-current-buffer (aio-backtrace) (buffer-string)))
                    y)))
         (outer (funcall (aio-lambda () (aio-await (funcall inner 5))))))
    (aio-test-eventually (lambda () (aio--task-awaited (gethash (aio-promise-task outer)
                                                                aio--tasks))))
    (aio-resolve gate #'ignore)
    (should (= 6 (aio-wait-for outer 5)))
    (should (string-match-p "Running: aio-lambda (x)" text))
    (should (string-match-p "  x = 5\n  y = 6" text))
    (should (string-match-p "awaited by aio-lambda () .*\n  awaited by `aio-wait-for'" text))
    (kill-buffer "*aio-backtrace*")))

;;;; Byte-compiler warnings

(defun aio-debug-test--warnings (file)
  "Byte-compile FILE; return its warnings as (LINE . TEXT), sorted."
  (let ((warnings nil))
    (let ((byte-compile-log-warning-function
           (lambda (string position &rest _)
             (push (cons (with-current-buffer byte-compile-current-buffer
                           (line-number-at-pos position))
                         string)
                   warnings))))
      (byte-compile-file file))
    (when (file-exists-p (concat file "c"))
      (delete-file (concat file "c")))
    (sort warnings (lambda (a b) (< (car a) (car b))))))

(defun aio-debug-test--compile-body (head body)
  "Return the warnings of BODY as the body of (HEAD f (x) ...)."
  (let ((file (make-temp-file "aio-warnings-" nil ".el"
                              (concat ";;; -*- lexical-binding: t -*-\n"
                                      "(require 'aio)\n"
                                      (format "(%s aio-debug-test--compiled (x)\n" head)
                                      body ")\n"))))
    (unwind-protect (aio-debug-test--warnings file)
      (delete-file file))))

(aio-deftest aio-debug-byte-compiler-warns-not-for-an-await-of-a-pure-call ()
  ;; Awaiting is what the form is there for, though its value is unused.
  (should-not (aio-debug-test--compile-body
               "aio-defun" "  (aio-await (aref x 0))\n  (ignore x)\n")))

(aio-deftest aio-debug-byte-compiler-warns-in-async-bodies-as-in-defuns ()
  (let* ((body (concat "  (let ((unused 1) (also (car x 2)))\n"
                       "    (ignore also)\n"
                       "    (%s (aio-sleep 0))\n"
                       "    aio-debug-test--free-variable)\n"))
         (async (aio-debug-test--compile-body "aio-defun" (format body "aio-await")))
         (plain (aio-debug-test--compile-body "defun" (format body "progn"))))
    (should (cl-find-if (lambda (w) (string-match-p "Unused lexical variable .unused" (cdr w)))
                        async))
    (should (cl-find-if (lambda (w) (string-match-p "free variable .aio-debug-test--free-variable"
                                                    (cdr w)))
                        async))
    (should (cl-find-if (lambda (w) (string-match-p "car.* called with 2 arguments" (cdr w)))
                        async))
    ;; The same warnings, at the same lines, as for a plain `defun'.
    (should (equal plain async))))

(aio-deftest aio-debug-byte-compiler-warnings-of-lambdas-and-with-async ()
  (let* ((body (concat "  (%s (a)\n"
                       "    (let ((unused-in-lambda (%s a)))\n"
                       "      (%s a)))\n"
                       "  (%s\n"
                       "    (let ((unused-in-body 1))\n"
                       "      (%s (aio-sleep 0))))\n"))
         (async (aio-debug-test--compile-body
                 "defun" (format body "aio-lambda" "aio-await" "aio-await"
                                 "aio-with-async" "aio-await")))
         (plain (aio-debug-test--compile-body
                 "defun" (format body "lambda" "progn" "progn"
                                 "progn" "progn"))))
    (should (equal (mapcar #'cdr plain) (mapcar #'cdr async)))
    ;; The line of the variable (Emacs 29 and later), or at least of
    ;; the async form around it (Emacs 28 guesses lines from symbols;
    ;; for the plain defun it guesses line 6 for the second one).
    (should (memq (car (rassoc "Unused lexical variable `unused-in-lambda'" async))
                  '(4 5)))
    (should (memq (car (rassoc "Unused lexical variable `unused-in-body'" async))
                  '(7 8)))))

;;;; Quitting `aio-wait-for'

(defun aio-debug-test--quit-soon ()
  "Make Emacs quit shortly, as \\[keyboard-quit] would."
  (run-at-time 0.02 nil (lambda () (setq quit-flag t))))

(aio-deftest aio-debug-quit-leaves-the-work-running-by-default ()
  (let* ((gate (aio-promise))
         (task (funcall (aio-lambda () (aio-await gate) 'finished))))
    (aio-debug-test--quit-soon)
    (should (eq 'quit (condition-case err (aio-wait-for task 5)
                        (quit (car err)))))
    (should-not (aio-result task))
    (aio-resolve gate #'ignore)
    (should (eq 'finished (aio-test-wait task)))))

(aio-deftest aio-debug-quit-may-cancel-what-is-waited-for ()
  (let* ((aio-wait-for-cancel-on-quit t)
         (cleaned nil)
         (task (funcall (aio-lambda ()
                          (unwind-protect (aio-await (aio-sleep 3600))
                            (setq cleaned t))))))
    (aio-debug-test--quit-soon)
    (should (eq 'quit (condition-case err (aio-wait-for task 5)
                        (quit (car err)))))
    (should (equal '(aio-cancel . quit) (aio-test-cancellation task)))
    (should cleaned)))

(provide 'aio-debug-test)
;;; aio-debug-test.el ends here
