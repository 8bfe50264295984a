;;; aio-probe-shutdown.el --- Probes of exit, shutdown and mass cancellation  -*- lexical-binding: t -*-

;;; Commentary:

;; Run in a child Emacs by aio-probe-test.el:
;;
;; `aio-probe-kill-emacs-main': `kill-emacs' with thousands of sleeps
;; and stalled requests pending; the parent checks how the child ends.
;; `aio-probe-shutdown-main': `aio-native-shutdown' with the same
;; pending: everything settles, once, and a later sleep works.
;; `aio-probe-internal-shutdown-main': `aio-native--shutdown' alone.
;; `aio-probe-wake-loss-main': the wake process deleted under pending
;; operations.
;; `aio-probe-storm-main': thousands of async functions, awaiting
;; sleeps and each other, canceled at once.

;;; Code:

(require 'cl-lib)
(require 'aio)
(require 'aio-probe-child)

(declare-function aio-native--shutdown "aio-native-module" ())

(defun aio-probe-shutdown--load (sleeps requests server tracker)
  "Start SLEEPS long sleeps and REQUESTS stalled requests to SERVER.
Track them in TRACKER, sleeps first; return once every request has
reached SERVER (or after 30 s)."
  (dotimes (i sleeps)
    (aio-probe-track tracker i (aio-sleep 1000 i)))
  (dotimes (i requests)
    (aio-probe-track tracker (+ sleeps i)
                     (aio-http-request (aio-probe-url server (format "/kind/stall?n=%d" i))
                                       :proxy "")))
  (aio-probe-wait (lambda () (>= (hash-table-count (aio-probe-server-faults server)) requests))
                  30))

(defun aio-probe-kill-emacs-main ()
  "Load the loop with pending work, then `kill-emacs'.
The report, written first, says when the exit began."
  (aio-probe-quiet)
  (let* ((sleeps (aio-probe-param :sleeps 10000))
         (requests (aio-probe-param :requests 100))
         (server (aio-probe-start-server))
         (tracker (aio-probe-tracker (+ sleeps requests))))
    (aio-probe-shutdown--load sleeps requests server tracker)
    (aio-probe-report (list :pending (aio-probe-pending)
                            :timers-pending (aio-probe-stat :timers-pending)
                            :http-pending (aio-probe-stat :http-pending)
                            :exit-begins (float-time)))
    (kill-emacs 0)))

(defun aio-probe-shutdown-main ()
  "Shut the loop down under pending work; check what settles, then sleep again."
  (aio-probe-quiet)
  (let* ((sleeps (aio-probe-param :sleeps 10000))
         (requests (aio-probe-param :requests 100))
         (total (+ sleeps requests))
         (server (aio-probe-start-server))
         (tracker (aio-probe-tracker total))
         (sockets-before (progn (aio-native-init) (aio-probe-sockets))))
    (aio-probe-shutdown--load sleeps requests server tracker)
    (let ((pending-before (aio-probe-pending))
          (sockets-loaded (aio-probe-sockets))
          (start (float-time)))
      (aio-native-shutdown)
      (let* ((shutdown-seconds (- (float-time) start))
             (all-settled (aio-probe-wait (lambda () (= (aio-probe-settled-count tracker) total))
                                          30))
             (settle-seconds (- (float-time) start))
             (outcomes (plist-get tracker :outcomes))
             (later (condition-case err
                        (aio-wait-for (aio-sleep 0.01 'slept) 5)
                      ((error aio-cancel) err))))
        ;; Settled callbacks must not come twice, even late.
        (aio-probe-wait #'ignore 0.2)
        (aio-probe-report
         (append
          (list :sleeps sleeps :requests requests
                :pending-before pending-before
                :all-settled (and all-settled t)
                :shutdown-seconds shutdown-seconds
                :settle-seconds settle-seconds
                :sleep-outcomes (aio-probe-tally (cl-subseq outcomes 0 sleeps))
                :request-outcomes (aio-probe-tally (cl-subseq outcomes sleeps))
                :later-sleep later
                :lisp-pending-after (aio-probe-pending)
                :quiesced (aio-probe-wait #'aio-probe-quiesced-p 5)
                :sockets-before sockets-before
                :sockets-loaded sockets-loaded
                :sockets-after (aio-probe-sockets)
                :server-open-after (plist-get (aio-probe-server-stats server) :open))
          (aio-probe-settle-figures tracker))))))
  (aio-probe-stop-servers))

(defun aio-probe-internal-shutdown-main ()
  "Call the module's own shutdown under a pending sleep; is anything lost?"
  (aio-probe-quiet)
  (let* ((tracker (aio-probe-tracker 1))
         (sleep (aio-probe-track tracker 0 (aio-sleep 0.2 'first))))
    (ignore sleep)
    (aio-native--shutdown)
    (let* ((settled (aio-probe-wait (lambda () (= 1 (aio-probe-settled-count tracker))) 3))
           (later (condition-case err
                      (aio-wait-for (aio-sleep 0.01 'later) 5)
                    ((error aio-cancel) err))))
      (aio-probe-report (list :pending-sleep-settled (and settled t)
                              :pending-sleep-outcome (aref (plist-get tracker :outcomes) 0)
                              :later-sleep later
                              :lisp-pending-after (aio-probe-pending))))))

(defun aio-probe-wake-loss--case (how server)
  "Lose the wake process by HOW under a pending sleep and GET to SERVER.
HOW is `kill-buffer' or `delete-processes'.  Return a plist of what
settled within 5 s without any new native operation."
  (aio-native-init)
  (let* ((tracker (aio-probe-tracker 2)))
    (aio-probe-track tracker 0 (aio-sleep 0.2 'slept))
    (aio-probe-track tracker 1 (aio-http-request (aio-probe-url server "/kind/slow?delay=0.2")
                                                 :proxy "" :timeout 10))
    (pcase how
      ('kill-buffer (kill-buffer " *aio-native-wake*"))
      ('delete-processes
       (mapc #'delete-process
             (cl-remove-if (lambda (process) (memq process aio-probe-servers))
                           (process-list)))))
    (aio-probe-wait (lambda () (= 2 (aio-probe-settled-count tracker))) 5)
    (prog1 (list :how how
                 :sleep (aref (plist-get tracker :outcomes) 0)
                 :request (car (aref (plist-get tracker :outcomes) 1))
                 :settled (aio-probe-settled-count tracker))
      ;; Whatever happened, start clean for the next case.
      (aio-native-shutdown))))

(defun aio-probe-wake-loss-main ()
  "Delete the wake channel two ways under pending work."
  (aio-probe-quiet)
  (let ((server (aio-probe-start-server)))
    (aio-probe-report
     (list :cases (list (aio-probe-wake-loss--case 'kill-buffer server)
                        (aio-probe-wake-loss--case 'delete-processes server)))))
  (aio-probe-stop-servers))

;;; The cancellation storm

(defvar aio-probe-storm--promises nil
  "The promises of the storm's tasks, a vector.")

(aio-defun aio-probe-storm--task (i)
  "Task I of the storm: await sleeps, earlier tasks, or both."
  (pcase (% i 5)
    (0 (aio-await (aio-sleep (+ 100 (% i 7)))))
    (1 (aio-await (aref aio-probe-storm--promises (1- i))))
    (2 (aio-await (aio-all (list (aio-sleep 200)
                                 (aref aio-probe-storm--promises (- i 2))))))
    (3 (condition-case nil
           (aio-await (aio-sleep 300))
         ;; Caught: the task ends normally.
         (aio-cancel 'caught)))
    (_ (aio-await (aio-race (list (aio-sleep 400)
                                  (aref aio-probe-storm--promises (/ i 2))))))))

(defun aio-probe-storm-main ()
  "Start the storm's tasks, let them all pause, and cancel them at once."
  (aio-probe-quiet)
  (let* ((n (aio-probe-param :tasks 10000))
         (tracker (aio-probe-tracker n))
         (pending-before (progn (aio-native-init) (aio-probe-pending)))
         (start (float-time)))
    (setq aio-probe-storm--promises (make-vector n nil))
    (dotimes (i n)
      (aset aio-probe-storm--promises i (aio-probe-storm--task i))
      (aio-probe-track tracker i (aref aio-probe-storm--promises i)))
    ;; Let every task reach its first pause.
    (aio-probe-wait #'ignore 0.5)
    (let ((started-seconds (- (float-time) start))
          (settled-early (aio-probe-settled-count tracker))
          (pending-loaded (aio-probe-pending))
          (timers-loaded (aio-probe-stat :timers-pending))
          (cancel-start (float-time)))
      (dotimes (i n)
        (aio-cancel (aref aio-probe-storm--promises i) 'storm))
      (let* ((cancel-seconds (- (float-time) cancel-start))
             (all-settled (aio-probe-wait (lambda () (= (aio-probe-settled-count tracker) n)) 60))
             (settle-seconds (- (float-time) cancel-start)))
        (aio-probe-wait #'ignore 0.3)
        (aio-probe-report
         (append
          (list :tasks n
                :start-seconds started-seconds
                :settled-before-cancel settled-early
                :pending-loaded pending-loaded
                :timers-loaded timers-loaded
                :cancel-seconds cancel-seconds
                :settle-seconds settle-seconds
                :all-settled (and all-settled t)
                :outcomes (aio-probe-tally (plist-get tracker :outcomes))
                :lisp-pending-before pending-before
                :lisp-pending-after (aio-probe-pending)
                :quiesced (aio-probe-wait #'aio-probe-quiesced-p 10)
                :timers-after (aio-probe-stat :timers-pending)
                :live-tasks (if (boundp 'aio--tasks) (hash-table-count (symbol-value 'aio--tasks)) 0))
          (aio-probe-settle-figures tracker)))))))

(provide 'aio-probe-shutdown)
;;; aio-probe-shutdown.el ends here
