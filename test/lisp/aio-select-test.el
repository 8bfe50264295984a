;;; aio-select-test.el --- Tests of select and semaphores  -*- lexical-binding: t -*-

;;; Commentary:

;; `aio-make-select' and friends, every waiter served in order; and
;; semaphores, whose waiters wake in FIFO order.

;;; Code:

(require 'ert)
(require 'aio)
(require 'aio-test-helpers)

(aio-deftest aio-select-membership ()
  (let* ((a (aio-promise)) (b (aio-promise))
         (select (aio-make-select (list a))))
    (should (aio-select-p select))
    (should (eq b (aio-select-add select b)))
    (aio-select-add select b)
    (should (equal (list a b) (aio-select-promises select)))
    (aio-select-remove select a)
    (should (equal (list b) (aio-select-promises select)))
    ;; A removed member that resolves is not handed out.
    (aio-resolve a #'ignore)
    (aio-resolve b #'ignore)
    (should (eq b (aio-test-wait (aio-select select))))
    (should-not (aio-select-promises select))))

(aio-deftest aio-select-level-triggered-in-resolution-order ()
  (let* ((a (aio-promise)) (b (aio-promise)) (c (aio-promise))
         (select (aio-make-select (list a b c))))
    (aio-resolve c #'ignore)
    (aio-resolve a #'ignore)
    (aio-test-wait (aio-sleep 0.001))
    ;; Both resolved while nobody waited; they come out in that order.
    (should (eq c (aio-test-wait (aio-select select))))
    (should (eq a (aio-test-wait (aio-select select))))
    (should (equal (list b) (aio-select-promises select)))))

(aio-deftest aio-select-serves-every-waiter ()
  (let* ((members (cl-loop repeat 3 collect (aio-promise)))
         (select (aio-make-select members))
         (waiters (cl-loop repeat 3 collect (aio-select select))))
    (dolist (m (reverse members))
      (aio-resolve m #'ignore))
    ;; Waiters are served in the order they asked, members in the order
    ;; they resolved.
    (should (equal (reverse members)
                   (mapcar #'aio-test-wait waiters)))))

(aio-deftest aio-select-skips-canceled-waiter ()
  (let* ((m (aio-promise))
         (select (aio-make-select (list m)))
         (first (aio-select select))
         (second (aio-select select)))
    (should (aio-cancel first))
    (aio-resolve m #'ignore)
    (should (eq m (aio-test-wait second)))))

(aio-deftest aio-select-bad-arguments ()
  (should-error (aio-make-select 'x) :type 'wrong-type-argument)
  (should-error (aio-make-select '(1)) :type 'wrong-type-argument)
  (should-error (aio-select 'x) :type 'wrong-type-argument)
  (should-error (aio-select-add (aio-make-select) 1) :type 'wrong-type-argument)
  (should-error (aio-select-add 1 (aio-promise)) :type 'wrong-type-argument)
  (should-error (aio-select-remove 1 (aio-promise)) :type 'wrong-type-argument))

(aio-deftest aio-sem-no-wait-returns-nil ()
  (let ((sem (aio-sem 2)))
    (should (aio-sem-p sem))
    (should-not (aio-sem-wait sem))
    (should-not (aio-sem-wait sem))
    (should (aio-promise-p (aio-sem-wait sem)))))

(aio-deftest aio-sem-waiters-wake-in-fifo-order ()
  (let* ((sem (aio-sem 0))
         (log nil)
         (tasks (cl-loop for i below 5
                         collect (let ((i i))
                                   (funcall (aio-lambda ()
                                              (aio-await (aio-sem-wait sem))
                                              (push i log)))))))
    (aio-sem-post sem)
    (aio-sem-post sem)
    (aio-test-wait (aio-sleep 0.001))
    (should (equal '(0 1) (reverse log)))
    (dotimes (_ 3) (aio-sem-post sem))
    (aio-test-wait (aio-all tasks))
    (should (equal '(0 1 2 3 4) (reverse log)))
    ;; No waiter left: a post raises the count again.
    (aio-sem-post sem)
    (should-not (aio-sem-wait sem))
    (should (aio-promise-p (aio-sem-wait sem)))))

(aio-deftest aio-sem-limits-concurrency ()
  (let* ((sem (aio-sem 2)) (running 0) (most 0)
         (work (aio-lambda ()
                 (aio-await (aio-sem-wait sem))
                 (cl-incf running)
                 (setq most (max most running))
                 (aio-await (aio-sleep 0.002))
                 (cl-decf running)
                 (aio-sem-post sem))))
    (aio-test-wait (aio-all (cl-loop repeat 6 collect (funcall work))))
    (should (= 2 most))))

(aio-deftest aio-sem-skips-canceled-waiter ()
  (let* ((sem (aio-sem 0))
         (a (aio-sem-wait sem))
         (b (aio-sem-wait sem)))
    (aio-cancel a)
    (aio-sem-post sem)
    (should-not (aio-test-wait b))
    (should (aio-promise-p (aio-sem-wait sem)))))

(aio-deftest aio-sem-bad-arguments ()
  (should (equal '(wrong-type-argument natnump "x")
                 (should-error (aio-sem "x") :type 'wrong-type-argument)))
  (should-error (aio-sem -1) :type 'wrong-type-argument)
  (should-error (aio-sem-post 'x) :type 'wrong-type-argument)
  (should-error (aio-sem-wait (aio-promise)) :type 'wrong-type-argument))

(provide 'aio-select-test)
;;; aio-select-test.el ends here
