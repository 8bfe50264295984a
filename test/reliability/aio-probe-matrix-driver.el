;;; aio-probe-matrix-driver.el --- Run the bad-input matrix in child Emacsen  -*- lexical-binding: t -*-

;;; Commentary:

;; The parent's side of aio-probe-matrix.el: `aio-probe-matrix-drive'
;; starts child Emacsen until every call of the matrix has run.  Each
;; child logs a line before and after each call; when one dies or stops
;; making progress, the call it was making is recorded as a crash (a
;; signal), a death (an exit) or a hang, and the next child starts at
;; the next call.

;;; Code:

(require 'cl-lib)
(require 'aio-probe)

(defun aio-probe-matrix--read-progress (file)
  "Return the records in the progress FILE, a list of sexps, in order."
  (with-temp-buffer
    (insert-file-contents file)
    (let ((records nil))
      (goto-char (point-min))
      (while (not (eobp))
        (let ((line (buffer-substring (point) (line-end-position))))
          (when (string-prefix-p "(" line)
            (condition-case nil (push (car (read-from-string line)) records) (error nil))))
        (forward-line 1))
      (nreverse records))))

(cl-defun aio-probe-matrix-drive (&key fast assertions
                                       (stall-timeout (if fast 40 60)))
  "Run the matrix in child Emacsen until every call ran; return the summary.
FAST non-nil takes only the core values; ASSERTIONS as for
`aio-probe-run'.  A child that makes no progress for STALL-TIMEOUT
seconds is killed.  The summary is a plist: :total, :counts (an alist
of classes), :flagged (calls with leak flags), :non-clean (records of
every call that is not clean or accepted), :functions, :settings,
:unspecified, :children (how many child Emacsen it took), :seconds."
  (let* ((progress (make-temp-file "aio-probe-matrix-" nil ".eld"))
         (slow (if (eq assertions 'inherit) (aio-probe-module-assertions-p) assertions))
         (start 0)
         (children 0)
         (total nil)
         (header nil)
         (results (make-hash-table))
         (began (float-time)))
    (unwind-protect
        (progn
          (while (or (null total) (< start total))
            (setq children (1+ children))
            (let* ((run (aio-probe-run "aio-probe-matrix" 'aio-probe-matrix-main
                                       :params (list :start start :fast fast :progress progress
                                                     ;; Less room, sooner out of memory
                                                     ;; when an argument makes it grow.
                                                     :headroom (* (if fast 256 1024) 1024 1024)
                                                     :hang-seconds (* (if fast 8 10)
                                                                      (if slow 1.5 1)))
                                       :assertions assertions
                                       :progress progress :stall-timeout stall-timeout
                                       :timeout 7200))
                   (records (aio-probe-matrix--read-progress progress))
                   (last-started nil)
                   (last-call nil)
                   (done nil))
              (dolist (record records)
                (pcase (car record)
                  ('total (setq header record total (nth 1 record)))
                  ('S (setq last-started (nth 1 record) last-call (nth 2 record)))
                  ('R (puthash (nth 1 record) (cddr record) results))
                  ('done (setq done t))))
              (cond
               (done (setq start total))
               ((null last-started)
                (error "The matrix's Emacs %s before its first call: %s"
                       (aio-probe-describe-end run) (plist-get run :stderr)))
               (t
                (unless (gethash last-started results)
                  (puthash last-started
                           (list (cond ((plist-get run :killed) 'hang)
                                       ((plist-get run :signal) 'crash)
                                       (t 'died))
                                 nil last-call
                                 (list (aio-probe-describe-end run)
                                       (truncate-string-to-width (or (plist-get run :stderr) "") 600)))
                           results))
                (setq start (1+ last-started))
                ;; The next child appends after this point.
                (write-region (format "%S\n" (list 'restart start)) nil progress t 0)))))
          (let ((counts nil) (flagged nil) (non-clean nil))
            (dotimes (i total)
              (let* ((record (gethash i results))
                     (class (car record))
                     (cell (assq class counts)))
                (if cell (setcdr cell (1+ (cdr cell))) (push (cons class 1) counts))
                (when (cl-remove 'valid-refused (nth 1 record))
                  (push (cons i record) flagged))
                (unless (memq class '(clean accepted))
                  (push (cons i record) non-clean))))
            (list :total total
                  :counts (sort counts (lambda (a b) (> (cdr a) (cdr b))))
                  :flagged (nreverse flagged)
                  :non-clean (nreverse non-clean)
                  :valid-refused (cl-loop for i below total
                                          for record = (gethash i results)
                                          when (memq 'valid-refused (nth 1 record))
                                          collect (nth 2 record))
                  :functions (plist-get (cddr header) :functions)
                  :settings (plist-get (cddr header) :settings)
                  :unspecified (plist-get (cddr header) :unspecified)
                  :children children
                  :seconds (- (float-time) began))))
      (delete-file progress))))

(provide 'aio-probe-matrix-driver)
;;; aio-probe-matrix-driver.el ends here
