;;; aio-tasks-test.el --- Tests of aio-list-tasks  -*- lexical-binding: t -*-

;;; Commentary:

;; `aio-list-tasks': which rows it shows for paused async functions and
;; pending native operations, what they say, cancelling from the list,
;; and that its buffer, refresh timer and bookkeeping go away with it.

;;; Code:

(require 'ert)
(require 'cl-lib)
(require 'aio)
(require 'aio-test-helpers)

(aio-defun aio-tasks-test--sleeper (seconds)
  "Sleep SECONDS."
  (aio-await (aio-sleep seconds))
  'slept)

(aio-defun aio-tasks-test--outer ()
  "Await a long `aio-tasks-test--sleeper'."
  (aio-await (aio-tasks-test--sleeper 3600)))

(aio-defun aio-tasks-test--sem-waiter (sem)
  "Wait on SEM."
  (aio-await (aio-sem-wait sem)))

(defmacro aio-tasks-test--with-list (&rest body)
  "Run BODY in the buffer of `aio-list-tasks'; kill the buffer after."
  (declare (indent 0) (debug t))
  (let ((buffer (make-symbol "buffer")))
    `(let ((,buffer nil))
       (unwind-protect
           (save-window-excursion
             (save-current-buffer
               (setq ,buffer (aio-list-tasks))
               (set-buffer ,buffer)
               ,@body))
         (when (buffer-live-p ,buffer)
           (kill-buffer ,buffer))))))

(defun aio-tasks-test--row (kind id)
  "Refresh the list and return the columns of row (KIND . ID), or nil."
  (revert-buffer)
  (cadr (assoc (cons kind id) tabulated-list-entries)))

(defun aio-tasks-test--goto (kind id)
  "Move point to row (KIND . ID) of the list; return non-nil if found."
  (revert-buffer)
  (goto-char (point-min))
  (while (and (not (eobp))
              (not (equal (tabulated-list-get-id) (cons kind id))))
    (forward-line 1))
  (equal (tabulated-list-get-id) (cons kind id)))

(defun aio-tasks-test--op-of (promise)
  "Return the id of the pending native operation settling PROMISE."
  (aio-native--promise-operation promise))

(defun aio-tasks-test--finish (&rest promises)
  "Cancel PROMISES and wait until they have settled."
  (dolist (promise promises)
    (aio-cancel promise)
    (aio-test-cancellation promise)))

(aio-deftest aio-tasks-list-shows-paused-defuns-by-name-and-what-they-await ()
  (aio-tasks-test--with-list
    (let* ((sem (aio-sem 0))
           (outer (aio-tasks-test--outer))
           (waiter (aio-tasks-test--sem-waiter sem))
           (outer-id (aio-promise-task outer))
           (waiter-id (aio-promise-task waiter)))
      (unwind-protect
          (let* ((outer-row (aio-tasks-test--row 'task outer-id))
                 (waiter-row (aio-tasks-test--row 'task waiter-id))
                 (inner-row (aio-tasks-test--row 'task (1+ outer-id))))
            (should (equal "async" (aref outer-row 1)))
            (should (equal "aio-tasks-test--outer" (aref outer-row 2)))
            (should (equal "task aio-tasks-test--sleeper" (aref outer-row 3)))
            (should (equal "" (aref outer-row 5)))
            (should (equal "aio-tasks-test--sleeper" (aref inner-row 2)))
            (should (equal "sleep 3600s" (aref inner-row 3)))
            ;; The arguments, as they are in the frame.
            (should (equal "3600" (aref inner-row 5)))
            (should (equal "aio-tasks-test--sem-waiter" (aref waiter-row 2)))
            (should (string-prefix-p "#s(aio-sem" (aref waiter-row 5)))
            (should (equal "semaphore wait" (aref waiter-row 3)))
            ;; How long: a duration, whatever its value.
            (should (string-match-p "\\`[0-9]+s\\'" (aref outer-row 4))))
        (aio-tasks-test--finish outer waiter)))))

