;;; aio-combinators-test.el --- Tests of all-settled, any and race  -*- lexical-binding: t -*-

;;; Commentary:

;; `aio-all-settled', `aio-any' and `aio-race': outcomes and their
;; order, the losers canceled or not, cancellation of the combined
;; promise, and bad arguments.

;;; Code:

(require 'ert)
(require 'aio)
(require 'aio-test-helpers)

(defun aio-combinators-test--loser (log)
  "Return a task sleeping 60 s that pushes `canceled' on LOG's car when canceled."
  (funcall (aio-lambda ()
             (unwind-protect (aio-await (aio-sleep 60))
               (push 'canceled (car log))))))

(aio-deftest aio-all-settled-outcomes-in-order ()
  (should (equal '((:success . slow) (:error aio-timeout . 0.001)
                   (:success . plain) (:success . fast))
                 (aio-test-wait
                  (aio-all-settled (list (aio-sleep 0.02 'slow)
                                         (aio-timeout 0.001)
                                         'plain
                                         (aio-sleep 0 'fast))))))
  (should (null (aio-test-wait (aio-all-settled nil))))
  (should (equal '((:success . 1))
                 (aio-test-wait (aio-all-settled '(1))))))

(aio-deftest aio-all-settled-canceled-cancels-its-inputs ()
  (let* ((log (list nil))
         (loser (aio-combinators-test--loser log))
         (settled (aio-all-settled (list loser))))
    (aio-cancel settled)
    (should (aio-test-canceled-p loser))
    (should (equal '(canceled) (car log)))))

(aio-deftest aio-race-first-outcome-wins-and-losers-are-canceled ()
  (let* ((log (list nil))
         (loser (aio-combinators-test--loser log)))
    (should (eq 'fast (aio-test-wait
                       (aio-race (list loser (aio-sleep 0.001 'fast))))))
    (should (aio-test-canceled-p loser))
    (should (equal '(canceled) (car log))))
  ;; An error can win too.
  (should (equal '(aio-timeout . 0.001)
                 (should-error (aio-test-wait
                                (aio-race (list (aio-sleep 60) (aio-timeout 0.001))))
                               :type 'aio-timeout)))
  ;; A value that is not a promise wins at once.
  (let* ((log (list nil))
         (loser (aio-combinators-test--loser log)))
    (should (eq 'now (aio-test-wait (aio-race (list loser 'now)))))
    (should (aio-test-canceled-p loser))))

(aio-deftest aio-race-losers-kept-when-asked ()
  (let* ((log (list nil))
         ;; Half a second behind: a stall must not let it win.
         (loser (funcall (aio-lambda () (aio-await (aio-sleep 0.5)) 'late))))
    (should (eq 'fast (aio-test-wait
                       (aio-race (list loser (aio-sleep 0.001 'fast))
                                 :cancel-losers nil))))
    (should (eq 'late (aio-test-wait loser)))
    (should-not (car log))))

(aio-deftest aio-race-leaves-losers-others-await ()
  (let* ((shared (aio-sleep 0.5 'shared))
         (watcher (funcall (aio-lambda () (aio-await shared)))))
    (should (eq 'fast (aio-test-wait
                       (aio-race (list shared (aio-sleep 0.001 'fast))))))
    (should (eq 'shared (aio-test-wait watcher)))))

(aio-deftest aio-race-loser-gives-back-a-permit ()
  ;; The semaphore's waiter is served in the same turn the race is won:
  ;; the race lets go of it, so the permit returns to the semaphore.
  (let* ((sem (aio-sem 0))
         (resolved (let ((p (aio-promise))) (aio-resolve p (lambda () 'won)) p))
         (race (aio-race (list resolved (aio-sem-wait sem)))))
    (aio-sem-post sem)
    (should (eq 'won (aio-test-wait race)))
    (aio-test-settle)
    (should-not (aio-sem-wait sem))))

(aio-deftest aio-any-first-success ()
  (let* ((log (list nil))
         (loser (aio-combinators-test--loser log)))
    (should (eq 'ok (aio-test-wait
                     (aio-any (list (aio-timeout 0.001) loser
                                    (aio-sleep 0.01 'ok))))))
    (should (aio-test-canceled-p loser))
    (should (equal '(canceled) (car log))))
  (should (eq 'plain (aio-test-wait
                      (aio-any (list (aio-sleep 60) 'plain))))))

(aio-deftest aio-any-fails-only-if-all-fail ()
  (should (equal '(aio-all-failed (aio-timeout . 0.01) (error "Two"))
                 (should-error
                  (aio-test-wait
                   (aio-any (list (aio-timeout 0.01)
                                  (funcall (aio-lambda () (error "Two"))))))
                  :type 'aio-all-failed)))
  (should (equal '(aio-all-failed)
                 (should-error (aio-test-wait (aio-any nil))
                               :type 'aio-all-failed))))

(aio-deftest aio-any-losers-kept-when-asked ()
  (let ((slow (aio-sleep 0.02 'slow)))
    (should (eq 'fast (aio-test-wait
                       (aio-any (list slow (aio-sleep 0 'fast)) :cancel-losers nil))))
    (should (eq 'slow (aio-test-wait slow)))))

(aio-deftest aio-combinators-inside-async-functions ()
  (should (equal '(b (:success . 1) c)
                 (aio-test-wait
                  (funcall (aio-lambda ()
                             (list (aio-await (aio-race (list (aio-sleep 0.02 'a)
                                                              (aio-sleep 0 'b))))
                                   (car (aio-await (aio-all-settled (list 1))))
                                   (aio-await (aio-any (list (aio-sleep 0 'c)))))))))))

(aio-deftest aio-combinators-bad-arguments ()
  (should-error (aio-race nil) :type 'args-out-of-range)
  (should-error (aio-race 'x) :type 'wrong-type-argument)
  (should-error (aio-any 'x) :type 'wrong-type-argument)
  (should-error (aio-all-settled '(1 . 2)) :type 'wrong-type-argument)
  (should-error (aio-race (list 1) :bogus t) :type 'error))

(provide 'aio-combinators-test)
;;; aio-combinators-test.el ends here
