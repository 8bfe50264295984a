;;; aio-util-test.el --- Tests of callbacks, chains, combinators, timers  -*- lexical-binding: t -*-

;;; Commentary:

;; `aio-make-callback' and `aio-chain' on real /bin/sh processes,
;; `aio-catch', `aio-all', `aio-sleep', `aio-idle' and `aio-timeout'.

;;; Code:

(require 'ert)
(require 'aio)
(require 'aio-test-helpers)

(aio-deftest aio-make-callback-chain ()
  (cl-destructuring-bind (callback . promise) (aio-make-callback)
    (funcall callback 1 2)
    (funcall callback 3)
    (should (equal '(1 2 3)
                   (aio-test-wait
                    (funcall (aio-lambda ()
                               (append (aio-chain promise) (aio-chain promise)))))))))

(aio-deftest aio-make-callback-tag-and-once ()
  (cl-destructuring-bind (callback . promise) (aio-make-callback :tag 'out)
    (funcall callback "x")
    (let ((result (aio-test-wait promise)))
      (should (aio-promise-p (car result)))
      (should (equal '(out "x") (cdr result)))))
  (cl-destructuring-bind (callback . promise) (aio-make-callback :once t)
    (funcall callback 1)
    (funcall callback 2)
    (should (equal '(1) (aio-test-wait promise))))
  (cl-destructuring-bind (callback . promise) (aio-make-callback :tag 'done :once t)
    (funcall callback 'a)
    (should (equal '(done a) (aio-test-wait promise)))))

(aio-deftest aio-chain-process-filter-and-sentinel ()
  (let* ((filter (aio-make-callback :tag 'output))
         (sentinel (aio-make-callback :tag 'event :once t))
         (process (make-process :name "aio-test-sh"
                                :command '("/bin/sh" "-c" "echo one; sleep 0.05; echo two")
                                :connection-type 'pipe
                                :noquery t
                                :filter (car filter)
                                :sentinel (car sentinel)))
         (task (funcall
                (aio-lambda ()
                  (let ((chain (cdr filter)) (output ""))
                    (while (not (string-match-p "two" output))
                      (pcase (aio-chain chain)
                        (`(output ,proc ,text)
                         (should (eq proc process))
                         (setq output (concat output text)))))
                    (list output (aio-await (cdr sentinel))))))))
    (pcase (aio-test-wait task)
      (`(,output (event ,proc ,event))
       (should (equal "one\ntwo\n" output))
       (should (eq proc process))
       (should (string-match-p "finished" event)))
      (other (ert-fail (list "unexpected" other))))))

(aio-deftest aio-catch-success-and-error ()
  (let ((good (aio-promise)) (bad (aio-timeout 0.001)))
    (aio-resolve good (lambda () 7))
    (should (equal '(:success . 7) (aio-test-wait (aio-catch good))))
    (should (equal '(:error aio-timeout . 0.001) (aio-test-wait (aio-catch bad))))
    (should-error (aio-catch 'x) :type 'wrong-type-argument)))

(aio-deftest aio-all-in-order-inside-and-outside ()
  (let ((promises (list (aio-sleep 0.03 'slow) (aio-sleep 0.001 'fast) 'plain)))
    (should (equal '(slow fast plain) (aio-test-wait (aio-all promises)))))
  (should (equal '(a b)
                 (aio-test-wait
                  (funcall (aio-lambda ()
                             (aio-await (aio-all (list (aio-sleep 0.01 'a)
                                                       (aio-sleep 0 'b)))))))))
  (should (null (aio-test-wait (aio-all nil))))
  (should-error (aio-all 'x) :type 'wrong-type-argument))

(aio-deftest aio-all-rejects-with-first-error ()
  (let ((never (aio-promise)))
    (should (equal '(aio-timeout . 0.01)
                   (should-error (aio-test-wait
                                  (aio-all (list never (aio-timeout 0.01))))
                                 :type 'aio-timeout)))))

(aio-deftest aio-sleep-sort ()
  (let ((sleep-sort
         (aio-lambda (values)
           (let* ((promises (mapcar (lambda (v) (aio-sleep (/ v 10.0) v)) values))
                  (select (aio-make-select promises)))
             (cl-loop repeat (length promises)
                      for next = (aio-await (aio-select select))
                      collect (aio-await next))))))
    (should (equal '(1 2 3 5 8) (aio-test-wait (funcall sleep-sort '(5 1 8 3 2)))))))

(aio-deftest aio-timeout-rejects-with-seconds ()
  (should (equal '(aio-timeout . 0.01)
                 (should-error (aio-test-wait (aio-timeout 0.01))
                               :type 'aio-timeout)))
  (should-error (aio-timeout "1") :type 'wrong-type-argument))

(aio-deftest aio-timeout-cancel-stops-sleep ()
  (let ((p (aio-timeout 60)))
    (should (aio-cancel p))
    (should (eq 'aio-cancel
                (condition-case err (aio-test-wait p)
                  (aio-cancel (car err)))))))

(aio-deftest aio-idle-on-idle-timer ()
  ;; Batch Emacs is never idle, so run the idle timer by hand.
  (let* ((before (copy-sequence timer-idle-list))
         (p (aio-idle 0.5 'rested))
         (new (cl-set-difference timer-idle-list before)))
    (should (= 1 (length new)))
    (should (equal 0.5 (float-time (timer--time (car new)))))
    (should-not (aio-result p))
    (timer-event-handler (car new))
    (should (eq 'rested (aio-test-wait p))))
  (let* ((before (length timer-idle-list))
         (p (aio-idle 30)))
    (should (= (1+ before) (length timer-idle-list)))
    (should (aio-cancel p))
    (should (= before (length timer-idle-list))))
  (should-error (aio-idle 'soon) :type 'wrong-type-argument))

(provide 'aio-util-test)
;;; aio-util-test.el ends here
