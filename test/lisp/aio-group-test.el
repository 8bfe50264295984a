;;; aio-group-test.el --- Tests of task groups  -*- lexical-binding: t -*-

;;; Commentary:

;; `aio-task-group' and `aio-task-group-spawn': the form waits for every
;; child; a failing child cancels the others and the body; a failing
;; body cancels the children; canceling the function cancels them all.

;;; Code:

(require 'ert)
(require 'aio)
(require 'aio-test-helpers)

(defun aio-group-test--outcome (promise)
  "Wait for PROMISE and return (:success . VALUE) or (:error . CONDITION)."
  (aio-wait-for (aio-catch promise) 10))

(aio-deftest aio-task-group-second-child-fails ()
  (let* ((log nil)
         (task (funcall
                (aio-lambda ()
                  (aio-task-group (g)
                    (aio-task-group-spawn
                     g (aio-lambda ()
                         (unwind-protect (aio-await (aio-sleep 60))
                           (push 'first-canceled log))))
                    (aio-task-group-spawn
                     g (aio-lambda ()
                         (aio-await (aio-sleep 0.01))
                         (signal 'arith-error '(second))))
                    (unwind-protect (aio-await (aio-sleep 60))
                      (push 'body-canceled log))
                    'not-reached)))))
    (should (equal '(:error arith-error second) (aio-group-test--outcome task)))
    (should (equal '(body-canceled first-canceled) (sort log #'string<)))))

(aio-deftest aio-task-group-keeps-the-other-errors ()
  (let* ((task (funcall
                (aio-lambda ()
                  (aio-task-group (g)
                    (aio-task-group-spawn
                     g (aio-lambda ()
                         (condition-case nil (aio-await (aio-sleep 60))
                           (aio-cancel (error "Second failure")))))
                    (aio-task-group-spawn
                     g (aio-lambda ()
                         (aio-await (aio-sleep 0.01))
                         (error "First failure")))
                    (aio-await (aio-sleep 60))))))
         (outcome (aio-group-test--outcome task))
         (condition (cdr outcome)))
    (should (eq :error (car outcome)))
    (should (eq 'error (car condition)))
    (should (equal "First failure" (cadr condition)))
    (should (equal '((error "Second failure"))
                   (aio-task-group-other-errors condition)))
    (should-not (aio-task-group-other-errors '(error "Alone")))))

(aio-deftest aio-task-group-waits-for-every-child-and-returns-body-value ()
  (let* ((children nil)
         (task (funcall
                (aio-lambda ()
                  (let ((value (aio-task-group (g)
                                 (dolist (n '(3 1 2))
                                   (push (aio-task-group-spawn
                                          g (aio-lambda ()
                                              (aio-await (aio-sleep (* n 0.005)))
                                              n))
                                         children))
                                 ;; A promise and a plain function too.
                                 (push (aio-task-group-spawn g (aio-sleep 0.001 'p))
                                       children)
                                 (push (aio-task-group-spawn g (lambda () 'plain))
                                       children)
                                 'body)))
                    ;; Every child has ended by now.
                    (list value (mapcar (lambda (c) (and (aio-result c) t))
                                        children)))))))
    (should (equal '(body (t t t t t)) (aio-wait-for task 10)))
    (should (equal '(plain p 2 1 3)
                   (mapcar (lambda (c) (aio-wait-for c)) children)))))

(aio-deftest aio-task-group-body-error-cancels-children ()
  (let* ((log nil)
         (task (funcall
                (aio-lambda ()
                  (aio-task-group (g)
                    (aio-task-group-spawn
                     g (aio-lambda ()
                         (condition-case nil (aio-await (aio-sleep 60))
                           (aio-cancel
                            ;; Unwinding may take time: the form waits.
                            (aio-await (aio-sleep 0.01))
                            (push 'child-unwound log)))))
                    (aio-await (aio-sleep 0))
                    (error "Body failed"))))))
    (should (equal '(:error error "Body failed") (aio-group-test--outcome task)))
    (should (equal '(child-unwound) log))))

(aio-deftest aio-task-group-canceling-the-function-cancels-every-child ()
  (let* ((log nil)
         (task (funcall
                (aio-lambda ()
                  (aio-task-group (g)
                    (dotimes (i 3)
                      (aio-task-group-spawn
                       g (aio-lambda ()
                           (condition-case err (aio-await (aio-sleep 60))
                             (aio-cancel
                              (aio-await (aio-sleep 0.005))
                              (push i log)
                              (signal (car err) (cdr err)))))))
                    (aio-await (aio-sleep 60)))))))
    (aio-wait-for (aio-sleep 0.005) 5)
    (aio-cancel task 'stop)
    (should (equal '(:error aio-cancel . stop) (aio-group-test--outcome task)))
    ;; The form ended only after every child had.
    (should (equal '(0 1 2) (sort log #'<)))))

(aio-deftest aio-task-group-spawn-checks ()
  (let* ((saved nil)
         (task (funcall (aio-lambda ()
                          (aio-task-group (g) (setq saved g) 'done)))))
    (should (eq 'done (aio-wait-for task 5)))
    (should (aio-task-group-p saved))
    (should-error (aio-task-group-spawn saved #'ignore) :type 'error)
    (should-error (aio-task-group-spawn 'x #'ignore) :type 'wrong-type-argument)
    (should-error (aio-task-group-spawn saved 42) :type 'wrong-type-argument))
  (let ((err (should-error (macroexpand-all '(aio-task-group (g) 1)))))
    (should (string-match-p "outside an async function" (cadr err))))
  (should-error (macroexpand-all '(aio-lambda () (aio-task-group g 1)))
                :type 'wrong-type-argument))

(aio-deftest aio-task-group-child-failing-synchronously ()
  (let ((task (funcall (aio-lambda ()
                         (aio-task-group (g)
                           (aio-task-group-spawn g (lambda () (car 1)))
                           (aio-await (aio-sleep 60)))))))
    (should (equal '(:error wrong-type-argument listp 1)
                   (aio-group-test--outcome task)))))

(provide 'aio-group-test)
;;; aio-group-test.el ends here
