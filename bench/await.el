;;; await.el --- Benchmark of aio-await and semaphores  -*- lexical-binding: t -*-

;;; Commentary:

;; Run it from the top of the project in batch mode, with the project's
;; Lisp directory on `load-path' (-L), loading this file (-l).
;;
;; Measures, side by side, 100,000 awaits of an already-resolved
;; promise, of (aio-sleep 0) and of a non-promise value, and 10,000 tasks
;; waiting on one semaphore released by 10,000 posts.  Figures only mean
;; something byte-compiled: when the aio libraries found on `load-path'
;; are not compiled, they are compiled into a scratch directory first,
;; and this file compiles itself before it runs.

;;; Code:

(require 'bytecomp)

(defconst aio-bench--file (or load-file-name buffer-file-name))

(defun aio-bench--compiled-lisp-directory ()
  "Return a scratch directory holding compiled copies of the aio libraries."
  (let* ((source (file-name-directory (locate-library "aio.el")))
         (dir (make-temp-file "aio-bench-" t)))
    (dolist (file (directory-files source t "\\.\\(el\\|so\\)\\'"))
      (copy-file file (file-name-as-directory dir)))
    ;; In a separate Emacs, so that the sources this one would load while
    ;; compiling do not stand in for the compiled files.
    (apply #'call-process (expand-file-name invocation-name invocation-directory)
           nil nil nil "-Q" "--batch" "-L" dir "-f" "batch-byte-compile"
           (directory-files dir t "\\.el\\'"))
    dir))

(defun aio-bench--time (function)
  "Call FUNCTION and return the seconds it took."
  (let ((start (float-time)))
    (funcall function)
    (- (float-time) start)))

(defmacro aio-bench--loop (n &rest body)
  "Return the seconds an async function running BODY N times takes."
  (declare (indent 1))
  `(aio-bench--time
    (lambda ()
      (aio-wait-for (funcall (aio-lambda ()
                               (dotimes (_ ,n) ,@body)))))))

(defun aio-bench-run ()
  "Run the benchmarks and print their figures."
  (require 'aio)
  (let* ((n 100000)
         (resolved (let ((promise (aio-promise)))
                     (aio-resolve promise (lambda () 1))
                     promise))
         (gc-before gc-elapsed)
         (t-resolved (aio-bench--loop n (aio-await resolved)))
         (t-sleep (aio-bench--loop n (aio-await (aio-sleep 0))))
         (t-value (aio-bench--loop n (aio-await 1)))
         (us (lambda (seconds) (/ (* seconds 1e6) n))))
    (message "aio-await, %d iterations each (byte-compiled: %s)"
             n (string-suffix-p ".elc" (symbol-file 'aio-resolve)))
    (message "  resolved promise: %6.3f us" (funcall us t-resolved))
    (message "  (aio-sleep 0):    %6.3f us" (funcall us t-sleep))
    (message "  non-promise:      %6.3f us" (funcall us t-value))
    (message "  ratio resolved / non-promise: %.2f" (/ t-resolved t-value))
    (message "  (garbage collection in these: %.3f s)" (- gc-elapsed gc-before)))
  (let* ((tasks 10000)
         (sem (aio-sem 0))
         (seconds
          (aio-bench--time
           (lambda ()
             (let ((waiting (let (promises)
                              (dotimes (_ tasks)
                                (push (funcall (aio-lambda ()
                                                 (aio-await (aio-sem-wait sem))))
                                      promises))
                              promises)))
               (dotimes (_ tasks) (aio-sem-post sem))
               (aio-wait-for (aio-all waiting)))))))
    (message "semaphore: %d waiting tasks, %d posts, all done: %.3f s"
             tasks tasks seconds)))

(if (string-suffix-p ".elc" aio-bench--file)
    (aio-bench-run)
  (let ((lisp (unless (string-suffix-p ".elc" (locate-library "aio-promise"))
                (aio-bench--compiled-lisp-directory)))
        (elc (make-temp-file "aio-bench-" nil ".elc")))
    (unwind-protect
        (let ((load-path (if lisp (cons lisp load-path) load-path))
              (byte-compile-dest-file-function (lambda (_) elc)))
          (require 'aio)
          (byte-compile-file aio-bench--file)
          (load elc nil t))
      (delete-file elc)
      (when lisp (delete-directory lisp t)))))

;;; await.el ends here
