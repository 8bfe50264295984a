;;; aio-test-clock-test.el --- Tests of the test clock  -*- lexical-binding: t -*-

;;; Commentary:

;; `aio-with-test-clock': sleeps, timeouts and `aio-wait-for' on
;; virtual time, jumping to the next deadline when nothing is ready,
;; deterministically; `aio-test-clock-advance' by hand.

;;; Code:

(require 'ert)
(require 'cl-lib)
(require 'aio)
(require 'aio-test-helpers)

(aio-defun aio-test-clock-test--ticker (name seconds times log)
  "Sleep SECONDS TIMES times; push (NAME . CLOCK-TIME) to LOG's car each time."
  (dotimes (_ times)
    (aio-await (aio-sleep seconds))
    (push (cons name (aio-test-clock-now)) (car log)))
  name)

(aio-deftest aio-test-clock-runs-an-hour-of-sleeps-at-once ()
  (let* ((log (list nil))
         (start (float-time))
         (values
          (aio-with-test-clock
            (prog1 (aio-wait-for
                    (aio-all (list (aio-test-clock-test--ticker 'minutes 60 60 log)
                                   (aio-test-clock-test--ticker 'quarters 900 4 log)
                                   (aio-test-clock-test--ticker 'tens 10 360 log))))
              (should (= 3600 (aio-test-clock-now))))))
         (elapsed (- (float-time) start)))
    (should (equal '(minutes quarters tens) values))
    (let ((events (reverse (car log))))
      (should (= (+ 60 4 360) (length events)))
      ;; In time order; at equal times, in the order the sleeps started.
      (should (equal events
                     (cl-stable-sort (copy-sequence events) #'< :key #'cdr)))
      (should (equal '((quarters . 900) (tens . 900))
                     (cl-remove-if-not (lambda (e) (= (cdr e) 900))
                                       (cl-remove 'minutes events :key #'car))))
      (should (equal (cons 'minutes 3600)
                     (cl-find 'minutes events :key #'car :from-end t))))
    ;; Virtual: an hour of sleeps takes nothing like an hour.  (Its real
    ;; time is measured, not asserted tightly: machines are noisy.)
    (should (< elapsed 30))
    (message "aio-test-clock: an hour of 424 sleeps took %.3f s" elapsed)))

(aio-deftest aio-test-clock-is-deterministic ()
  (let ((runs
         (cl-loop repeat 3 collect
                  (let ((log (list nil)))
                    (aio-with-test-clock
                      (aio-wait-for
                       (aio-all (cl-loop for i from 1 to 5
                                         collect (aio-test-clock-test--ticker i (* i 7) 6 log)))))
                    (car log)))))
    (should (equal (nth 0 runs) (nth 1 runs)))
    (should (equal (nth 1 runs) (nth 2 runs)))))

(aio-deftest aio-test-clock-times-out-timeouts ()
  (aio-with-test-clock
    ;; `aio-with-timeout' around an hour-long sleep.
    (should (equal '(timeout 1800)
                   (aio-wait-for
                    (funcall (aio-lambda ()
                               (condition-case err
                                   (aio-with-timeout 1800
                                     (aio-await (aio-sleep 3600)))
                                 (aio-timeout (list 'timeout (cdr err)))))))))
    (should (= 1800 (aio-test-clock-now)))
    ;; `aio-timeout' rejects on the clock.
    (should (equal '(aio-timeout . 60)
                   (should-error (aio-wait-for (aio-timeout 60)) :type 'aio-timeout)))
    (should (= 1860 (aio-test-clock-now)))
    ;; The TIMEOUT of `aio-wait-for', in the clock's seconds.
    (let ((slow (aio-sleep 500 'late)))
      (should (equal '(aio-timeout . 100)
                     (should-error (aio-wait-for slow 100) :type 'aio-timeout)))
      (should (= 1960 (aio-test-clock-now)))
      (should (aio-test-canceled-p slow)))
    (should (eq 'soon (aio-wait-for (aio-sleep 10 'soon) 100)))
    (should (= 1970 (aio-test-clock-now)))))

(aio-deftest aio-test-clock-advances-by-hand ()
  (let ((log (list nil)))
    (aio-with-test-clock
      (let ((aio-test-clock-autojump nil)
            (task (aio-test-clock-test--ticker 'tick 10 3 log)))
        (should (= 25 (aio-test-clock-advance 25)))
        ;; Each sleep woke at its own time.
        (should (equal '((tick . 20) (tick . 10)) (car log)))
        (should-not (aio-result task))
        (aio-test-clock-advance 5)
        (should (eq 'tick (aio-wait-for task)))
        (should (= 30 (aio-test-clock-now)))))
    (should-error (aio-test-clock-advance 1))
    (should-error (aio-test-clock-now))))

(aio-deftest aio-test-clock-cancels-what-is-left-and-checks-arguments ()
  (let (sleep)
    (aio-with-test-clock
      (setq sleep (aio-sleep 3600))
      (should-error (aio-test-clock-advance -1) :type 'args-out-of-range)
      (should-error (aio-test-clock-advance 'x) :type 'wrong-type-argument))
    ;; Pending sleeps do not outlive the clock.
    (should (aio-test-canceled-p sleep))
    ;; Outside, sleeps are real again.
    (should (aio-native--promise-operation (setq sleep (aio-sleep 3600))))
    (aio-cancel sleep)))

(provide 'aio-test-clock-test)
;;; aio-test-clock-test.el ends here
