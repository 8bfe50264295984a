;;; aio-process-test.el --- Tests of subprocesses as streams  -*- lexical-binding: t -*-

;;; Commentary:

;; `aio-process' and `aio-process-output': exit codes and signals,
;; stdout and stderr apart and merged, stdin, backpressure with bounded
;; memory, cancellation that kills and reaps, and clear errors.

;;; Code:

(require 'ert)
(require 'aio)
(require 'aio-test-helpers)

(defun aio-process-test-lines (stream)
  "Wait for the list of the lines of STREAM."
  (aio-test-wait (aio-stream-collect (aio-stream-lines stream))))

(defun aio-process-test-gone-p (process)
  "Return non-nil if PROCESS, an `aio-process', has left no trace."
  (let ((emacs-process (aio-process-process process)))
    (and (not (process-live-p emacs-process))
         (not (memq emacs-process (process-list)))
         (null (aio--process-stderr-process process))
         ;; Reaped: no zombie left with its process id.
         (null (process-attributes (process-id emacs-process))))))

(defmacro aio-process-test-no-leak (&rest body)
  "Run BODY; check that it leaves no new process or buffer behind.
The native loop, with its own process, is started first."
  (declare (indent 0))
  (let ((processes (make-symbol "processes"))
        (buffers (make-symbol "buffers")))
    `(let ((,processes (progn (aio-test-settle) (process-list)))
           (,buffers (buffer-list)))
       (prog1 (progn ,@body)
         (aio-test-settle)
         (should (null (cl-set-difference (process-list) ,processes)))
         (should (null (cl-set-difference (buffer-list) ,buffers)))))))

(aio-deftest aio-process-exit-codes-and-signals ()
  (aio-process-test-no-leak
    (should (eql 0 (aio-test-wait (aio-process-exit (aio-process :command '("true"))))))
    (should (eql 3 (aio-test-wait (aio-process-exit
                                   (aio-process :command '("sh" "-c" "exit 3"))))))
    (should (eql -9 (aio-test-wait (aio-process-exit
                                    (aio-process :command '("sh" "-c" "kill -KILL $$"))))))))

(aio-deftest aio-process-stdout-and-stderr-apart-merged-discarded ()
  (aio-process-test-no-leak
    (let ((process (aio-process :command '("sh" "-c" "echo out; echo err >&2; echo out2"))))
      (should (equal '("out" "out2") (aio-process-test-lines (aio-process-stdout process))))
      (should (equal '("err") (aio-process-test-lines (aio-process-stderr process))))
      (should (eql 0 (aio-test-wait (aio-process-exit process)))))
    (let ((process (aio-process :command '("sh" "-c" "echo out; sleep 0.05; echo err >&2")
                                :stderr 'merge)))
      (should (null (aio-process-stderr process)))
      (should (equal '("out" "err") (aio-process-test-lines (aio-process-stdout process)))))
    (let ((process (aio-process :command '("sh" "-c" "echo out; echo err >&2")
                                :stderr 'discard)))
      (should (null (aio-process-stderr process)))
      (should (equal '("out") (aio-process-test-lines (aio-process-stdout process))))
      (should (eql 0 (aio-test-wait (aio-process-exit process)))))))

(aio-deftest aio-process-keywords ()
  (aio-process-test-no-leak
    (let* ((dir (file-name-as-directory (make-temp-file "aio-process" t)))
           (process (aio-process :command '("sh" "-c" "pwd; echo \"$AIO_TEST_VAR\"; printf 'caf\\303\\251'")
                                 :directory dir :environment '("AIO_TEST_VAR=set here")
                                 :coding 'utf-8 :name "aio-test-name")))
      (unwind-protect
          (progn
            (should (equal "aio-test-name" (process-name (aio-process-process process))))
            (should (equal (list (directory-file-name (file-truename dir)) "set here" "café")
                           (aio-process-test-lines (aio-process-stdout process)))))
        (delete-directory dir)))
    (let ((process (aio-process :command '("sh" "-c" "test -t 1 && echo tty")
                                :connection-type 'pty :stderr 'merge)))
      (should (equal '("tty") (aio-process-test-lines (aio-process-stdout process)))))))

(aio-deftest aio-process-stdin-round-trip-through-cat ()
  (aio-process-test-no-leak
    (let ((process (aio-process :command '("cat"))))
      (aio-process-send process "hello\n")
      (aio-process-send process "wörld\nno newline")
      (aio-test-wait (aio-process-send-eof process))
      (should (equal '("hello" "wörld" "no newline")
                     (aio-process-test-lines (aio-process-stdout process))))
      (should (eql 0 (aio-test-wait (aio-process-exit process))))
      (should (aio-test-error (aio-process-send process "late"))))
    ;; More than any pipe holds, with a small bound: the writes wait
    ;; while cat is stopped for its reader.
    (let* ((aio-process-max-bytes 8192)
           (line (concat (make-string 99 ?x) "\n"))
           (input (apply #'concat (make-list 20000 line)))
           (process (aio-process :command '("cat") :coding 'binary))
           (lines (aio-stream-collect (aio-stream-lines (aio-process-stdout process) 'binary)))
           (sent (aio-process-send process input)))
      (aio-process-send-eof process)
      (aio-test-wait sent)
      (let ((got (aio-test-wait lines)))
        (should (= 20000 (length got)))
        (should (cl-every (lambda (l) (equal l (substring line 0 99))) got))))))

(aio-deftest aio-process-100-mib-read-slowly-in-bounded-memory ()
  (aio-process-test-no-leak
    (let* ((read-process-output-max 65536)
           (gc-cons-threshold (* 8 1024 1024))
           (bound (* 128 1024))
           (size (* 100 1024 1024))
           (rss (lambda () (alist-get 'rss (process-attributes (emacs-pid)))))
           (before (progn (garbage-collect) (funcall rss)))
           (most-rss before) (most-buffered 0) (stopped 0) (total 0)
           (process (aio-process :command (list "head" "-c" (number-to-string size) "/dev/zero")
                                 :coding 'binary :max-bytes bound))
           (stdout (aio-process-stdout process)))
      (aio-wait-for
       (funcall (aio-lambda ()
                  ;; Late to start: the process fills the stream and stops.
                  (aio-await (aio-sleep 0.1))
                  (let ((next 0))
                    (aio-dostream (chunk stdout)
                      (setq total (+ total (length chunk))
                            most-buffered (max most-buffered (aio--stream-bytes stdout)))
                      (when (aio--process-stopped process)
                        (setq stopped (1+ stopped)))
                      (when (>= total next)
                        ;; A slow reader: a pause every half MiB.
                        (setq next (+ next (* 512 1024))
                              most-rss (max most-rss (funcall rss)))
                        (aio-await (aio-sleep 0.004)))))))
       60)
      (should (= size total))
      (should (eql 0 (aio-test-wait (aio-process-exit process))))
      ;; The process had to wait for its reader...
      (should (> stopped 0))
      ;; ...so the stream held its bound, plus what was in the pipe and
      ;; one read,
      (should (<= most-buffered (+ bound 65536 read-process-output-max)))
      ;; and Emacs grew by far less than the 100 MiB that went through
      ;; (the same reader with no bound, 1 GiB, made it grow by 85 MiB).
      (message "100 MiB: RSS %d KiB before, at most %d KiB more while reading"
               before (- most-rss before))
      (should (< (- most-rss before) (* 32 1024))))))

(aio-deftest aio-process-output-is-not-lost-when-stopped-at-exit ()
  ;; The process writes everything and exits while its reader is
  ;; behind: what was left in the pipe must still arrive.
  (aio-process-test-no-leak
    (let* ((process (aio-process :command '("head" "-c" "300000" "/dev/zero")
                                 :coding 'binary :max-bytes 16384 :stderr 'discard)))
      (aio-wait-for (aio-sleep 0.3))
      (should (= 300000 (apply #'+ (mapcar #'length (aio-test-wait
                                                     (aio-stream-collect
                                                      (aio-process-stdout process)))))))
      (should (eql 0 (aio-test-wait (aio-process-exit process)))))
    (let* ((process (aio-process :command '("sh" "-c" "head -c 300000 /dev/zero >&2")
                                 :coding 'binary :max-bytes 16384)))
      (aio-wait-for (aio-sleep 0.3))
      (should (= 300000 (apply #'+ (mapcar #'length (aio-test-wait
                                                     (aio-stream-collect
                                                      (aio-process-stderr process)))))))
      (should (eql 0 (aio-test-wait (aio-process-exit process)))))))

(aio-deftest aio-process-closing-a-stream-discards-it ()
  (aio-process-test-no-leak
    (let ((process (aio-process :command '("sh" "-c" "head -c 1000000 /dev/zero; echo done >&2")
                                :coding 'binary :max-bytes 4096)))
      (aio-stream-close (aio-process-stdout process))
      (should (equal '("done") (aio-process-test-lines (aio-process-stderr process))))
      (should (eql 0 (aio-test-wait (aio-process-exit process)))))))

(aio-deftest aio-process-cancel-kills-and-reaps ()
  (aio-process-test-no-leak
    (let ((process (aio-process :command '("sleep" "30"))))
      (aio-test-settle)
      (should (aio-cancel (aio-process-exit process) 'enough))
      (should (equal '(aio-cancel . enough) (aio-test-cancellation (aio-process-exit process))))
      (should (aio-process-test-gone-p process))
      (should (equal '(aio-stream-end) (aio-test-error
                                         (aio-stream-next (aio-process-stdout process))))))
    ;; One that ignores SIGTERM gets SIGKILL after the grace period.
    (let* ((aio-process-kill-grace-seconds 0.2)
           (process (aio-process :command '("sh" "-c" "trap '' TERM; echo ready; sleep 30 & wait")))
           (start nil))
      (should (equal "ready\n" (aio-test-wait (aio-stream-next (aio-process-stdout process)))))
      (setq start (float-time))
      (aio-cancel (aio-process-exit process))
      (should (aio-test-cancellation (aio-process-exit process)))
      (should (>= (- (float-time) start) 0.2))
      (should (aio-process-test-gone-p process)))
    ;; A process stopped for its reader is killed too.
    (let ((process (aio-process :command '("head" "-c" "10000000" "/dev/zero")
                                :coding 'binary :max-bytes 4096)))
      (should (aio-test-eventually (lambda () (aio--process-stopped process))))
      (aio-cancel (aio-process-exit process))
      (should (aio-test-cancellation (aio-process-exit process)))
      (should (aio-process-test-gone-p process)))))

(aio-deftest aio-process-stopped-processes-end-with-emacs ()
  ;; A process Emacs keeps stopped would otherwise stay stopped after
  ;; Emacs exits, deaf to the SIGHUP it gets.
  (let ((script (make-temp-file "aio-process" nil ".el"
                                (concat ";;; -*- lexical-binding: t -*-\n"
                                        (prin1-to-string
                                         '(let ((p (aio-process :command '("sh" "-c" "head -c 10000000 /dev/zero; sleep 30")
                                                                :coding 'binary :max-bytes 4096)))
                                            (while (not (aio--process-stopped p))
                                              (aio-wait-for (aio-sleep 0.01)))
                                            (princ (process-id (aio-process-process p)))
                                            (kill-emacs 0))))))
        (pid nil))
    (unwind-protect
        (with-temp-buffer
          (should (eql 0 (call-process (expand-file-name invocation-name invocation-directory)
                                       nil t nil "-Q" "--batch"
                                       "-L" (file-name-directory (locate-library "aio"))
                                       "-l" "aio" "-l" script)))
          (setq pid (string-to-number (buffer-string)))
          (should (> pid 0))
          (should (aio-test-eventually
                   (lambda () (not (equal "T" (alist-get 'state (process-attributes pid)))))))
          ;; Ended: gone, or a zombie its new parent has not reaped yet.
          (should (aio-test-eventually
                   (lambda () (member (alist-get 'state (process-attributes pid)) '(nil "Z"))))))
      (delete-file script)
      (when (and pid (process-attributes pid))
        (signal-process (- pid) 'SIGKILL)))))

(aio-deftest aio-process-output-results-and-errors ()
  (aio-process-test-no-leak
    (should (equal '(0 "out\n" "err\n")
                   (aio-test-wait (aio-process-output '("sh" "-c" "echo out; echo err >&2")))))
    (should (equal '(0 "a\nb\n" "")
                   (aio-test-wait (aio-process-output '("cat") :input "a\nb\n"))))
    (let ((err (aio-test-error
                (aio-process-output '("sh" "-c" "echo bad thing >&2; exit 2")))))
      (should (equal '(aio-process-error "sh -c echo bad thing >&2; exit 2" 2 "bad thing\n")
                     err)))
    (should (equal '(2 "" "") (aio-test-wait (aio-process-output '("sh" "-c" "exit 2")
                                                                 :check nil))))
    (should (equal '(-15 "" "") (aio-test-wait (aio-process-output '("sh" "-c" "kill $$")
                                                                   :check nil))))
    (let ((tail (nth 3 (aio-test-error
                        (aio-process-output '("sh" "-c" "head -c 5000 /dev/zero | tr '\\0' x >&2; exit 1"))))))
      (should (= 2000 (length tail))))
    (should (equal (list 0 (concat (file-truename temporary-file-directory) "\n") "")
                   (aio-test-wait (aio-process-output '("sh" "-c" "cd -P .; echo \"$PWD/\"")
                                                      :directory temporary-file-directory))))))

(aio-deftest aio-process-output-timeout-and-cancel-kill-and-reap ()
  (aio-process-test-no-leak
    (let ((start (float-time)))
      (should (equal '(aio-timeout . 0.2)
                     (aio-test-error (aio-process-output '("sleep" "30") :timeout 0.2))))
      (should (< (- (float-time) start) 10)))
    (let ((promise (aio-process-output '("sleep" "30"))))
      (aio-test-settle)
      (aio-cancel promise)
      (should (aio-test-cancellation promise)))))

(aio-deftest aio-process-clear-errors ()
  (aio-process-test-no-leak
    (should (equal '(file-missing "Searching for program" "No such file or directory"
                                  "aio-no-such-command")
                   (condition-case err (aio-process :command '("aio-no-such-command"))
                     (error err))))
    (should (eq 'file-missing (car (aio-test-error
                                    (aio-process-output '("aio-no-such-command")))))))
  (aio-process-test-no-leak
    (should (equal '(file-missing "Setting current directory" "No such file or directory"
                                  "/aio/no/such/directory/")
                   (condition-case err (aio-process :command '("true")
                                                    :directory "/aio/no/such/directory")
                     (error err))))
    (should (eq 'file-missing (car (aio-test-error
                                    (aio-process-output '("true") :directory "/aio/no/such/directory")))))))

(aio-deftest aio-process-bad-arguments ()
  (should-error (aio-process :command "ls") :type 'wrong-type-argument)
  (should-error (aio-process :command nil) :type 'wrong-type-argument)
  (should-error (aio-process :command '("ls" 1)) :type 'wrong-type-argument)
  (should-error (aio-process :command '("ls") :stderr 'bogus) :type 'wrong-type-argument)
  (should-error (aio-process :command '("ls") :connection-type 'bogus) :type 'wrong-type-argument)
  (should-error (aio-process :command '("ls") :environment "X=1") :type 'wrong-type-argument)
  (should-error (aio-process :command '("ls") :bogus 1) :type 'error)
  (should-error (aio-process-output "ls") :type 'wrong-type-argument)
  (should-error (aio-process-output '("ls") :timeout -1) :type 'args-out-of-range)
  (should-error (aio-process-output '("ls") :timeout "1") :type 'wrong-type-argument)
  (should-error (aio-process-stdout 'nope) :type 'wrong-type-argument)
  (should-error (aio-process-send 'nope "x") :type 'wrong-type-argument))

;; Found by the probe matrix: each of these left a process, a pipe or a
;; buffer behind.
(aio-deftest aio-process-refusals-leave-nothing-behind ()
  (aio-process-test-no-leak
    (should-error (aio-process-output '("cat") :timeout 2e9) :type 'args-out-of-range)
    (should-error (aio-process-output '("cat") :timeout 1.0e+INF) :type 'args-out-of-range)
    (should-error (aio-process :command '("cat") :max-bytes 0) :type 'args-out-of-range)
    (should-error (aio-process :command '("cat") :coding '(utf-8 . aio-no-such-coding))
                  :type 'coding-system-error)
    (should-error (aio-process-output '("cat") :coding '(aio-no-such-coding . utf-8))
                  :type 'coding-system-error)))

(aio-deftest aio-process-outlives-the-buffer-it-was-started-in ()
  ;; The library's own tasks (waiting for the exit, collecting output)
  ;; do not care which buffer was current when they started.
  (aio-process-test-no-leak
    (let (process output)
      (with-temp-buffer
        (setq process (aio-process :command '("cat"))
              output (aio-process-output '("echo" "out"))))
      (should (equal (aio-test-wait output) '(0 "out\n" "")))
      (aio-cancel (aio-process-exit process))
      (should (eq (car (condition-case err (aio-test-wait (aio-process-exit process))
                         (aio-cancel err)))
                  'aio-cancel))
      (should (aio-process-test-gone-p process))
      (let (lines)
        (with-temp-buffer
          (let ((p (aio-process :command '("printf" "a\nb\n"))))
            (setq lines (aio-stream-collect (aio-stream-lines (aio-process-stdout p))))))
        (should (equal (aio-test-wait lines) '("a" "b")))))))

(aio-deftest aio-process-stderr-outlived-by-a-child ()
  ;; A child keeps stderr open after the process exits: the exit
  ;; settles after `aio-process-linger-seconds' anyway.
  (aio-process-test-no-leak
    (let* ((aio-process-linger-seconds 0.1)
           ;; The child outlives the wait below: only the linger ends it.
           (process (aio-process :command '("sh" "-c" "sleep 30 & exit 4"))))
      (should (eql 4 (aio-wait-for (aio-process-exit process) 5)))
      (should (aio-process-test-gone-p process)))))

(aio-deftest aio-process-list-tasks-shows-the-exit-wait ()
  (let ((process (aio-process :command '("sleep" "30") :name "aio-test-sleeper")))
    (unwind-protect
        (should (equal "exit of process aio-test-sleeper"
                       (aio-tasks--describe-await
                        (gethash (aio-promise-task (aio-process-exit process)) aio--tasks))))
      (aio-cancel (aio-process-exit process))
      (aio-test-cancellation (aio-process-exit process)))))

(provide 'aio-process-test)
;;; aio-process-test.el ends here
