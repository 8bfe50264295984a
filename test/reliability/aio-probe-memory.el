;;; aio-probe-memory.el --- Probes: memory exhaustion is an error, not an abort  -*- lexical-binding: t -*-

;;; Commentary:

;; Run in a child Emacs by aio-probe-test.el, whose address space the
;; probe limits (with prlimit(1), on itself) to what it uses already
;; plus a headroom, so that the figures hold on any machine.
;;
;; `aio-probe-memory-endless-main': a server announces a body of 100 GB
;; and streams zeros.  Emacs must survive and the request reject.
;;
;; `aio-probe-memory-conversion-main': a body that fits in the loop's
;; memory but not once more in Lisp's, finished in the same drain as
;; 100 sleeps.  The sleeps must settle and the request reject.

;;; Code:

(require 'cl-lib)
(require 'aio)
(require 'aio-probe-child)

(defun aio-probe-memory--outcome (promise seconds)
  "Wait up to SECONDS for PROMISE; return (ok . STATUS) or the condition."
  (condition-case err
      (cons 'ok (aio-http-response-status (aio-wait-for promise seconds)))
    ((error aio-cancel) err)))

(defun aio-probe-memory--wait (predicate seconds on-error)
  "Like `aio-probe-wait' for PREDICATE and SECONDS, going on after errors.
An error that escapes event processing (a filter's \"Memory
exhausted\") is handed to ON-ERROR."
  (let ((deadline (+ (float-time) seconds)))
    (while (and (not (funcall predicate)) (< (float-time) deadline))
      (condition-case err
          (accept-process-output nil 0.005)
        (error (funcall on-error err))))
    (funcall predicate)))

(defun aio-probe-memory--after ()
  "Return a plist saying whether Emacs still works after the probe."
  (list :later-sleep (condition-case err (aio-wait-for (aio-sleep 0.01 'slept) 5)
                       ((error aio-cancel) err))
        :later-string (condition-case err (length (make-string 1000 ?x))
                        (error err))
        :lisp-pending-after (aio-probe-pending)))

(defun aio-probe-memory-endless-main ()
  "Request a 100 GB body of zeros under a limited address space."
  (aio-probe-quiet)
  (let* ((headroom (aio-probe-param :headroom (* 512 1024 1024)))
         (server (aio-probe-start-server))
         ;; The loop, libcurl and a connection exist before the limit.
         (warm (aio-probe-get (aio-probe-url server "/kind/correct")))
         (vmsize (aio-probe-vmsize))
         (limit (aio-probe-limit-memory headroom))
         (start (float-time))
         (outcome (aio-probe-memory--outcome
                   (aio-http-request (aio-probe-url server "/kind/zeros") :proxy "" :timeout 120)
                   150)))
    (aio-probe-report
     (append (list :warm-up warm :vmsize vmsize :headroom headroom :limit limit
                   :outcome outcome
                   :seconds (- (float-time) start))
             (aio-probe-memory--after)))
    (aio-probe-stop-servers)))

(defun aio-probe-memory-conversion-main ()
  "Finish a body too big for Lisp in the same drain as 100 sleeps."
  (aio-probe-quiet)
  (let* ((size (aio-probe-param :size (* 200 1024 1024)))
         (sleeps (aio-probe-param :sleeps 100))
         (server (aio-probe-start-server))
         (warm (aio-probe-get (aio-probe-url server "/kind/correct")))
         (vmsize (aio-probe-vmsize))
         ;; Room for the body once, in the loop's memory, and half of
         ;; it again: not enough for the Lisp string too.
         (limit (aio-probe-limit-memory (+ size (/ size 2))))
         (tracker (aio-probe-tracker (1+ sleeps)))
         (request (aio-http-request (aio-probe-url server (format "/kind/big?size=%d" size))
                                    :proxy "" :timeout 120 :max-size (* 2 size))))
    (aio-probe-track tracker sleeps request)
    (dotimes (i sleeps)
      (aio-probe-track tracker i (aio-sleep 0.05 i)))
    ;; Lisp is busy: every completion waits in the loop's outbox, to be
    ;; taken in one drain.
    (let* ((queued (aio-probe-busy-wait
                    (lambda () (and (eql 0 (aio-probe-stat :http-pending))
                                    (eql 0 (aio-probe-stat :timers-pending))))
                    120))
           (start (float-time))
           (escaped nil)
           (settled (aio-probe-memory--wait
                     (lambda () (= (aio-probe-settled-count tracker) (1+ sleeps)))
                     5 (lambda (err) (push err escaped))))
           (outcomes (plist-get tracker :outcomes)))
      (aio-probe-report
       (append (list :warm-up warm :vmsize vmsize :size size :limit limit
                     :queued-in-one-drain (and queued t)
                     :escaped-errors escaped
                     :filter-errors aio-probe-filter-errors
                     :all-settled (and settled t)
                     :settle-seconds (- (float-time) start)
                     :sleeps-settled (cl-count-if #'identity (cl-subseq outcomes 0 sleeps))
                     :sleep-outcomes (aio-probe-tally (cl-subseq outcomes 0 sleeps))
                     :request-outcome (let ((o (aref outcomes sleeps)))
                                        (if (eq (car o) 'ok)
                                            (list 'ok (length (aio-http-response-body (cdr o))))
                                          o)))
               (aio-probe-settle-figures tracker)
               (aio-probe-memory--after))))
    (aio-probe-stop-servers)))

(provide 'aio-probe-memory)
;;; aio-probe-memory.el ends here
