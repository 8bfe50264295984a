;;; aio-test-helpers.el --- Shared helpers of the aio tests  -*- lexical-binding: t -*-

;;; Commentary:

;; Loaded by the test files (the Makefile puts test/lisp on the load
;; path); not a test file itself.
;;
;; `aio-deftest' is `ert-deftest' followed by `aio-test-quiesce': a test
;; that cancels native timers leaves their cancellation in flight on the
;; loop thread, and a later test counting pending timers would
;; otherwise see the count drop under it.

;;; Code:

(require 'ert)
(require 'cl-lib)
(require 'aio)

(defun aio-test-eventually (predicate &optional seconds)
  "Process events until PREDICATE is true, for at most SECONDS (default 5)."
  (let ((deadline (+ (float-time) (or seconds 5))))
    (while (and (not (funcall predicate)) (< (float-time) deadline))
      (accept-process-output nil 0.002))
    (funcall predicate)))

(defun aio-test-wait-exit (process seconds)
  "Wait at most SECONDS for PROCESS to exit, then read what it still had.
Emacs can see a child's exit before its last output: that output is
read here.  Return non-nil if PROCESS exited."
  (prog1 (aio-test-eventually (lambda () (not (process-live-p process))) seconds)
    (while (accept-process-output process 0.1))))

(defun aio-test-quiesce ()
  "Wait until the native loop has carried out every cancellation sent."
  (when (plist-get (aio-native-stats) :running)
    (aio-test-eventually
     (lambda ()
       (let ((stats (aio-native-stats))
             (native 0))
         ;; Every service's count of what it has pending.
         (while stats
           (when (and (not (eq (car stats) :lisp-pending))
                      (string-suffix-p "-pending" (symbol-name (car stats))))
             (setq native (+ native (or (cadr stats) 0))))
           (setq stats (cddr stats)))
         (= native (plist-get (aio-native-stats) :lisp-pending)))))))

(defmacro aio-deftest (name args &rest body)
  "Define the ERT test NAME with ARGS and BODY, then quiesce the native loop.
BODY may start with a docstring and keyword arguments, as for
`ert-deftest'.  An `aio-cancel' that escapes BODY fails the test.
Every test of test/lisp is defined with it."
  (declare (indent 2) (debug (&define name sexp def-body)) (doc-string 3))
  (let ((head nil))
    (when (and (stringp (car body)) (cdr body))
      (push (pop body) head))
    (while (keywordp (car body))
      (push (pop body) head)
      (push (pop body) head))
    `(ert-deftest ,name ,args
       ,@(nreverse head)
       (unwind-protect
           ;; `aio-cancel' is no `error': escaping a test, it would end
           ;; the whole run as a non-local exit instead of failing this
           ;; test.
           (condition-case err
               (progn ,@body)
             (aio-cancel (ert-fail (list "aio-cancel escaped the test" err))))
         (aio-test-quiesce)))))

(defun aio-test-refused-port ()
  "Return a port of 127.0.0.1 nobody listens on."
  (let* ((server (make-network-process :name "aio-test-port" :server t
                                       :host "127.0.0.1" :service t :noquery t))
         (port (process-contact server :service)))
    (delete-process server)
    port))

(defun aio-test-cancellation (promise)
  "Wait for PROMISE; return the `aio-cancel' condition it signals, or nil.
`should-error' cannot do it: `aio-cancel' is not an `error'."
  (condition-case err
      (progn (aio-wait-for promise 10) nil)
    (aio-cancel err)))

(defun aio-test-error (promise)
  "Wait for PROMISE; return the error it is rejected with, or nil."
  (condition-case err
      (progn (aio-test-wait promise) nil)
    (error err)))

(defmacro aio-test-with-server (spec &rest body)
  "Run BODY beside a server process, its first words bound.
SPEC is (VARS COMMAND REGEXP): COMMAND, a list of strings, starts the
server; once its output matches REGEXP (within 10 s), each of VARS is
bound to the string of the group of the same rank, and BODY runs.  The
server is stopped after BODY.  The test is skipped if the program of
COMMAND is not installed."
  (declare (indent 1) (debug ((sexp form form) body)))
  (let ((process (make-symbol "process"))
        (buffer (make-symbol "buffer"))
        (command (make-symbol "command"))
        (matches (make-symbol "matches")))
    `(let ((,command ,(nth 1 spec)))
       (unless (executable-find (car ,command))
         (ert-skip (format "%s is needed" (car ,command))))
       (let* ((,buffer (generate-new-buffer " *aio-test-server*"))
              (,process (make-process :name "aio-test-server" :buffer ,buffer :noquery t
                                      :connection-type 'pipe :command ,command))
              (,matches nil))
         (unwind-protect
             (progn
               (aio-test-eventually
                (lambda ()
                  (with-current-buffer ,buffer
                    (goto-char (point-min))
                    (when (re-search-forward ,(nth 2 spec) nil t)
                      (setq ,matches (mapcar #'match-string
                                             (number-sequence 1 ,(length (car spec))))))))
                10)
               (unless ,matches (error "The server %S did not start" ,command))
               (let ,(cl-loop for var in (car spec) for i from 0
                              collect `(,var (nth ,i ,matches)))
                 ,@body))
           (delete-process ,process)
           (kill-buffer ,buffer))))))

(defun aio-test-wait (promise)
  "Wait for PROMISE, but not forever: give up after 10 s."
  (aio-wait-for promise 10))

(defun aio-test-settle ()
  "Run what the ready queue has now, and what that leads to."
  (aio-wait-for (aio-sleep 0.005) 5)
  ;; The queue runs in slices: a slow machine may leave some for later.
  (aio-test-eventually (lambda () (null aio--ready-head))))

(defun aio-test-canceled-p (promise)
  "Return non-nil if PROMISE ends canceled."
  (and (aio-test-cancellation promise) t))

(defun aio-test-timers ()
  "Return the number of native timers pending."
  (plist-get (aio-native-stats) :timers-pending))

(provide 'aio-test-helpers)
;;; aio-test-helpers.el ends here
