;;; aio-probe-inherit.el --- Probe: subprocesses inherit none of the loop's descriptors  -*- lexical-binding: t -*-

;;; Commentary:

;; Run in a child Emacs by aio-probe-test.el.  The module's descriptors
;; are those Emacs holds once the loop runs with requests in flight and
;; did not hold before (sockets, the wake pipe, the loop's own event
;; descriptors).  A subprocess started with `make-process' while
;; requests are in flight, and another started after they were
;; canceled, must hold none of them; and the server must see the
;; canceled connections close.

;;; Code:

(require 'cl-lib)
(require 'subr-x)
(require 'aio)
(require 'aio-probe-child)

(defun aio-probe-inherit--exec-done-p (process program)
  "Return non-nil once PROCESS is PROGRAM: its fork has exec'd.
Before the exec, the child's table is Emacs's own."
  (let ((comm (with-temp-buffer
                (ignore-errors
                  (insert-file-contents-literally
                   (format "/proc/%d/comm" (process-id process))))
                (string-trim (buffer-string)))))
    (equal comm program)))

(defun aio-probe-inherit--child ()
  "Start a subprocess that waits; return it once it has exec'd."
  (let ((process (make-process :name "aio-probe-inherit-child"
                               :command '("sleep" "60")
                               :connection-type 'pipe :noquery t
                               :buffer nil)))
    (aio-probe-wait (lambda () (aio-probe-inherit--exec-done-p process "sleep")) 10)
    process))

(defun aio-probe-inherit--held (process module)
  "Return the entries of PROCESS's descriptor table whose target is in MODULE."
  (cl-remove-if-not (lambda (entry) (member (cdr entry) module))
                    (aio-probe-fd-table (process-id process))))

(defun aio-probe-inherit-main ()
  "Start requests, then subprocesses; compare their descriptor tables."
  (aio-probe-quiet)
  (let* ((n (aio-probe-param :requests 5))
         (server (aio-probe-start-server))
         (before (mapcar #'cdr (aio-probe-fd-table)))
         (promises nil))
    (aio-native-init)
    (dotimes (i n)
      (push (aio-http-request (aio-probe-url server (format "/kind/stall?n=%d" i)) :proxy "")
            promises))
    (aio-probe-wait (lambda () (>= (hash-table-count (aio-probe-server-faults server)) n)) 20)
    (let* ((during (mapcar #'cdr (aio-probe-fd-table)))
           (module (cl-set-difference during before :test #'equal))
           (first-child (aio-probe-inherit--child))
           (held-during (aio-probe-inherit--held first-child module))
           (open-during (plist-get (aio-probe-server-stats server) :open)))
      (mapc #'aio-cancel promises)
      (aio-probe-wait (lambda () (and (zerop (aio-probe-pending))
                                      (eql 0 (aio-probe-stat :http-pending))))
                      10)
      ;; The server notices closed connections on its next read.
      (aio-probe-wait (lambda () (eql 0 (plist-get (aio-probe-server-stats server) :open))) 3)
      (let* ((second-child (aio-probe-inherit--child))
             (report
              (list :requests n
                    :module-descriptors module
                    :module-sockets (cl-count-if (lambda (target) (string-prefix-p "socket:" target))
                                                 module)
                    :held-while-in-flight held-during
                    :held-after-cancel (aio-probe-inherit--held first-child module)
                    :held-by-later-child (aio-probe-inherit--held second-child module)
                    :server-open-in-flight open-during
                    :server-open-after-cancel (plist-get (aio-probe-server-stats server) :open))))
        (delete-process first-child)
        (delete-process second-child)
        (aio-probe-stop-servers)
        (aio-probe-report report)))))

(provide 'aio-probe-inherit)
;;; aio-probe-inherit.el ends here
