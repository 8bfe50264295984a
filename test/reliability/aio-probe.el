;;; aio-probe.el --- Run reliability probes in child Emacsen  -*- lexical-binding: t -*-

;;; Commentary:

;; Each probe runs in a child Emacs, so that a crash, an abort or a hang
;; is observed rather than suffered.  `aio-probe-run' starts the child
;; (batch, -Q, the project's lisp/ on the load path, HOME in a scratch
;; directory, no proxy settings in the environment), watches it with a
;; timeout, and returns how it ended and what it reported.
;;
;; Sizes: the probes run small under `make test' and at full size under
;; `make test-reliability', which sets AIO_PROBE_SCALE=full.  Figures
;; are printed, and appended to the file named by AIO_PROBE_FIGURES.

;;; Code:

(require 'cl-lib)
(require 'subr-x)
(require 'ert)

(defconst aio-probe--directory
  (file-name-directory (or load-file-name buffer-file-name))
  "The directory of the probes.")

(defconst aio-probe--lisp-directory
  (let ((library (locate-library "aio")))
    (if library
        (file-name-directory (expand-file-name library))
      (expand-file-name "../../lisp/" aio-probe--directory)))
  "Where the library under test is: the children load the same.
That is the directory `load-path' finds `aio' in (the byte-compiled
copy of `make test', say), else the project's lisp/.")

(defun aio-probe-full-p ()
  "Return non-nil when the probes run at full size."
  (equal (getenv "AIO_PROBE_SCALE") "full"))

(defun aio-probe-size (fast full)
  "Return FULL at full size, else FAST."
  (if (aio-probe-full-p) full fast))

(defun aio-probe-module-assertions-p ()
  "Return non-nil if this Emacs was started with -module-assertions.
Emacs removes the option from `command-line-args'; /proc keeps it."
  (with-temp-buffer
    (and (ignore-errors (insert-file-contents-literally "/proc/self/cmdline") t)
         (member "-module-assertions" (split-string (buffer-string) "\0"))
         t)))

(defun aio-probe--environment (params out home)
  "Return the child's environment: PARAMS, the report file OUT, HOME."
  (append (list (concat "AIO_PROBE_ARGS" "=" (let ((print-circle t)) (prin1-to-string params)))
                (concat "AIO_PROBE_OUT=" out)
                (concat "HOME=" home))
          (cl-remove-if (lambda (entry)
                          (string-match-p "\\`\\(?:[a-z]+_proxy\\|[A-Z]+_PROXY\\|HOME\\|AIO_PROBE_[A-Z]+\\)=" entry))
                        process-environment)))

(defun aio-probe--excerpt (buffer n)
  "Return BUFFER's text, or its first and last N/2 characters if longer than N."
  (with-current-buffer buffer
    (if (<= (buffer-size) n)
        (buffer-substring-no-properties (point-min) (point-max))
      (concat (buffer-substring-no-properties (point-min) (+ (point-min) (/ n 2)))
              "\n[...]\n"
              (buffer-substring-no-properties (- (point-max) (/ n 2)) (point-max))))))

