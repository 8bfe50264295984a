;;; wake.el --- Wake-up latency, idle cost and exit time of the native loop  -*- lexical-binding: t; -*-

;;; Commentary:

;; Run: emacs -Q --batch -L lisp -l bench/wake.el -f aio-bench-wake-main
;; Prints, for each wake method: the time from a native timer's deadline
;; to its Lisp callback (median, 99th percentile over 1,000 sleeps), the
;; CPU an otherwise idle Emacs uses over 10 s with 1,000 hour-long sleeps
;; pending, and how long `kill-emacs' takes with 10,000 sleeps pending.
;; Set AIO_BENCH_IDLE_SECONDS to shorten the idle measurement.

;;; Code:

(require 'aio)
(require 'cl-lib)

(defun aio-bench-wake--percentile (sorted p)
  "Return the P-th percentile (0..1) of the SORTED list."
  (nth (min (1- (length sorted)) (floor (* p (length sorted)))) sorted))

(defun aio-bench-wake-latency (method n)
  "Measure callback lateness of N sleeps with wake METHOD; return a plist."
  (customize-set-variable 'aio-native-wake-method method)
  (aio-wait-for (aio-sleep 0.01))
  (let ((late nil) (remaining n))
    (dotimes (_ n)
      (let* ((delay (+ 0.05 (/ (random 1000000) 1e6)))
             (deadline (+ (float-time) delay)))
        (aio-listen (aio-sleep delay)
                    (lambda (_)
                      (push (- (float-time) deadline) late)
                      (cl-decf remaining)))))
    (while (> remaining 0) (accept-process-output nil 0.05))
    (setq late (sort late #'<))
    (list :median-ms (* 1000 (aio-bench-wake--percentile late 0.5))
          :p99-ms (* 1000 (aio-bench-wake--percentile late 0.99)))))

(defun aio-bench-wake-idle (method seconds)
  "Return CPU seconds used over SECONDS with 1,000 hour sleeps, wake METHOD."
  (customize-set-variable 'aio-native-wake-method method)
  (dotimes (i 1000) (aio-sleep 3600 i))
  (garbage-collect)
  (let ((cpu0 (float-time (get-internal-run-time))))
    (sleep-for seconds)
    (- (float-time (get-internal-run-time)) cpu0)))

(defun aio-bench-wake-exit-seconds ()
  "Return the seconds a child Emacs takes to exit with 10,000 sleeps pending.
Measured from the `kill-emacs' call to the child's end."
  (let* ((dirs (delete-dups (mapcar (lambda (lib) (file-name-directory (locate-library lib)))
                                    '("aio" "aio-native"))))
         (out (generate-new-buffer " *exit*"))
         (start nil)
         (process (make-process
                   :name "exit" :buffer out :noquery t
                   :command (cl-list* (expand-file-name invocation-name invocation-directory)
                                  "-Q" "--batch"
                                  (append (mapcan (lambda (d) (list "-L" d)) dirs)
                                          (list "-l" "aio" "--eval"
                                                "(progn (dotimes (i 10000) (aio-sleep 3600 i)) (princ \"ready\\n\") (sleep-for 0.5) (kill-emacs 0))"))))))
    (while (and (process-live-p process)
                (not (with-current-buffer out (string-match-p "ready" (buffer-string)))))
      (accept-process-output process 0.01))
    ;; The child calls kill-emacs 0.5 s after it says it is ready.
    (setq start (+ (float-time) 0.5))
    (while (process-live-p process) (accept-process-output process 0.001))
    (kill-buffer out)
    (max 0 (- (float-time) start))))

(defun aio-bench-wake-main ()
  "Print every measurement of this file."
  (let ((idle (string-to-number (or (getenv "AIO_BENCH_IDLE_SECONDS") "10"))))
    (dolist (method '(channel timer))
      (let ((lat (aio-bench-wake-latency method 1000)))
        (princ (format "%-8s latency: median %.3f ms, p99 %.3f ms\n" method
                       (plist-get lat :median-ms) (plist-get lat :p99-ms)))))
    (dolist (method '(channel timer))
      (princ (format "%-8s idle CPU over %gs with 1000 pending: %.4f s\n" method idle
                     (aio-bench-wake-idle method idle))))
    (princ (format "kill-emacs with 10000 pending: %.3f s\n"
                   (aio-bench-wake-exit-seconds)))))

(provide 'wake)
;;; wake.el ends here