(aio-deftest aio-tasks-list-names-lambdas-and-with-async-bodies ()
  (aio-tasks-test--with-list
    (let* ((lambda-promise (funcall (aio-lambda (seconds)
                                      (aio-await (aio-sleep seconds)))
                                    3600))
           (async-promise (aio-with-async (aio-await (aio-sleep 3600)))))
      (unwind-protect
          (progn
            (should (aio-test-eventually
                     (lambda ()
                       (aio-native--promise-operation
                        (aio--task-awaited
                         (gethash (aio-promise-task async-promise) aio--tasks))))))
            (let ((lambda-row (aio-tasks-test--row
                               'task (aio-promise-task lambda-promise)))
                  (async-row (aio-tasks-test--row
                              'task (aio-promise-task async-promise))))
              ;; The file stays visible: file and line, not the first form.
              (should (string-match-p "\\`aio-lambda aio-tasks-test\\.el:[0-9]+\\'"
                                      (aref lambda-row 2)))
              (should (equal "3600" (aref lambda-row 5)))
              (should (string-match-p "\\`aio-with-async aio-tasks-test\\.el:[0-9]+\\'"
                                      (aref async-row 2)))
              (should (equal "sleep 3600s" (aref lambda-row 3)))
              (should (equal "sleep 3600s" (aref async-row 3)))))
        (aio-tasks-test--finish lambda-promise async-promise)))))

(aio-deftest aio-tasks-list-shows-a-native-sleep-until-it-is-done ()
  (aio-tasks-test--with-list
    (let* ((sleep (aio-sleep 0.05 'done))
           (id (aio-tasks-test--op-of sleep)))
      (should id)
      (let ((row (aio-tasks-test--row 'native id)))
        (should (equal "native" (aref row 1)))
        (should (equal "sleep 0.05s" (aref row 2))))
      (should (eq 'done (aio-wait-for sleep 5)))
      (should-not (aio-tasks-test--row 'native id)))))

(aio-deftest aio-tasks-list-says-which-task-awaits-a-native-operation ()
  (aio-tasks-test--with-list
    (let* ((promise (aio-tasks-test--sleeper 3600))
           (task (gethash (aio-promise-task promise) aio--tasks))
           (id (aio-tasks-test--op-of (aio--task-awaited task))))
      (unwind-protect
          (should (equal "awaited by aio-tasks-test--sleeper"
                         (aref (aio-tasks-test--row 'native id) 3)))
        (aio-tasks-test--finish promise)))))

(aio-deftest aio-tasks-cancel-at-point-cancels-the-task-and-its-timer ()
  (aio-native-init)
  (aio-tasks-test--with-list
    (let* ((before (aio-test-timers))
           (promise (aio-tasks-test--sleeper 3600))
           (id (aio-promise-task promise)))
      (unwind-protect
          (progn
            (should (aio-test-eventually
                     (lambda () (= (aio-test-timers) (1+ before)))))
            (should (aio-tasks-test--goto 'task id))
            (aio-tasks-cancel)
            (should (equal '(aio-cancel . aio-list-tasks)
                           (aio-test-cancellation promise)))
            (should (aio-test-eventually
                     (lambda () (= (aio-test-timers) before))))
            (should-not (aio-tasks-test--row 'task id)))
        (aio-cancel promise)))))

(aio-deftest aio-tasks-cancel-at-point-cancels-a-native-operation ()
  (aio-native-init)
  (aio-tasks-test--with-list
    (let* ((before (aio-test-timers))
           (sleep (aio-sleep 3600))
           (id (aio-tasks-test--op-of sleep)))
      (unwind-protect
          (progn
            (should (aio-tasks-test--goto 'native id))
            (aio-tasks-cancel)
            (should (equal '(aio-cancel . aio-list-tasks)
                           (aio-test-cancellation sleep)))
            (should (aio-test-eventually
                     (lambda () (= (aio-test-timers) before))))
            (should-not (aio-tasks-test--row 'native id)))
        (aio-cancel sleep)))))

(aio-deftest aio-tasks-cancel-with-nothing-at-point-is-a-user-error ()
  (aio-tasks-test--with-list
    (goto-char (point-max))
    (should-error (aio-tasks-cancel) :type 'user-error)))

(defun aio-tasks-test--native-row (promise)
  "Return the columns of the row of the native operation settling PROMISE."
  (revert-buffer)
  (cadr (cl-find-if (lambda (entry)
                      (and (eq (car (car entry)) 'native)
                           (eq promise (nth 3 (aio-native--operation
                                               (cdr (car entry)))))))
                    tabulated-list-entries)))

(aio-deftest aio-tasks-shows-sleeps-started-before-the-list ()
  (let ((long (aio-sleep 3600))
        ;; Not so short that it could end before the list is read.
        (short (aio-sleep 30)))
    (unwind-protect
        (progn
          (should-not aio-native--trackers)
          ;; Lisp recorded nothing of them: the loop thread tells.
          (should (zerop (hash-table-count aio-native--info)))
          (aio-tasks-test--with-list
            (let ((long-row (aio-tasks-test--native-row long))
                  (short-row (aio-tasks-test--native-row short)))
              (should (equal "sleep 3600s" (aref long-row 2)))
              (should (string-match-p "\\`[0-9]+s\\'" (aref long-row 4)))
              (should (equal "sleep 30s" (aref short-row 2)))
              (should (string-match-p "\\`[0-9]+s\\'" (aref short-row 4))))))
      (aio-tasks-test--finish long short))))

(aio-deftest aio-tasks-ids-tell-tasks-from-operations ()
  (aio-tasks-test--with-list
    (let* ((promise (aio-tasks-test--sleeper 3600))
           (task-id (aio-promise-task promise))
           (op (aio-tasks-test--op-of
                (aio--task-awaited (gethash task-id aio--tasks)))))
      (unwind-protect
          (progn
            (should (equal (format "T%d" task-id)
                           (aref (aio-tasks-test--row 'task task-id) 0)))
            (should (equal (format "N%d" op)
                           (aref (aio-tasks-test--row 'native op) 0))))
        (aio-tasks-test--finish promise)))))

(aio-deftest aio-tasks-empty-list-says-so ()
  (aio-tasks-test--with-list
    ;; Whatever other tests left pending is not in these tables.
    (let ((aio--tasks (make-hash-table :test #'eq))
          (aio-native--pending (make-hash-table :test #'eql)))
      (revert-buffer)
      (should-not tabulated-list-entries)
      (should (string-match-p "No async function is paused"
                              (buffer-string))))
    ;; With an entry, it does not say so.
    (let ((sleep (aio-sleep 3600)))
      (unwind-protect
          (progn
            (revert-buffer)
            (should-not (string-match-p "No async function is paused"
                                        (buffer-string))))
        (aio-tasks-test--finish sleep)))))

(aio-deftest aio-tasks-list-leaves-no-buffer-timer-or-tracking-behind ()
  (let ((buffer nil))
    (save-window-excursion
      (save-current-buffer
        (setq buffer (aio-list-tasks))
        (should (buffer-live-p buffer))
        (should (buffer-local-value 'aio-tasks--timer buffer))
        (should (memq 'aio-tasks aio-native--trackers))
        ;; Hidden, it stops refreshing at the next tick.
        (switch-to-buffer (get-buffer-create " *aio-tasks-test*"))
        (aio-tasks--tick buffer)
        (should-not (buffer-local-value 'aio-tasks--timer buffer))
        ;; Shown again, it starts again.
        (switch-to-buffer buffer)
        (aio-tasks--window-buffer-change (selected-window))
        (should (buffer-local-value 'aio-tasks--timer buffer))
        (kill-buffer " *aio-tasks-test*")))
    (kill-buffer buffer)
    (should-not (memq 'aio-tasks aio-native--trackers))
    (should-not (cl-find 'aio-tasks--tick timer-list :key #'timer--function))
    (should-not (get-buffer aio-tasks-buffer-name))))

(provide 'aio-tasks-test)
;;; aio-tasks-test.el ends here
