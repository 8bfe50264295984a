;;; aio-probe-fds.el --- Probe: thousands of requests in flight leave Emacs its descriptors  -*- lexical-binding: t -*-

;;; Commentary:

;; Run in a child Emacs by aio-probe-test.el.  Emacs keeps a soft
;; RLIMIT_NOFILE of 1024, shared by its files, its subprocesses and
;; every socket of the native loop.  With more requests in flight to a
;; slow server than that, Emacs must go on working (reading files,
;; starting processes, loading features), the requests must end as the
;; server answers them (none as a connection failure: the server is up),
;; and afterwards the descriptors held must come back near where they
;; were.  The server listens on several ports, since clients cap
;; connections per host and port.

;;; Code:

(require 'cl-lib)
(require 'aio)
(require 'aio-probe-child)

(defun aio-probe-fds--try (tally what thunk)
  "Call THUNK and count its success or failure under WHAT in TALLY.
TALLY is a hash table; failures keep their first message."
  (condition-case err
      (progn (funcall thunk)
             (puthash (list what 'ok) (1+ (gethash (list what 'ok) tally 0)) tally))
    (error
     (puthash (list what 'failed) (1+ (gethash (list what 'failed) tally 0)) tally)
     (unless (gethash (list what 'message) tally)
       (puthash (list what 'message) (error-message-string err) tally)))))

(defun aio-probe-fds--emacs-work (tally scratch n)
  "Do ordinary Emacs work that needs descriptors, number N; count it in TALLY.
SCRATCH is a directory on `load-path' for the files it makes."
  (aio-probe-fds--try tally 'insert-file-contents
                      (lambda ()
                        (with-temp-buffer
                          (insert-file-contents (expand-file-name "data.txt" scratch)))))
  (aio-probe-fds--try tally 'make-process
                      (lambda ()
                        (make-process :name "aio-probe-true" :command '("true")
                                      :buffer nil :noquery t :connection-type 'pipe)))
  (let ((feature (intern (format "aio-probe-feature-%d" n))))
    (aio-probe-fds--try tally 'write-region
                        (lambda ()
                          (write-region (format "(provide '%s)\n" feature) nil
                                        (expand-file-name (format "%s.el" feature) scratch)
                                        nil 0)))
    (aio-probe-fds--try tally 'require (lambda () (require feature)))))

(defun aio-probe-fds--tally-plist (tally)
  "Return TALLY, a hash table from `aio-probe-fds--try', as a sorted alist."
  (let ((alist nil))
    (maphash (lambda (key value) (push (cons key value) alist)) tally)
    (aio-probe-sorted alist)))

(defun aio-probe-fds-main ()
  "Put many requests in flight to a slow server and keep Emacs busy meanwhile."
  (aio-probe-quiet)
  (let* ((n (aio-probe-param :requests 2000))
         (delay (aio-probe-param :delay 0.5))
         (timeout (aio-probe-param :timeout 300))
         (listeners (aio-probe-param :listeners 32))
         (server (aio-probe-start-server "--listeners" (number-to-string listeners)))
         (ports (process-get server 'ports))
         (scratch (make-temp-file "aio-probe-fds-" t))
         (load-path (cons scratch load-path))
         (tally (make-hash-table :test #'equal))
         (tracker (aio-probe-tracker n))
         (baseline (aio-probe-fd-baseline server))
         (peak-sockets 0)
         (peak-fds 0)
         (start (float-time))
         (work 0))
    (unwind-protect
        (progn
          (write-region "data\n" nil (expand-file-name "data.txt" scratch) nil 0)
          (dotimes (i n)
            (aio-probe-track
             tracker i
             (aio-http-request (aio-probe-url server (format "/kind/slow?delay=%s&n=%d" delay i)
                                              (nth (% i (length ports)) ports))
                               :proxy "" :timeout timeout))
            (when (zerop (% i 100))
              (aio-probe-fds--emacs-work tally scratch (setq work (1+ work)))))
          (let ((issued-seconds (- (float-time) start)))
            (while (and (< (aio-probe-settled-count tracker) n)
                        (< (float-time) (+ start timeout 30)))
              (aio-probe-fds--emacs-work tally scratch (setq work (1+ work)))
              (let ((table (aio-probe-fd-table)))
                (setq peak-fds (max peak-fds (length table)))
                (setq peak-sockets
                      (max peak-sockets
                           (cl-count-if (lambda (e) (string-prefix-p "socket:" (cdr e))) table))))
              (aio-probe-wait #'ignore 0.05))
            (let ((run-seconds (- (float-time) start))
                  (outcomes (plist-get tracker :outcomes))
                  (after (aio-probe-fd-settle server)))
              (progn
                (aio-probe-report
                 (append
                  (list :requests n :delay delay :listeners listeners
                        :nofile-limit (aio-probe-rlimit "Max open files")
                        :issue-seconds issued-seconds
                        :run-seconds run-seconds
                        :outcomes (aio-probe-tally
                                   (mapcar (lambda (o)
                                             (if (eq (car o) 'ok)
                                                 (list (intern (format "ok-%s" (aio-http-response-status (cdr o)))))
                                               o))
                                           outcomes))
                        :first-errors (let ((seen nil))
                                        (mapc (lambda (o)
                                                (when (and o (not (eq (car o) 'ok))
                                                           (not (assq (car o) seen)))
                                                  (push o seen)))
                                              outcomes)
                                        seen)
                        :emacs-work (aio-probe-fds--tally-plist tally)
                        :emacs-work-failed (cl-loop for (key . value) in (aio-probe-fds--tally-plist tally)
                                                    when (eq (cadr key) 'failed) sum value)
                        :peak-sockets peak-sockets
                        :peak-fds peak-fds
                        :fds-before baseline
                        :last-request (plist-get after :last-request)
                        :fds-after (plist-get after :fds)
                        :lisp-pending-after (aio-probe-pending)
                        :server (aio-probe-server-stats server))
                  (aio-probe-settle-figures tracker)))))))
      (aio-probe-stop-servers)
      (delete-directory scratch t))))

(provide 'aio-probe-fds)
;;; aio-probe-fds.el ends here
