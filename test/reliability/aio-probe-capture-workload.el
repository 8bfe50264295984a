;;; aio-probe-capture-workload.el --- Every combinator once, for aio-probe-capture  -*- lexical-binding: t -*-

;;; Commentary:

;; Loaded by aio-probe-capture.el once the library is loaded, and run
;; interpreted.  Its local names all start with `wl-', so that the
;; names the probe declares special are the library's, not these.

;;; Code:

(require 'cl-lib)
(require 'aio)

(defun aio-probe-capture--rejected ()
  "Return a promise rejected with (error \"Rejected\")."
  (let ((wl-p (aio-promise)))
    (aio-resolve wl-p (lambda () (error "Rejected")))
    wl-p))

(aio-defun aio-probe-capture--sum (wl-n)
  "Add 0 to WL-N - 1, awaiting each."
  (let ((wl-acc 0))
    (dotimes (wl-i wl-n)
      (setq wl-acc (+ wl-acc (aio-await (aio-sleep 0.001 wl-i)))))
    wl-acc))

(aio-defun aio-probe-capture--locked (wl-lock wl-log wl-tag)
  "Append WL-TAG twice to the car of WL-LOG, holding WL-LOCK across a pause."
  (aio-with-lock wl-lock
    (push wl-tag (car wl-log))
    (aio-await (aio-sleep 0.002))
    (push wl-tag (car wl-log))))

(aio-defun aio-probe-capture--sem (wl-sem wl-log wl-tag)
  "Append WL-TAG to the car of WL-LOG between a wait on WL-SEM and a post."
  (aio-await (aio-sem-wait wl-sem))
  (push wl-tag (car wl-log))
  (aio-await (aio-sleep 0.002))
  (aio-sem-post wl-sem))

(aio-defun aio-probe-capture--queue ()
  "Put three items through a queue of one; return what came out."
  (let ((wl-q (aio-queue 1))
        (wl-out nil))
    (aio-with-async
      (dolist (wl-x '(1 2 3))
        (aio-await (aio-queue-put wl-q wl-x))))
    (dotimes (_ 3)
      (push (aio-await (aio-queue-get wl-q)) wl-out))
    (nreverse wl-out)))

(aio-defun aio-probe-capture--select ()
  "Return t if a select hands out the member that resolves first."
  (let* ((wl-fast (aio-sleep 0.001 'fast))
         (wl-select (aio-make-select (list (aio-sleep 0.5 'slow) wl-fast))))
    (eq (aio-await (aio-select wl-select)) wl-fast)))

(aio-defun aio-probe-capture--event ()
  "Wait for an event set by another task."
  (let ((wl-e (aio-event)))
    (aio-with-async
      (aio-await (aio-sleep 0.002))
      (aio-event-set wl-e))
    (aio-await (aio-event-wait wl-e))))

(aio-defun aio-probe-capture--group ()
  "Run two children in a task group; return their values."
  (let ((wl-a nil) (wl-b nil))
    (aio-task-group (wl-g)
      (setq wl-a (aio-task-group-spawn wl-g (lambda () (aio-sleep 0.002 'a))))
      (setq wl-b (aio-task-group-spawn wl-g (lambda () (aio-sleep 0.001 'b)))))
    (list (aio-await wl-a) (aio-await wl-b))))

(aio-defun aio-probe-capture--chain ()
  "Read two calls of a callback through `aio-chain'."
  (let* ((wl-cb (aio-make-callback))
         (wl-fn (car wl-cb))
         (wl-next (cdr wl-cb)))
    (run-at-time 0.001 nil wl-fn 1)
    (run-at-time 0.002 nil wl-fn 2)
    (list (aio-chain wl-next) (aio-chain wl-next))))

(aio-defun aio-probe-capture--with-timeout ()
  "Bound a long sleep by a short timeout."
  (aio-with-timeout 0.005
    (aio-await (aio-sleep 5))))

(defun aio-probe-capture--steps ()
  "Return every step: (NAME THUNK EXPECTED), THUNK returning a promise."
  (let ((wl-log (list nil)))
    `((all-settled ,(lambda () (aio-all-settled (list (aio-sleep 0.001 1) 2 (aio-probe-capture--rejected))))
                   ((:success . 1) (:success . 2) (:error error "Rejected")))
      (all ,(lambda () (aio-all (list (aio-sleep 0.001 1) 2))) (1 2))
      (any ,(lambda () (aio-any (list (aio-probe-capture--rejected) (aio-sleep 0.001 'a)))) a)
      (race ,(lambda () (aio-race (list (aio-sleep 0.5 'slow) (aio-sleep 0.001 'fast)))) fast)
      (catch ,(lambda () (aio-catch (aio-probe-capture--rejected))) (:error error "Rejected"))
      (shield ,(lambda () (aio-shield (aio-sleep 0.001 's))) s)
      (timeout ,(lambda () (aio-catch (aio-timeout 0.001))) (:error aio-timeout . 0.001))
      (defun-loop ,(lambda () (aio-probe-capture--sum 5)) 10)
      (lock ,(lambda ()
               (let ((wl-lock (aio-lock)))
                 (setcar wl-log nil)
                 (aio-all (list (aio-probe-capture--locked wl-lock wl-log 'x)
                                (aio-probe-capture--locked wl-lock wl-log 'y)))))
            ((x x) (y y x x)))
      (lock-order ,(lambda () (aio-all (list (car wl-log)))) ((y y x x)))
      (sem ,(lambda ()
              (let ((wl-sem (aio-sem 1)))
                (setcar wl-log nil)
                (aio-all (list (aio-probe-capture--sem wl-sem wl-log 1)
                               (aio-probe-capture--sem wl-sem wl-log 2)))))
           (nil nil))
      (sem-order ,(lambda () (aio-all (list (car wl-log)))) ((2 1)))
      (queue ,#'aio-probe-capture--queue (1 2 3))
      (select ,#'aio-probe-capture--select t)
      (event ,#'aio-probe-capture--event t)
      (task-group ,#'aio-probe-capture--group (a b))
      (chain ,#'aio-probe-capture--chain ((1) (2)))
      (with-timeout ,(lambda () (aio-catch (aio-probe-capture--with-timeout)))
                    (:error aio-timeout . 0.005))
      (cancel ,(lambda ()
                 (let ((wl-task (aio-probe-capture--sum 1000)))
                   (run-at-time 0.005 nil #'aio-cancel wl-task)
                   (aio-catch wl-task)))
              (:error aio-cancel)))))

(defun aio-probe-capture-run ()
  "Run every step; return ((NAME OK EXPECTED ACTUAL)...)."
  (mapcar (lambda (wl-step)
            (pcase-let* ((`(,wl-name ,wl-thunk ,wl-expected) wl-step)
                         (wl-actual (condition-case wl-err
                                        (aio-wait-for (funcall wl-thunk) 10)
                                      ((error aio-cancel) (list 'signaled wl-err)))))
              (list wl-name
                    (equal wl-expected wl-actual)
                    wl-expected
                    (let ((print-length 8) (print-level 4)) (format "%S" wl-actual)))))
          (aio-probe-capture--steps)))

(provide 'aio-probe-capture-workload)
;;; aio-probe-capture-workload.el ends here
