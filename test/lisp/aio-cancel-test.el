;;; aio-cancel-test.el --- Tests of cancellation, shields and timeouts  -*- lexical-binding: t -*-

;;; Commentary:

;; `aio-cancel' on async functions (delivery at the await, cleanups,
;; catching, cascades to what they await, native timers stopping),
;; `aio-shield' and `aio-with-timeout'.
;;
;; `should-error' cannot catch `aio-cancel', which is not an `error':
;; `aio-test-cancellation' does it instead.

;;; Code:

(require 'ert)
(require 'aio)
(require 'aio-test-helpers)

(defalias 'aio-cancel-test--settle #'aio-test-settle)

(aio-deftest aio-cancel-task-in-native-sleep-stops-timer-and-unwinds ()
  (aio-native-init)
  (let* ((log nil)
         (before (aio-test-timers))
         (task (funcall (aio-lambda ()
                          (unwind-protect
                              (progn (aio-await (aio-sleep 3600))
                                     (push 'not-reached log))
                            (push 'cleanup log))))))
    (should (aio-test-eventually
             (lambda () (= (aio-test-timers) (1+ before)))))
    (should (aio-cancel task 'enough))
    (should (equal '(aio-cancel . enough) (aio-test-cancellation task)))
    (should (equal '(cleanup) log))
    (should (aio-test-eventually
             (lambda () (= (aio-test-timers) before))))
    ;; A settled task cannot be canceled.
    (should-not (aio-cancel task))))

(aio-deftest aio-cancel-is-not-swallowed-by-error-handlers ()
  (let* ((task (funcall (aio-lambda ()
                          (condition-case nil
                              (aio-await (aio-sleep 60))
                            (error 'swallowed))))))
    (aio-cancel task)
    (should (aio-test-cancellation task))))

(aio-deftest aio-cancel-can-be-caught-and-the-body-goes-on ()
  (let* ((log nil)
         (task (funcall (aio-lambda ()
                          (condition-case err
                              (aio-await (aio-sleep 60))
                            (aio-cancel (push err log)))
                          ;; Awaiting still works after the catch.
                          (aio-await (aio-sleep 0.001 'recovered))))))
    (aio-cancel task 'r)
    (should (eq 'recovered (aio-wait-for task 5)))
    (should (equal '((aio-cancel . r)) log))))

(aio-deftest aio-cancel-cascades-to-the-awaited-task-innermost-first ()
  (let* ((log nil)
         (inner (aio-lambda ()
                  (unwind-protect (aio-await (aio-sleep 60))
                    (push 'inner log))))
         (inner-promise nil)
         (outer (funcall (aio-lambda ()
                           (unwind-protect
                               (aio-await (setq inner-promise (funcall inner)))
                             (push 'outer log))))))
    (aio-cancel outer 'stop)
    (should (equal '(aio-cancel . stop) (aio-test-cancellation outer)))
    (should (equal '(aio-cancel . stop) (aio-test-cancellation inner-promise)))
    (should (equal '(inner outer) (nreverse log)))))

(aio-deftest aio-cancel-leaves-a-promise-others-await ()
  (let* ((shared (funcall (aio-lambda () (aio-await (aio-sleep 0.02)) 'shared)))
         (a (funcall (aio-lambda () (aio-await shared))))
         (b (funcall (aio-lambda () (aio-await shared)))))
    (aio-cancel a)
    (should (aio-test-cancellation a))
    (should (eq 'shared (aio-wait-for b 5)))
    (should (eq 'shared (aio-wait-for shared 5)))))

(aio-deftest aio-cancel-a-plain-awaited-promise-when-alone ()
  (let* ((gate (aio-promise))
         (task (funcall (aio-lambda () (aio-await gate)))))
    (aio-cancel task)
    (should (aio-test-cancellation task))
    ;; As in asyncio: what a canceled task alone awaited is canceled.
    (should (aio-test-cancellation gate))))

(aio-deftest aio-shield-keeps-the-inner-work-running ()
  (let* ((log nil)
         (inner (funcall (aio-lambda ()
                           (aio-await (aio-sleep 0.02))
                           (push 'inner-done log)
                           'inner)))
         (outer (funcall (aio-lambda () (aio-await (aio-shield inner))))))
    (aio-cancel outer)
    (should (aio-test-cancellation outer))
    (should (eq 'inner (aio-wait-for inner 5)))
    (should (equal '(inner-done) log))
    ;; A shield settles as what it shields.
    (should (eq 'inner (aio-wait-for (aio-shield inner) 5)))
    (should-error (aio-shield 'x) :type 'wrong-type-argument)))

(aio-deftest aio-cancel-before-the-first-turn ()
  (let* ((ran nil)
         (task (aio-with-async (setq ran t))))
    (should (aio-cancel task))
    (should (aio-test-cancellation task))
    (should-not ran)))

(defconst aio-cancel-test--resolved
  (let ((promise (aio-promise))) (aio-resolve promise #'ignore) promise)
  "A resolved promise.")

(aio-deftest aio-cancel-of-itself-while-running ()
  (let* ((self nil)
         (log nil)
         (task (funcall (aio-lambda ()
                          (aio-await (aio-sleep 0))
                          (aio-cancel self 'me)
                          (push 'still-running log)
                          (condition-case err
                              ;; Even a resolved promise: the pending
                              ;; cancellation is delivered here.
                              (aio-await aio-cancel-test--resolved)
                            (aio-cancel (push err log)))
                          (aio-cancel self 'again)
                          'returns))))
    (setq self task)
    ;; A cancellation still pending when the body returns wins.
    (should (equal '(aio-cancel . again) (aio-test-cancellation task)))
    (should (equal '((aio-cancel . me) still-running) log))))

(aio-deftest aio-cancel-outcome-through-aio-catch ()
  (let ((task (funcall (aio-lambda () (aio-await (aio-sleep 60))))))
    (aio-cancel task 'why)
    (should (equal '(:error aio-cancel . why) (aio-wait-for (aio-catch task) 5)))))

(aio-deftest aio-cancel-a-deep-chain-without-recursion ()
  ;; Canceling the top of a chain of 5,000 async calls cancels them all
  ;; through a work list, not 5,000 nested calls.
  (let* ((cleanups 0)
         (leaf nil)
         (chain nil))
    (setq chain (aio-lambda (n)
                  (unwind-protect
                      (progn
                        (aio-await (aio-sleep 0))
                        (if (= n 0)
                            (aio-await (setq leaf (aio-sleep 60)))
                          (aio-await (funcall chain (1- n)))))
                    (cl-incf cleanups))))
    (let ((top (funcall chain 5000)))
      (unwind-protect
          ;; Slow when the library runs from source on a busy machine.
          (should (aio-test-eventually (lambda () leaf) 60))
        (let ((max-lisp-eval-depth 800))
          (aio-cancel top)))
      (should (aio-test-cancellation leaf))
      (should (aio-test-cancellation top))
      (should (= cleanups 5001)))))

(aio-deftest aio-cancel-of-unawaited-task-is-not-reported ()
  (let* ((reports nil)
         (aio-unhandled-error-function
          (lambda (err where) (push (list err where) reports)))
         (task (aio-with-async (aio-await (aio-sleep 60)))))
    (aio-cancel-test--settle)
    (aio-cancel task)
    (aio-cancel-test--settle)
    (aio-cancel-test--settle)
    (should (aio-result task))
    (should-not reports)))

(aio-deftest aio-cancel-escaping-a-callback-does-not-stop-the-queue ()
  (let ((p (aio-promise)) (after nil) (debug-on-error t))
    (aio-listen p (lambda (value-function) (funcall value-function)))
    (aio-cancel p)
    (aio-listen (aio-sleep 0) (lambda (_) (setq after t)))
    (aio-cancel-test--settle)
    (should after)))

(aio-deftest aio-cancel-bad-arguments ()
  (should-error (aio-cancel 'x) :type 'wrong-type-argument)
  (should-error (aio-cancel nil) :type 'wrong-type-argument))

;;;; Timeouts

(aio-deftest aio-with-timeout-expires-cancels-and-stops-the-timer ()
  (aio-native-init)
  (let* ((log nil)
         (before (aio-test-timers))
         (task (funcall (aio-lambda ()
                          (aio-with-timeout 0.01
                            (unwind-protect (aio-await (aio-sleep 3600))
                              (push 'cleanup log)))))))
    (should (equal '(aio-timeout . 0.01)
                   (should-error (aio-wait-for task 5) :type 'aio-timeout)))
    (should (equal '(cleanup) log))
    (should (aio-test-eventually
             (lambda () (= (aio-test-timers) before))))))

(aio-deftest aio-with-timeout-returns-the-value-and-disarms ()
  (aio-native-init)
  (let* ((before (aio-test-timers))
         (task (funcall (aio-lambda ()
                          (list (aio-with-timeout 60
                                  (aio-await (aio-sleep 0.001 'fast)))
                                (aio-with-timeout nil 'no-limit)
                                ;; Nothing stray arrives afterwards.
                                (aio-await (aio-sleep 0.02 'after)))))))
    (should (equal '(fast no-limit after) (aio-wait-for task 5)))
    ;; Its 60 second timer was stopped when the form ended.
    (should (aio-test-eventually
             (lambda () (= (aio-test-timers) before))))))

(aio-deftest aio-with-timeout-nested-each-owns-its-timeout ()
  (let ((task (funcall
               (aio-lambda ()
                 (list
                  ;; The inner one expires first and is caught inside.
                  (aio-with-timeout 60
                    (condition-case err
                        (aio-with-timeout 0.01 (aio-await (aio-sleep 60)))
                      (aio-timeout (list 'inner (cdr err)))))
                  ;; The outer one expires first and passes the inner.
                  (condition-case err
                      (aio-with-timeout 0.01
                        (aio-with-timeout 60 (aio-await (aio-sleep 60))))
                    (aio-timeout (list 'outer (cdr err)))))))))
    (should (equal '((inner 0.01) (outer 0.01)) (aio-wait-for task 5)))))

(aio-deftest aio-with-timeout-lets-other-cancellations-through ()
  (let ((task (funcall (aio-lambda ()
                         (aio-with-timeout 60 (aio-await (aio-sleep 60)))))))
    (aio-cancel task 'outside)
    (should (equal '(aio-cancel . outside) (aio-test-cancellation task)))))

(aio-deftest aio-with-timeout-covers-an-awaited-task ()
  (let* ((log nil)
         (inner (aio-lambda ()
                  (unwind-protect (aio-await (aio-sleep 60))
                    (push 'inner-cleanup log))))
         (task (funcall (aio-lambda ()
                          (condition-case nil
                              (aio-with-timeout 0.01 (aio-await (funcall inner)))
                            (aio-timeout 'timed-out))))))
    (should (eq 'timed-out (aio-wait-for task 5)))
    (should (equal '(inner-cleanup) log))))

(aio-deftest aio-with-timeout-bad-arguments-and-misuse ()
  (should (eq 'wrong-type-argument
              (cadr (aio-wait-for
                     (aio-catch (funcall (aio-lambda () (aio-with-timeout "1" 1))))
                     5))))
  (should (eq 'args-out-of-range
              (cadr (aio-wait-for
                     (aio-catch (funcall (aio-lambda () (aio-with-timeout -1 1))))
                     5))))
  (let ((err (should-error (macroexpand-all '(aio-with-timeout 1 2)))))
    (should (string-match-p "outside an async function" (cadr err))))
  (let ((err (should-error
              (macroexpand-all
               '(aio-lambda () (mapc (lambda (x) (aio-with-timeout 1 x)) '(1)))))))
    (should (string-match-p "aio-with-timeout. inside a nested function"
                            (cadr err)))))

(aio-deftest aio-cancel-escaping-a-test-fails-it ()
  "An `aio-cancel' out of an `aio-deftest' body fails that test only."
  (let ((test (make-symbol "aio-cancel-test--escaping")))
    (eval `(aio-deftest ,test () (signal 'aio-cancel '(escaped))) t)
    (unwind-protect
        (let ((result (ert-run-test (ert-get-test test))))
          (should (ert-test-failed-p result))
          (should (equal (cadr (ert-test-result-with-condition-condition result))
                         '("aio-cancel escaped the test" (aio-cancel escaped)))))
      (ert-delete-test test))))

(provide 'aio-cancel-test)
;;; aio-cancel-test.el ends here