(cl-defun aio-probe-run (file function &key params (timeout 300) assertions
                              progress stall-timeout wrapper)
  "Run FUNCTION of the probe FILE in a child Emacs; return how it went.
FILE is a file name in this directory without suffix.  PARAMS is the
plist the probe reads with `aio-probe-param'.  The child is killed
after TIMEOUT seconds, or when PROGRESS, a file it appends to, has not
grown for STALL-TIMEOUT seconds.  ASSERTIONS non-nil runs it under
-module-assertions; the symbol `inherit' does so if this Emacs runs so.
WRAPPER is a list of words put before the command (such as a shell
setting a limit).

The value is a plist: :result (what the probe reported, or nil),
:exit (the exit code, or nil), :signal (the signal that ended it, or
nil), :core (non-nil if a core was dumped), :killed (`timeout' or
`stall' if it had to be killed), :elapsed (seconds), :ended (the
`float-time' its end was seen), :stdout and
:stderr (their text, the middle cut out beyond 4000 characters)."
  (let* ((scratch (make-temp-file "aio-probe-" t))
         (out (expand-file-name "result.eld" scratch))
         (home (expand-file-name "home" scratch))
         (default-directory (file-name-as-directory scratch))
         (stdout (generate-new-buffer " *aio-probe-stdout*"))
         (stderr (generate-new-buffer " *aio-probe-stderr*"))
         (assertions (if (eq assertions 'inherit)
                         (aio-probe-module-assertions-p)
                       assertions))
         (start (float-time))
         (event nil)
         (killed nil)
         (ended nil)
         process)
    (unwind-protect
        (progn
          (make-directory home)
          (setq process
                (let ((process-environment (aio-probe--environment params out home)))
                  (make-process
                   :name "aio-probe-child" :buffer stdout :stderr stderr
                   :connection-type 'pipe :noquery t
                   :sentinel (lambda (_process e) (setq event e))
                   :command (append wrapper
                                    (list (expand-file-name invocation-name invocation-directory)
                                          "-Q" "--batch")
                                    (and assertions (list "-module-assertions"))
                                    ;; `make' leaves .elc files in lisp/: never
                                    ;; older ones than the sources.
                                    (list "--eval" "(setq load-prefer-newer t)"
                                          "-L" aio-probe--lisp-directory
                                          "-L" aio-probe--directory
                                          "-l" "aio-probe-child"
                                          "-l" (expand-file-name file aio-probe--directory)
                                          "-f" (symbol-name function))))))
          (let ((deadline (+ start timeout))
                (size -1)
                (moved (float-time)))
            (while (and (process-live-p process) (not killed))
              (accept-process-output process 0.1)
              (when progress
                (let ((now (or (file-attribute-size (file-attributes progress)) 0)))
                  (unless (eql now size)
                    (setq size now moved (float-time)))))
              (cond ((> (float-time) deadline) (setq killed 'timeout))
                    ((and stall-timeout (> (- (float-time) moved) stall-timeout))
                     (setq killed 'stall))))
            (when (process-live-p process)
              (signal-process process 'KILL))
            ;; Let the sentinel run and the last output arrive.  Not
            ;; `accept-process-output' of PROCESS: once it is dead that
            ;; returns at once without running its sentinel.
            (let ((give-up (+ (float-time) 30)))
              (while (and (or (process-live-p process) (not event))
                          (< (float-time) give-up))
                (accept-process-output nil 0.05)))
            (setq ended (float-time))
            (accept-process-output nil 0.05))
          (list :result (and (file-exists-p out)
                             (with-temp-buffer
                               (insert-file-contents out)
                               (condition-case nil (read (current-buffer)) (error nil))))
                :exit (and (eq (process-status process) 'exit) (process-exit-status process))
                :signal (and (eq (process-status process) 'signal) (process-exit-status process))
                :core (or (and event (string-match-p "core dumped" event))
                          (and (directory-files scratch nil "\\`core") t))
                :killed killed
                :elapsed (- ended start)
                :ended ended
                :stdout (aio-probe--excerpt stdout 4000)
                :stderr (aio-probe--excerpt stderr 4000)))
      (when (and process (process-live-p process))
        (signal-process process 'KILL))
      (kill-buffer stdout)
      (kill-buffer stderr)
      (delete-directory scratch t))))

(defun aio-probe-describe-end (run)
  "Return a string saying how the child of RUN ended."
  (cond ((plist-get run :killed)
         (format "killed (%s) after %.1f s" (plist-get run :killed) (plist-get run :elapsed)))
        ((plist-get run :signal)
         (format "died of signal %d%s" (plist-get run :signal)
                 (if (plist-get run :core) " (core dumped)" "")))
        (t (format "exited with status %s" (plist-get run :exit)))))

(defun aio-probe-result (run)
  "Return what the child of RUN reported; fail the test if it reported nothing."
  (or (plist-get run :result)
      (ert-fail (list (concat "The probe's Emacs " (aio-probe-describe-end run)
                              " without a report")
                      :stderr (plist-get run :stderr)
                      :stdout (plist-get run :stdout)))))

(defun aio-probe-figures (title plist)
  "Print the figures PLIST of the probe TITLE; append them to $AIO_PROBE_FIGURES."
  (let ((text (with-temp-buffer
                (insert (format "%s%s\n" title (if (aio-probe-full-p) "" " (reduced sizes)")))
                (while plist
                  (insert (format "    %-24s %s\n" (car plist)
                                  (let ((print-length 20) (print-level 4))
                                    (if (floatp (cadr plist))
                                        (format "%.3f" (cadr plist))
                                      (prin1-to-string (cadr plist))))))
                  (setq plist (cddr plist)))
                (buffer-string)))
        (file (getenv "AIO_PROBE_FIGURES")))
    (message "%s" (string-trim-right text))
    (when (and file (not (string-empty-p file)))
      (write-region text nil file t 0))))

(provide 'aio-probe)
;;; aio-probe.el ends here
