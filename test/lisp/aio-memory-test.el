;;; aio-memory-test.el --- Running out of memory fails one operation, not Emacs  -*- lexical-binding: t; -*-

;;; Commentary:

;; Each test runs a child Emacs, lets it start the native loop, then caps
;; its address space (prlimit --as) a little above what it uses, so that
;; one response cannot fit.  The child must survive, reject that request
;; with an `aio-http-error', and settle everything else.  The caps are
;; relative to the child's own size, so they hold on any machine.

;;; Code:

(require 'ert)
(require 'cl-lib)
(require 'aio)
(require 'aio-test-helpers)
(require 'aio-test-server)

(defun aio-memory-test--vm-size (pid)
  "Return the virtual size of process PID in bytes."
  (with-temp-buffer
    (insert-file-contents (format "/proc/%d/status" pid))
    (re-search-forward "^VmSize:[ \t]+\\([0-9]+\\) kB")
    (* 1024 (string-to-number (match-string 1)))))

(defun aio-memory-test--run (form headroom)
  "Run FORM in a child Emacs capped to its size plus HEADROOM bytes.
The child says READY, waits for a line on its stdin (sent once the cap
is set), evaluates FORM and prints its value after RESULT.  Return
\(EXIT-STATUS . OUTPUT)."
  (let* ((dir (file-name-directory (locate-library "aio")))
         (script (format "(progn (require 'aio) (aio-native-init) (princ \"READY\\n\") (read-string \"\") (princ (format \"RESULT %%S\\n\" %S)))"
                         form))
         (buffer (generate-new-buffer " *aio-memory-child*"))
         (child (make-process :name "aio-memory-child" :buffer buffer
                              :command (list (expand-file-name invocation-name invocation-directory)
                                             "-Q" "--batch" "-L" dir "--eval" script)
                              :connection-type 'pipe :noquery t)))
    (unwind-protect
        (progn
          (should (aio-test-eventually
                   (lambda () (with-current-buffer buffer
                                (string-match-p "^READY$" (buffer-string))))
                   20))
          (let ((cap (+ (aio-memory-test--vm-size (process-id child)) headroom)))
            (should (zerop (call-process "prlimit" nil nil nil
                                         "--pid" (number-to-string (process-id child))
                                         (format "--as=%d:" cap)))))
          (process-send-string child "go\n")
          (aio-test-wait-exit child 120)
          (cons (process-exit-status child)
                (with-current-buffer buffer (buffer-string))))
      (when (process-live-p child) (delete-process child))
      (kill-buffer buffer))))

(defun aio-memory-test--result (output)
  "Return the value the child printed after RESULT in OUTPUT."
  (and (string-match "^RESULT \\(.*\\)$" output)
       (car (read-from-string (match-string 1 output)))))

(aio-deftest aio-memory-a-body-too-big-for-the-loop-thread-fails-alone ()
  (skip-unless (executable-find "prlimit"))
  ;; The server claims 100 GB and streams zeros: the body outgrows the
  ;; cap on the loop thread, inside a libcurl callback.
  (let* ((url (aio-test-server--url "/endless"))
         (outcome (aio-memory-test--run
                   `(condition-case err
                        (progn (aio-wait-for (aio-http-request ,url :proxy "" :max-size nil) 60)
                               'no-error)
                      (error (list (car err)
                                   (and (memq 'aio-http-error (get (car err) 'error-conditions)) t)
                                   (aio-wait-for (aio-sleep 0.01 'alive) 10))))
                   (* 300 1024 1024))))
    (should (equal (car outcome) 0))
    (should (equal (aio-memory-test--result (cdr outcome))
                   '(aio-http-too-large t alive)))))

(aio-deftest aio-memory-a-body-too-big-for-lisp-fails-alone ()
  (skip-unless (executable-find "prlimit"))
  ;; 200 MB fit in the loop thread's memory, but not a second time as a
  ;; Lisp string.  The main thread is kept busy meanwhile, so that the
  ;; body and 100 sleeps reach Lisp in one drain.
  (let* ((n (* 200 1024 1024))
         (url (aio-test-server--url (format "/bytes?n=%d" n)))
         (outcome (aio-memory-test--run
                   `(let ((get (aio-http-request ,url :proxy "" :max-size nil))
                          (sleeps (cl-loop for i below 100 collect (aio-sleep 0.001 i))))
                      ;; Blocks without reading process output.
                      (call-process "sleep" nil nil nil "3")
                      (list (condition-case err (progn (aio-wait-for get 30) 'no-error)
                              (error (car err)))
                            (equal (mapcar (lambda (p) (aio-wait-for p 10)) sleeps)
                                   (number-sequence 0 99))
                            (plist-get (aio-native-stats) :lisp-pending)))
                   (+ n (/ n 2)))))
    (should (equal (car outcome) 0))
    (should (equal (aio-memory-test--result (cdr outcome))
                   '(aio-http-too-large t 0)))))

(provide 'aio-memory-test)
;;; aio-memory-test.el ends here
