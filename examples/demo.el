;;; demo.el --- The main example: a rate-limited downloader  -*- lexical-binding: t; -*-

;;; Commentary:

;; Run with `make demo', or:
;;   emacs -Q --batch -L lisp -L examples -l examples/demo.el
;;
;; Shows: async functions (`aio-defun', `aio-await'), native sleeps,
;; native HTTP against a server this file starts on 127.0.0.1, a
;; semaphore that keeps at most four downloads in flight, `aio-all' to
;; join them, and how many native operations are pending at each step.

;;; Code:

(require 'aio)
(require 'local-server)
(require 'url-parse)

(defvar demo-in-flight 0
  "Downloads running right now.")

(aio-defun demo-download (sem url)
  "Download URL once SEM lets us; return its size in bytes."
  (aio-await (aio-sem-wait sem))
  (setq demo-in-flight (1+ demo-in-flight))
  (unwind-protect
      (let ((response (aio-await (aio-http-request url :proxy ""))))
        ;; A little think time, so the limit is visible in the log.
        (aio-await (aio-sleep 0.05))
        (message "  %-28s %d, %6d bytes  (%d in flight)"
                 (url-filename (url-generic-parse-url url))
                 (aio-http-response-status response)
                 (length (aio-http-response-body response))
                 demo-in-flight)
        (length (aio-http-response-body response)))
    (setq demo-in-flight (1- demo-in-flight))
    (aio-sem-post sem)))

(aio-defun demo-sleep-then (n push)
  "Call PUSH with N after N tenths of a second."
  (aio-await (aio-sleep (* n 0.1)))
  (funcall push n))

(aio-defun demo-main ()
  "Run the demo; return the total number of bytes downloaded."
  (let ((base (local-server-start)))
    (unwind-protect
        (progn
          (message "1. Sleep sort with native timers:")
          (let ((sorted nil))
            (aio-await (aio-all (mapcar (lambda (n)
                                          (demo-sleep-then n (lambda (n) (push n sorted))))
                                        '(5 3 9 1 7 2))))
            (message "   %S" (nreverse sorted)))
          (message "2. Twelve downloads from %s, at most four at a time:" base)
          (let* ((sem (aio-sem 4))
                 (urls (mapcar (lambda (i) (format "%s/bytes/%d" base (* i 1000)))
                               (number-sequence 1 12)))
                 (sizes (aio-await (aio-all (mapcar (lambda (url) (demo-download sem url))
                                                    urls)))))
            (message "3. Done: %d bytes in %d files; native operations pending: %S"
                     (apply #'+ sizes) (length sizes)
                     (plist-get (aio-native-stats) :lisp-pending))
            (apply #'+ sizes)))
      (local-server-stop))))


(let ((start (float-time)))
  (aio-wait-for (demo-main))
  (message "Finished in %.2f s." (- (float-time) start)))

(provide 'demo)
;;; demo.el ends here
