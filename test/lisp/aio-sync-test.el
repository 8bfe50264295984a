;;; aio-sync-test.el --- Tests of locks, events, queues and semaphore safety  -*- lexical-binding: t -*-

;;; Commentary:

;; `aio-lock', `aio-event', `aio-queue', and the cancellation safety of
;; them and of `aio-sem': a waiter canceled while it waits takes no
;; permit or item, and one canceled after it was served, before it could
;; run, hands what it got to the next one.

;;; Code:

(require 'ert)
(require 'aio)
(require 'aio-test-helpers)

(defmacro aio-test-waiter (log name form)
  "Start a task that awaits FORM, then pushes NAME on LOG."
  `(funcall (aio-lambda () (aio-await ,form) (push ,name ,log) ,name)))

;;;; Semaphores

(aio-deftest aio-sem-waiter-canceled-while-queued-takes-no-permit ()
  (let* ((sem (aio-sem 0)) (log nil)
         (a (aio-test-waiter log 'a (aio-sem-wait sem)))
         (b (aio-test-waiter log 'b (aio-sem-wait sem))))
    (aio-cancel a)
    (should (aio-test-canceled-p a))
    (aio-sem-post sem)
    (should (eq 'b (aio-test-wait b)))
    (should (equal '(b) log))
    ;; The permit went to B, and no other is left.
    (should (aio-promise-p (aio-sem-wait sem)))))

(aio-deftest aio-sem-waiter-canceled-after-its-post-hands-the-permit-on ()
  (let* ((sem (aio-sem 0)) (log nil)
         (a (aio-test-waiter log 'a (aio-sem-wait sem)))
         (b (aio-test-waiter log 'b (aio-sem-wait sem))))
    (aio-sem-post sem)                  ; Wakes A, which has not run yet.
    (aio-cancel a)
    (should (aio-test-canceled-p a))
    (should (eq 'b (aio-test-wait b)))
    (should (equal '(b) log))))

(aio-deftest aio-sem-canceled-waiters-leave-no-trace ()
  (let ((sem (aio-sem 0)))
    (dotimes (_ 200) (aio-cancel (aio-sem-wait sem)))
    (should (< (aio--waiters-size (aio-sem-waiters sem)) 40))))

;;;; Locks

(aio-deftest aio-lock-is-exclusive-and-fifo ()
  (let* ((lock (aio-lock)) (log nil) (inside 0) (most 0)
         (work (lambda (i)
                 (funcall (aio-lambda ()
                            (aio-with-lock lock
                              (setq most (max most (cl-incf inside)))
                              (push i log)
                              (aio-await (aio-sleep 0.002))
                              (cl-decf inside)))))))
    (aio-test-wait (aio-all (mapcar work '(0 1 2 3 4))))
    (should (= 1 most))
    (should (equal '(0 1 2 3 4) (nreverse log)))
    (should-not (aio-lock-locked-p lock))))

(aio-deftest aio-lock-is-released-on-error-and-cancel ()
  (let* ((lock (aio-lock))
         (failing (funcall (aio-lambda ()
                             (aio-with-lock lock
                               (aio-await (aio-sleep 0))
                               (error "Inside")))))
         (stuck (funcall (aio-lambda ()
                           (aio-with-lock lock (aio-await (aio-sleep 60)))))))
    (should-error (aio-test-wait failing) :type 'error)
    (aio-test-settle)
    (should (aio-lock-locked-p lock))   ; STUCK holds it.
    (aio-cancel stuck)
    (should (aio-test-canceled-p stuck))
    (should-not (aio-lock-locked-p lock))))

(aio-deftest aio-lock-waiter-canceled-while-queued-never-holds-it ()
  (let* ((lock (aio-lock)) (log nil))
    (should-not (aio-lock-acquire lock))
    (let ((a (aio-test-waiter log 'a (aio-lock-acquire lock)))
          (b (aio-test-waiter log 'b (aio-lock-acquire lock))))
      (aio-cancel a)
      (should (aio-test-canceled-p a))
      (aio-lock-release lock)
      (should (eq 'b (aio-test-wait b)))
      (should (equal '(b) log))
      ;; B holds it now; releasing frees it.
      (should (aio-lock-locked-p lock))
      (aio-lock-release lock)
      (should-not (aio-lock-locked-p lock)))))

(aio-deftest aio-lock-waiter-canceled-after-handover-passes-it-on ()
  (let* ((lock (aio-lock)) (log nil))
    (aio-lock-acquire lock)
    (let ((a (aio-test-waiter log 'a (aio-lock-acquire lock)))
          (b (aio-test-waiter log 'b (aio-lock-acquire lock))))
      (aio-lock-release lock)           ; Handed to A, which has not run.
      (aio-cancel a)
      (should (aio-test-canceled-p a))
      (should (eq 'b (aio-test-wait b)))
      (should (equal '(b) log)))))

(aio-deftest aio-lock-bad-arguments ()
  (should-error (aio-lock-release (aio-lock)) :type 'error)
  (should-error (aio-lock-acquire 'x) :type 'wrong-type-argument)
  (should-error (aio-lock-release nil) :type 'wrong-type-argument)
  (should-error (aio-lock-locked-p 1) :type 'wrong-type-argument))

;;;; Events

(aio-deftest aio-event-wakes-every-waiter-in-order ()
  (let* ((event (aio-event)) (log nil)
         (tasks (mapcar (lambda (i) (aio-test-waiter log i (aio-event-wait event)))
                        '(0 1 2))))
    (aio-test-settle)
    (should-not log)
    (should-not (aio-event-is-set event))
    (aio-event-set event)
    (should (aio-event-is-set event))
    (should (equal '(0 1 2) (aio-test-wait (aio-all tasks))))
    (should (equal '(0 1 2) (nreverse log)))
    ;; Once set, waiting returns at once.
    (should (eq t (aio-event-wait event)))
    (aio-event-clear event)
    (should (aio-promise-p (aio-event-wait event)))))

(aio-deftest aio-event-canceled-waiter-leaves-no-trace ()
  (let* ((event (aio-event)) (log nil)
         (a (aio-test-waiter log 'a (aio-event-wait event))))
    (aio-cancel a)
    (should (aio-test-canceled-p a))
    (dotimes (_ 200) (aio-cancel (aio-event-wait event)))
    (should (< (aio--waiters-size (aio--event-waiters event)) 40))
    (aio-event-set event)
    (aio-test-settle)
    (should-not log)))

(aio-deftest aio-event-bad-arguments ()
  (should-error (aio-event-set 'x) :type 'wrong-type-argument)
  (should-error (aio-event-wait nil) :type 'wrong-type-argument)
  (should-error (aio-event-clear 1) :type 'wrong-type-argument))

;;;; Queues

(aio-deftest aio-queue-three-producers-two-consumers-size-one ()
  (let* ((queue (aio-queue 1))
         (put-order nil)
         (got nil)
         (consumers
          (mapcar (lambda (c)
                    (funcall (aio-lambda ()
                               (condition-case nil
                                   (while t
                                     (push (cons c (aio-await (aio-queue-get queue)))
                                           got))
                                 (aio-queue-closed c)))))
                  '(c1 c2)))
         (producers
          (mapcar (lambda (p)
                    (funcall (aio-lambda ()
                               (dotimes (i 4)
                                 (push (list p i) put-order)
                                 (aio-await (aio-queue-put queue (list p i)))))))
                  '(p1 p2 p3))))
    (aio-test-wait (aio-all producers))
    (aio-queue-close queue)
    (should (equal '(c1 c2) (aio-test-wait (aio-all consumers))))
    (let ((items (mapcar #'cdr (reverse got))))
      ;; Every item exactly once, in the order it was put.
      (should (= 12 (length items)))
      (should (equal (reverse put-order) items)))
    ;; Both consumers took part.
    (should (assq 'c1 got))
    (should (assq 'c2 got))))

(aio-deftest aio-queue-put-waits-when-full-and-get-when-empty ()
  (let* ((queue (aio-queue 2)))
    (should-not (aio-queue-put queue 'a))
    (should-not (aio-queue-put queue 'b))
    (let ((third (aio-queue-put queue 'c)))
      (should (aio-promise-p third))
      (should (= 2 (aio-queue-length queue)))
      (should (eq 'a (aio-test-wait (aio-queue-get queue))))
      ;; Room was made: C went in.
      (should-not (aio-test-wait third))
      (should (= 2 (aio-queue-length queue))))
    (should (eq 'b (aio-test-wait (aio-queue-get queue))))
    (should (eq 'c (aio-test-wait (aio-queue-get queue))))
    (let ((getter (aio-queue-get queue)))
      (should-not (aio-result getter))
      (should-not (aio-queue-put queue 'd))
      (should (eq 'd (aio-test-wait getter)))
      (should (= 0 (aio-queue-length queue))))))

(aio-deftest aio-queue-close-drains-then-fails ()
  (let* ((queue (aio-queue 1))
         (blocked nil))
    (aio-queue-put queue 'last)
    (setq blocked (aio-queue-put queue 'never))
    (aio-queue-close queue)
    (should (aio-queue-closed-p queue))
    (should-error (aio-test-wait blocked) :type 'aio-queue-closed)
    (should-error (aio-queue-put queue 'late) :type 'aio-queue-closed)
    (should (eq 'last (aio-test-wait (aio-queue-get queue))))
    (should-error (aio-test-wait (aio-queue-get queue)) :type 'aio-queue-closed))
  ;; Getters waiting on an empty queue fail when it is closed.
  (let* ((queue (aio-queue))
         (getter (aio-queue-get queue)))
    (aio-queue-close queue)
    (should-error (aio-test-wait getter) :type 'aio-queue-closed)
    (should-not (memq 'aio-cancel (get 'aio-queue-closed 'error-conditions)))))

(aio-deftest aio-queue-getter-canceled-while-queued-takes-no-item ()
  (let* ((queue (aio-queue)) (log nil)
         (a (aio-test-waiter log 'a (aio-queue-get queue)))
         (b (funcall (aio-lambda () (aio-await (aio-queue-get queue))))))
    (aio-cancel a)
    (should (aio-test-canceled-p a))
    (aio-queue-put queue 'item)
    (should (eq 'item (aio-test-wait b)))
    (should-not log)
    (should (= 0 (aio-queue-length queue)))))

(aio-deftest aio-queue-getter-canceled-after-handover-gives-the-item-back ()
  (let* ((queue (aio-queue))
         (a (funcall (aio-lambda () (aio-await (aio-queue-get queue)))))
         (b (funcall (aio-lambda () (aio-await (aio-queue-get queue))))))
    (aio-queue-put queue 'item)         ; Handed to A, which has not run.
    (aio-cancel a)
    (should (aio-test-canceled-p a))
    (should (eq 'item (aio-test-wait b))))
  ;; With nobody else waiting, it goes back to the head of the queue.
  (let* ((queue (aio-queue))
         (a (funcall (aio-lambda () (aio-await (aio-queue-get queue))))))
    (aio-queue-put queue 'first)
    (aio-queue-put queue 'second)
    (aio-cancel a)
    (should (aio-test-canceled-p a))
    (should (eq 'first (aio-test-wait (aio-queue-get queue))))
    (should (eq 'second (aio-test-wait (aio-queue-get queue))))))

(aio-deftest aio-queue-putter-canceled-while-waiting-puts-nothing ()
  (let* ((queue (aio-queue 1)))
    (aio-queue-put queue 'in)
    (let ((a (funcall (aio-lambda () (aio-await (aio-queue-put queue 'canceled)))))
          (b (funcall (aio-lambda () (aio-await (aio-queue-put queue 'kept))))))
      (aio-cancel a)
      (should (aio-test-canceled-p a))
      (should (eq 'in (aio-test-wait (aio-queue-get queue))))
      (should-not (aio-test-wait b))
      (should (eq 'kept (aio-test-wait (aio-queue-get queue))))
      (should (= 0 (aio-queue-length queue))))))

(aio-deftest aio-queue-bad-arguments ()
  (should-error (aio-queue 0) :type 'args-out-of-range)
  (should-error (aio-queue -1) :type 'wrong-type-argument)
  (should-error (aio-queue 'big) :type 'wrong-type-argument)
  (should-error (aio-queue-put 'x 1) :type 'wrong-type-argument)
  (should-error (aio-queue-get nil) :type 'wrong-type-argument)
  (should-error (aio-queue-close "q") :type 'wrong-type-argument)
  (should-error (aio-queue-length 1) :type 'wrong-type-argument))

(provide 'aio-sync-test)
;;; aio-sync-test.el ends here
