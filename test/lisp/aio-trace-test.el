;;; aio-trace-test.el --- Tests of aio-trace-mode  -*- lexical-binding: t -*-

;;; Commentary:

;; `aio-trace-mode': the lines it logs for pauses, resumes and ends of
;; async functions, the bound on the buffer, and that turning it off
;; stops the logging.

;;; Code:

(require 'ert)
(require 'cl-lib)
(require 'aio)
(require 'aio-test-helpers)

(aio-defun aio-trace-test--napper ()
  "Sleep a little and return `rested'."
  (aio-await (aio-sleep 0.01))
  'rested)

(aio-defun aio-trace-test--failer ()
  "Sleep a little and fail."
  (aio-await (aio-sleep 0.01))
  (error "Boom"))

(defmacro aio-trace-test--with-trace (&rest body)
  "Run BODY with `aio-trace-mode' on and an empty trace buffer.
Afterwards the mode is off and the buffer killed."
  (declare (indent 0) (debug t))
  `(unwind-protect
       (progn
         (when (get-buffer aio-trace-buffer-name)
           (kill-buffer aio-trace-buffer-name))
         (aio-trace-mode 1)
         ,@body)
     (aio-trace-mode -1)
     (when (get-buffer aio-trace-buffer-name)
       (kill-buffer aio-trace-buffer-name))))

(defun aio-trace-test--lines ()
  "Return the lines of the trace buffer, or nil if there is none."
  (let ((buffer (get-buffer aio-trace-buffer-name)))
    (and buffer
         (with-current-buffer buffer
           (split-string (buffer-string) "\n" t)))))

(defun aio-trace-test--matching (regexp)
  "Return the lines of the trace buffer that match REGEXP."
  (cl-remove-if-not (lambda (line) (string-match-p regexp line))
                    (aio-trace-test--lines)))

(aio-deftest aio-trace-logs-pause-resume-and-end-with-the-name ()
  (aio-trace-test--with-trace
    (let* ((promise (aio-trace-test--napper))
           (id (aio-promise-task promise))
           (name (format "aio-trace-test--napper #%d" id)))
      (should (eq 'rested (aio-wait-for promise 5)))
      (let ((pause (aio-trace-test--matching
                    (concat "pause +" (regexp-quote name)
                            " +awaits sleep 0\\.01s\\'")))
            (resume (aio-trace-test--matching
                     (concat "resume " (regexp-quote name)
                             " +after [0-9.]+s +(sleep 0\\.01s)\\'")))
            (end (aio-trace-test--matching
                  (concat "end +" (regexp-quote name) " +returned\\'"))))
        (should (= 1 (length pause)))
        (should (= 1 (length resume)))
        (should (= 1 (length end)))
        ;; In that order.
        (let ((lines (aio-trace-test--lines)))
          (should (< (cl-position (car pause) lines :test #'equal)
                     (cl-position (car resume) lines :test #'equal)
                     (cl-position (car end) lines :test #'equal))))))))

(aio-deftest aio-trace-logs-failures-and-cancellations ()
  (aio-trace-test--with-trace
    (let* ((failing (aio-trace-test--failer))
           (canceled (funcall (aio-lambda () (aio-await (aio-sleep 3600)))))
           (canceled-id (aio-promise-task canceled)))
      (should-error (aio-wait-for failing 5))
      (aio-cancel canceled 'enough)
      (aio-test-cancellation canceled)
      (should (aio-trace-test--matching
               "end +aio-trace-test--failer #[0-9]+ +failed: Boom\\'"))
      (should (aio-trace-test--matching
               (format "resume aio-lambda .* #%d +after [0-9.]+s, canceled"
                       canceled-id)))
      (should (aio-trace-test--matching
               (format "end +aio-lambda .* #%d +canceled (enough)\\'"
                       canceled-id))))))

(aio-deftest aio-trace-stops-logging-when-turned-off ()
  (aio-trace-test--with-trace
    (aio-wait-for (aio-trace-test--napper) 5)
    (should (aio-trace-test--matching "aio-trace-test--napper"))
    (aio-trace-mode -1)
    (should-not aio--trace-function)
    (should-not (memq 'aio-trace aio-native--trackers))
    (with-current-buffer aio-trace-buffer-name
      (let ((inhibit-read-only t))
        (erase-buffer)))
    (aio-wait-for (aio-trace-test--napper) 5)
    (should-not (aio-trace-test--lines))))

(aio-deftest aio-trace-keeps-at-most-max-lines ()
  (let ((aio-trace-max-lines 4))
    (aio-trace-test--with-trace
      (dotimes (_ 3)
        (aio-wait-for (aio-trace-test--napper) 5))
      ;; Three runs make nine lines; the last four are kept.
      (let ((lines (aio-trace-test--lines)))
        (should (= 4 (length lines)))
        (should (string-match-p "end +aio-trace-test--napper" (car (last lines))))))))

(provide 'aio-trace-test)
;;; aio-trace-test.el ends here
