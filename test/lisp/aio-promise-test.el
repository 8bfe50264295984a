;;; aio-promise-test.el --- Tests of promises and the ready queue  -*- lexical-binding: t -*-

;;; Commentary:

;; Promises, value functions, `aio-listen' / `aio-resolve' ordering,
;; cancellation, `aio-wait-for', and the ready queue's single timer.

;;; Code:

(require 'ert)
(require 'aio)
(require 'aio-test-helpers)

(defun aio-test--cancellation (promise)
  "Wait for PROMISE and return the `aio-cancel' condition it signals, or nil.
`should-error' cannot do it: `aio-cancel' is not an `error'."
  (condition-case err
      (progn (aio-wait-for promise 10) nil)
    (aio-cancel err)))

(defalias 'aio-test--settle #'aio-test-settle)

(aio-deftest aio-promise-basics ()
  (let ((p (aio-promise)))
    (should (aio-promise-p p))
    (should-not (aio-promise-p 'x))
    (should-not (aio-result p))
    (aio-resolve p (lambda () 42))
    (should (functionp (aio-result p)))
    (should (= 42 (funcall (aio-result p))))
    ;; Resolving again changes nothing.
    (aio-resolve p (lambda () 43))
    (should (= 42 (funcall (aio-result p))))
    (should (= 42 (aio-wait-for p)))))

(aio-deftest aio-promise-rejection-keeps-condition ()
  (let ((p (aio-promise)))
    (aio-resolve p (lambda () (signal 'file-missing '("Opening" "x"))))
    (should (equal '(file-missing "Opening" "x")
                   (should-error (aio-wait-for p) :type 'file-missing)))))

(aio-deftest aio-listen-never-synchronous ()
  (let ((p (aio-promise)) (calls nil))
    (aio-listen p (lambda (vf) (push (funcall vf) calls)))
    (aio-resolve p (lambda () :v))
    (should-not calls)
    ;; Listening to a resolved promise does not call back at once either.
    (aio-listen p (lambda (vf) (push (list (funcall vf)) calls)))
    (should-not calls)
    (aio-test--settle)
    (should (equal '((:v) :v) calls))))

(aio-deftest aio-listen-fifo-across-promises ()
  (let ((a (aio-promise)) (b (aio-promise)) (order nil))
    (dotimes (i 3)
      (aio-listen a (lambda (_) (push (list 'a i) order))))
    (aio-listen b (lambda (_) (push 'b order)))
    (aio-listen a (lambda (_) (push 'a-last order)))
    ;; B becomes ready first, so its callback runs first.
    (aio-resolve b #'ignore)
    (aio-resolve a #'ignore)
    (aio-listen b (lambda (_) (push 'b-late order)))
    (aio-test--settle)
    (should (equal '(b (a 0) (a 1) (a 2) a-last b-late) (nreverse order)))))

(aio-deftest aio-queue-uses-one-timer ()
  (let ((promises (cl-loop repeat 2000 collect (aio-promise)))
        (count 0))
    (dolist (p promises)
      (aio-listen p (lambda (_) (cl-incf count))))
    (dolist (p promises)
      (aio-resolve p #'ignore))
    (should (<= (cl-count #'aio--drain timer-list :key #'timer--function) 1))
    (should (= 0 count))
    ;; The queue runs in slices: wait for all of them.
    (should (aio-test-eventually (lambda () (= 2000 count))))))

(aio-deftest aio-queue-slices-leave-room ()
  ;; A callback that keeps requeueing itself forever must not keep the
  ;; drain from returning: a timer still gets to run.
  (let ((p (aio-promise)) (spins 0) (timer-ran nil) (stop nil))
    (aio-resolve p #'ignore)
    (cl-labels ((spin (_) (cl-incf spins) (unless stop (aio-listen p #'spin))))
      (aio-listen p #'spin))
    (run-at-time 0 nil (lambda () (setq timer-ran t)))
    (with-timeout (5 (setq stop t))
      (while (not timer-ran)
        (accept-process-output nil 0.001)))
    (setq stop t)
    (aio-test--settle)
    (should timer-ran)
    (should (> spins 1))))

(aio-deftest aio-callback-error-does-not-stop-the-queue ()
  (let ((p (aio-promise)) (ran nil) (inhibit-message t) (debug-on-error nil))
    (aio-listen p (lambda (_) (error "Boom")))
    (aio-listen p (lambda (_) (setq ran t)))
    (aio-resolve p #'ignore)
    (aio-test--settle)
    (should ran)))

(aio-deftest aio-with-promise-value-and-error ()
  (let ((ok (aio-promise)) (bad (aio-promise)))
    (aio-with-promise ok (+ 1 2))
    (aio-with-promise bad (car 1))
    (should (= 3 (aio-wait-for ok)))
    (should (equal '(wrong-type-argument listp 1)
                   (should-error (aio-wait-for bad) :type 'wrong-type-argument)))))

(aio-deftest aio-cancel-rejects-and-returns-non-nil ()
  (let ((p (aio-promise)) (stopped 0))
    (setf (aio-promise-release p)
          (lambda ()
            ;; The canceller runs after the rejection.
            (should (aio-result p))
            (cl-incf stopped)))
    (should (aio-cancel p 'because))
    (should (= 1 stopped))
    (should-not (aio-promise-release p))
    (should (equal '(aio-cancel . because) (aio-test--cancellation p)))
    ;; A resolved promise cannot be canceled.
    (should-not (aio-cancel p))
    (should (= 1 stopped))
    (let ((done (aio-promise)))
      (aio-resolve done (lambda () 1))
      (should-not (aio-cancel done))
      (should (= 1 (aio-wait-for done))))))

(aio-deftest aio-cancel-calls-a-pair-canceller-with-its-argument ()
  (let ((p (aio-promise)) (got nil))
    (setf (aio-promise-release p) (cons (lambda (x) (push x got)) 'arg))
    (should (aio-cancel p))
    (should (equal got '(arg)))
    (should (aio-test--cancellation p)))
  ;; An interpreted closure is a cons before Emacs 30: still a function.
  (let* ((p (aio-promise))
         (box (list 0))
         (canceller (eval `(let ((box ',box)) (lambda () (setcar box (1+ (car box))))) t)))
    (should (functionp canceller))
    (setf (aio-promise-release p) canceller)
    (aio-cancel p)
    (should (= (car box) 1))))

(aio-deftest aio-cancel-canceller-errors-are-contained ()
  (let ((p (aio-promise)) (inhibit-message t) (debug-on-error nil))
    (setf (aio-promise-release p) (lambda () (error "Cannot stop")))
    (should (aio-cancel p))
    (should (aio-test--cancellation p))))

(aio-deftest aio-resolve-clears-canceller ()
  (let ((p (aio-promise)))
    (setf (aio-promise-release p) #'ignore)
    (aio-resolve p #'ignore)
    (should-not (aio-promise-release p))))

(aio-deftest aio-wait-for-timeout-cancels ()
  ;; As asyncio's wait_for: on timeout, the promise is canceled...
  (let ((p (aio-promise)))
    (should (equal '(aio-timeout . 0.01)
                   (should-error (aio-wait-for p 0.01) :type 'aio-timeout)))
    (should (equal '(aio-cancel) (aio-test--cancellation p))))
  ;; ...unless something else waits for it...
  (let ((p (aio-promise)) (seen nil))
    (aio-listen p (lambda (_) (setq seen t)))
    (should-error (aio-wait-for p 0.01) :type 'aio-timeout)
    (should-not (aio-result p))
    (aio-resolve p #'ignore)
    (aio-test--settle)
    (should seen))
  ;; ...or it is shielded.
  (let ((p (aio-promise)))
    (should-error (aio-wait-for (aio-shield p) 0.01) :type 'aio-timeout)
    (should-not (aio-result p))))

(aio-deftest aio-wait-for-timeout-lets-a-task-unwind ()
  (let* ((log nil)
         (task (funcall (aio-lambda ()
                          (unwind-protect (aio-await (aio-sleep 60))
                            (push 'cleanup log))))))
    (should-error (aio-wait-for task 0.01) :type 'aio-timeout)
    ;; The cleanup has run by the time the timeout is signaled.
    (should (equal '(cleanup) log))
    (should (aio-test--cancellation task))))

(aio-deftest aio-wait-for-wakes-on-emacs-timer ()
  ;; A promise resolved by an Emacs timer ends the wait although Emacs
  ;; does not return from `accept-process-output' for timers.
  (let ((p (aio-promise)))
    (run-at-time 0.01 nil (lambda () (aio-resolve p (lambda () 'ok))))
    (should (eq 'ok (aio-wait-for p 5)))))

(aio-deftest aio-promise-bad-arguments ()
  (should (equal '(wrong-type-argument functionp 42)
                 (should-error (aio-resolve (aio-promise) 42)
                               :type 'wrong-type-argument)))
  (should (equal '(wrong-type-argument aio-promise-p "x")
                 (should-error (aio-listen "x" #'ignore)
                               :type 'wrong-type-argument)))
  (should-error (aio-listen (aio-promise) 7) :type 'wrong-type-argument)
  (should-error (aio-resolve nil #'ignore) :type 'wrong-type-argument)
  (should-error (aio-result 'p) :type 'wrong-type-argument)
  (should-error (aio-cancel [1]) :type 'wrong-type-argument)
  (should-error (aio-wait-for 3) :type 'wrong-type-argument)
  (should-error (aio-wait-for (aio-promise) "1") :type 'wrong-type-argument)
  (should-error (aio-wait-for (aio-promise) -1) :type 'args-out-of-range))

(aio-deftest aio-error-symbols ()
  (should (equal "Promise was canceled" (get 'aio-cancel 'error-message)))
  (should (equal "Timeout was reached" (get 'aio-timeout 'error-message)))
  ;; A cancellation is not an error: error handlers let it through.
  (should-not (memq 'error (get 'aio-cancel 'error-conditions)))
  (should (eq 'caught (condition-case nil
                          (condition-case nil
                              (signal 'aio-cancel nil)
                            (error 'swallowed))
                        (aio-cancel 'caught))))
  (should (memq 'error (get 'aio-timeout 'error-conditions))))

(provide 'aio-promise-test)
;;; aio-promise-test.el ends here
