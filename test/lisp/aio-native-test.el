;;; aio-native-test.el --- Tests of the native loop and aio-sleep  -*- lexical-binding: t; -*-

;;; Commentary:

;; These run under `make test', once plainly and once under
;; `emacs -module-assertions'.

;;; Code:

(require 'ert)
(require 'cl-lib)
(require 'aio)
(require 'aio-test-helpers)

(defun aio-native-test--stat (key)
  "Return KEY of `aio-native-stats'."
  (plist-get (aio-native-stats) key))

(defun aio-native-test--rejection (promise)
  "Return the condition PROMISE was rejected with, or nil."
  (condition-case condition
      (progn (aio-wait-for promise) nil)
    ((error aio-cancel) condition)))

(aio-deftest aio-native-sleep-resolves-with-result ()
  (should (eq (aio-wait-for (aio-sleep 0.02 'x)) 'x))
  (should (equal (aio-wait-for (aio-sleep 0.001 '(1 2))) '(1 2)))
  (should (null (aio-wait-for (aio-sleep 0.001)))))

(aio-deftest aio-native-sleep-zero-resolves-without-the-loop ()
  (let ((commands (aio-native-test--stat :commands)))
    (should (eq (aio-wait-for (aio-sleep 0 'now)) 'now))
    (should (eq (aio-wait-for (aio-sleep 0.0 'now)) 'now))
    (should (= commands (aio-native-test--stat :commands)))))

(aio-deftest aio-native-sleep-waits-at-least-its-duration ()
  (let ((start (float-time)))
    (aio-wait-for (aio-sleep 0.05))
    (should (>= (- (float-time) start) 0.05))))

(aio-deftest aio-native-sleeps-resolve-in-deadline-order ()
  (let ((order nil)
        (promises nil))
    ;; 100 ms apart: the deadlines are fixed when the sleeps are made,
    ;; and a stall between two of them must not reorder them.
    (dolist (entry '((0.3 . 3) (0.1 . 1) (0.2 . 2) (0.4 . 4)))
      (let ((promise (aio-sleep (car entry) (cdr entry))))
        (push promise promises)
        (aio-listen promise (lambda (value) (push (funcall value) order)))))
    (dolist (promise promises) (aio-wait-for promise))
    (aio-test-eventually (lambda () (= (length order) 4)))
    (should (equal (nreverse order) '(1 2 3 4)))))

(aio-deftest aio-native-sleep-sort ()
  (let* ((numbers '(5 1 4 2 3 0))
         (sorted nil)
         (promises (mapcar (lambda (n)
                             (let ((p (aio-sleep (* n 0.1) n)))
                               (aio-listen p (lambda (v) (push (funcall v) sorted)))
                               p))
                           numbers)))
    (mapc #'aio-wait-for promises)
    (aio-test-eventually (lambda () (= (length sorted) 6)))
    (should (equal (nreverse sorted) '(0 1 2 3 4 5)))))

(aio-deftest aio-native-cancel-stops-the-native-timer ()
  (aio-native-init)
  (let* ((before (aio-native-test--stat :timers-pending))
         (promise (aio-sleep 3600 'never)))
    (should (= (aio-native-test--stat :timers-pending) (1+ before)))
    (should (aio-cancel promise))
    (should-not (aio-cancel promise))
    (should (aio-test-eventually
             (lambda () (= (aio-native-test--stat :timers-pending) before))))
    (should (eq (car (aio-native-test--rejection promise)) 'aio-cancel))
    (should (= (aio-native-test--stat :lisp-pending) 0))))

(aio-deftest aio-native-sleep-rejects-bad-durations ()
  (should-error (aio-sleep "x") :type 'wrong-type-argument)
  (should-error (aio-sleep nil) :type 'wrong-type-argument)
  (should-error (aio-sleep 'one) :type 'wrong-type-argument)
  (should-error (aio-sleep -1) :type 'args-out-of-range)
  (should-error (aio-sleep -0.001) :type 'args-out-of-range)
  (should-error (aio-sleep 0.0e+NaN) :type 'args-out-of-range)
  (should-error (aio-sleep 1.0e+INF) :type 'args-out-of-range)
  (should-error (aio-sleep 1e300) :type 'args-out-of-range)
  (should-error (aio-sleep (expt 10 40)) :type 'args-out-of-range)
  (should-error (aio-sleep) :type 'wrong-number-of-arguments)
  (should-error (aio-sleep 1 2 3) :type 'wrong-number-of-arguments)
  (should (= (aio-native-test--stat :lisp-pending) 0)))

(aio-deftest aio-native-module-functions-check-their-arguments ()
  (aio-native-init)
  ;; Staged or started at once, a timer's arguments are checked alike.
  (dolist (start '(aio-native--timer-start aio-native--timer-stage))
    (should-error (funcall start 1) :type 'wrong-number-of-arguments)
    (should-error (funcall start 1 2 3) :type 'wrong-number-of-arguments)
    (should-error (funcall start "1" 10) :type 'wrong-type-argument)
    (should-error (funcall start 1.5 10) :type 'wrong-type-argument)
    (should-error (funcall start -1 10) :type 'args-out-of-range)
    (should-error (funcall start (expt 2 70) 10) :type 'args-out-of-range)
    (should-error (funcall start 1 "10") :type 'wrong-type-argument)
    (should-error (funcall start 1 -10) :type 'args-out-of-range)
    (should-error (funcall start 1 0.0e+NaN) :type 'args-out-of-range))
  (should-error (aio-native--timer-cancel 'x) :type 'wrong-type-argument)
  (should-error (aio-native--drain 0) :type 'args-out-of-range)
  (should-error (aio-native--drain "x") :type 'wrong-type-argument)
  (should-error (aio-native--init 'not-a-process) :type 'wrong-type-argument)
  (should-error (aio-native--set-wake-enabled) :type 'wrong-number-of-arguments)
  ;; Option lists are keywords and values: `plist-get' would read a
  ;; malformed one without a word.
  (dolist (options '((1 2 3) (:timeout) (:timeout 1 2) ("timeout" 1) (nil nil)))
    (should-error (aio-native--http-start (1+ aio-native--last-id) "http://127.0.0.1:1/"
                                          "GET" nil "" options)
                  :type 'wrong-type-argument)
    (should-error (aio-native--file-read (1+ aio-native--last-id) "/nonexistent"
                                         nil nil options)
                  :type 'wrong-type-argument))
  (should (eq (plist-get (aio-native-stats) :http-pending) 0))
  (should (eq (plist-get (aio-native-stats) :files-pending) 0)))

(aio-deftest aio-native-module-functions-document-their-arguments ()
  (dolist (entry '((aio-native--timer-start . "(aio-native--timer-start ID SECONDS)")
                   (aio-native--drain . "(aio-native--drain &optional MAX MAX-BYTES)")
                   (aio-native--init . "(aio-native--init PIPE-PROCESS)")))
    (let ((usage (help-split-fundoc (documentation (car entry)) (car entry))))
      (should (equal (car usage) (cdr entry))))))

(aio-deftest aio-native-garbage-collection-while-sleeps-are-pending ()
  (let ((promises (cl-loop for i below 1000 collect (aio-sleep (* 0.0001 (% i 50)) i))))
    ;; Unreferenced sleeps must complete and leave nothing behind either.
    (dotimes (i 1000) (aio-sleep 0.01 i))
    (garbage-collect)
    (aio-test-eventually (lambda () (aio-result (car (last promises)))) 1)
    (garbage-collect)
    (should (equal (mapcar #'aio-wait-for promises) (number-sequence 0 999)))
    (should (aio-test-eventually
             (lambda () (= (aio-native-test--stat :lisp-pending) 0))))))

(aio-deftest aio-native-stats-count-the-work ()
  (aio-native-init)
  (let ((before (aio-native-stats)))
    (dolist (p (list (aio-sleep 0.001) (aio-sleep 0.002))) (aio-wait-for p))
    (aio-wait-for (aio-file-stat temporary-file-directory))
    (let ((after (aio-native-stats)))
      (should (eq (plist-get after :running) t))
      (should (eq (plist-get after :wake-method) 'channel))
      ;; Sleeps are handed over without a command of their own (see
      ;; `aio-native--timer-stage'); the file operation is one.
      (should (= (- (plist-get after :commands) (plist-get before :commands)) 1))
      (should (= (- (plist-get after :completions) (plist-get before :completions)) 3))
      (should (> (plist-get after :wakeups) (plist-get before :wakeups)))
      (should (> (plist-get after :drains) (plist-get before :drains))))))

(aio-deftest aio-native-timer-wake-method-polls-instead-of-waking ()
  (aio-native-init)
  (let ((wakeups (aio-native-test--stat :wakeups)))
    (unwind-protect
        (progn
          (customize-set-variable 'aio-native-wake-method 'timer)
          (should (equal (mapcar #'aio-wait-for
                                 (list (aio-sleep 0.01 'a) (aio-sleep 0.02 'b)))
                         '(a b)))
          (should (= wakeups (aio-native-test--stat :wakeups))))
      (customize-set-variable 'aio-native-wake-method 'channel))
    (should (eq (aio-wait-for (aio-sleep 0.01 'c)) 'c))
    (should (> (aio-native-test--stat :wakeups) wakeups))))

(aio-deftest aio-native-init-twice-is-harmless ()
  (aio-native-init)
  (let ((process aio-native--process))
    (should (aio-native-init))
    (should (eq process aio-native--process))
    ;; Handing the same pipe to the running loop again is harmless too.
    (should (aio-native--init process))
    (should (eq (aio-wait-for (aio-sleep 0.01 'ok)) 'ok))))

(defun aio-native-test--wake-buffers ()
  "Return the live buffers of wake pipes."
  (cl-remove-if-not (lambda (buffer)
                      (string-prefix-p " *aio-native-wake*" (buffer-name buffer)))
                    (buffer-list)))

(aio-deftest aio-native-replaces-a-deleted-wake-pipe ()
  (aio-native-init)
  (let ((promise (aio-sleep 0.2 'late))
        (old aio-native--process))
    (delete-process old)
    ;; No other operation starts: the sentinel alone must bring a new
    ;; pipe, or the sleep would wait for somebody else's operation.
    (should (eq (aio-wait-for promise 5) 'late))
    (should (process-live-p aio-native--process))
    (should-not (eq aio-native--process old))
    (should (= (length (aio-native-test--wake-buffers)) 1))))

(aio-deftest aio-native-replaces-a-killed-wake-buffer ()
  (aio-native-init)
  (let ((promise (aio-sleep 0.2 'late)))
    (kill-buffer (process-buffer aio-native--process))
    (should (eq (aio-wait-for promise 5) 'late))
    (should (process-live-p aio-native--process))
    (should (= (length (aio-native-test--wake-buffers)) 1))))

(aio-deftest aio-native-raw-shutdown-settles-pending-work ()
  (let ((promise (aio-sleep 3600)))
    ;; The module's own shutdown, without `aio-native-shutdown' around it.
    (aio-native--shutdown)
    (should (eq (car (aio-native-test--rejection promise)) 'aio-cancel))
    (should (= (aio-native-test--stat :lisp-pending) 0))
    (should-not aio-native--process)
    (should (eq (aio-wait-for (aio-sleep 0.01 'again) 5) 'again))))

(aio-deftest aio-native-bad-settings-keep-delivering ()
  (aio-native-init)
  (let ((warnings nil))
    (cl-letf (((symbol-function 'display-warning)
               (lambda (_type message &rest _) (push message warnings))))
      (dolist (setting '((aio-native-wake-method . bogus)
                         (aio-native-poll-interval . 0)
                         (aio-native-poll-interval . nil)))
        (let ((aio-native--reported-settings nil)
              (aio-native-wake-method (if (eq (car setting) 'aio-native-wake-method)
                                          (cdr setting)
                                        'timer))
              (aio-native-poll-interval (if (eq (car setting) 'aio-native-poll-interval)
                                            (cdr setting)
                                          0.002)))
          (setq warnings nil)
          (aio-native--apply-wake-method)
          (should (eq (aio-wait-for (aio-sleep 0.05 'on-time) 4) 'on-time))
          (should (= (length warnings) 1))
          (should (string-match-p (symbol-name (car setting)) (car warnings))))))
    (aio-native--apply-wake-method)
    ;; Customize refuses them outright.
    (should-error (customize-set-variable 'aio-native-wake-method 'bogus) :type 'user-error)
    (should-error (customize-set-variable 'aio-native-poll-interval 0) :type 'user-error)
    (should (eq aio-native-wake-method 'channel))))

(aio-deftest aio-native-a-sleep-does-not-overtake-what-finished-before-it ()
  ;; Emacs busy while a file write finishes and then a sleep comes due:
  ;; the write, done first, is delivered first (timers come ahead only
  ;; of what a drain's byte budget holds back).
  (aio-native-init)
  (let* ((file (make-temp-file "aio-order-"))
         (start (float-time))
         (write (aio-file-write file "x"))
         (sleep (aio-sleep 0.05 'late))
         (order nil))
    (unwind-protect
        (progn
          (aio-listen write (lambda (_) (push 'write order)))
          (aio-listen sleep (lambda (_) (push 'sleep order)))
          ;; No event is read meanwhile: both wait in the outbox.
          (while (and (> (plist-get (aio-native-stats) :files-pending) 0)
                      (< (float-time) (+ start 5))))
          (while (< (float-time) (+ start 0.2)))
          (should (eq (aio-wait-for sleep 5) 'late))
          (aio-wait-for write 5)
          (aio-test-settle)
          (should (equal (reverse order) '(write sleep))))
      (delete-file file))))

(aio-deftest aio-native-bad-drain-limits-keep-delivering ()
  (aio-native-init)
  (let ((warnings nil))
    (cl-letf (((symbol-function 'display-warning)
               (lambda (_type message &rest _) (push message warnings))))
      (dolist (setting `((aio-native-drain-batch . -1)
                         (aio-native-drain-batch . 0)
                         (aio-native-drain-batch . bogus)
                         (aio-native-drain-bytes . "256")
                         (aio-native-drain-bytes . 1.5)
                         (aio-native-drain-bytes . ,(let ((l (list 1 2))) (setcdr (cdr l) l) l))))
        (let ((aio-native--reported-settings nil)
              (aio-native-drain-batch 4096)
              (aio-native-drain-bytes nil))
          (setq warnings nil)
          (set (car setting) (cdr setting))
          (should (equal (aio-wait-for (aio-all (list (aio-sleep 0.02 1) (aio-sleep 0.03 2))) 4)
                         '(1 2)))
          (should (= (length warnings) 1))
          (should (string-match-p (symbol-name (car setting)) (car warnings))))))
    ;; nil is no limit, not a bad value.
    (let ((aio-native-drain-batch nil) (aio-native-drain-bytes nil))
      (setq warnings nil)
      (should (eq (aio-wait-for (aio-sleep 0.02 'ok) 4) 'ok))
      (should-not warnings))))

(aio-deftest aio-native-a-failing-handler-loses-only-its-own-operation ()
  (aio-native-init)
  (let* ((failing (aio-native--register
                   (lambda (_status _payload) (error "Handler failed"))))
         (sleeps (cl-loop for i below 20 collect (aio-sleep 0.05 i)))
         (messages nil))
    (aio-native--timer-start failing 0.01)
    (cl-letf (((symbol-function 'message)
               (lambda (format &rest args) (push (apply #'format format args) messages))))
      (should (equal (mapcar (lambda (p) (aio-wait-for p 5)) sleeps)
                     (number-sequence 0 19))))
    (should (cl-some (lambda (m) (string-match-p "Handler failed" m)) messages))
    (should (= (aio-native-test--stat :lisp-pending) 0))))

(aio-deftest aio-native-shutdown-rejects-pending-and-restarts-later ()
  (let ((promise (aio-sleep 3600)))
    (aio-native-shutdown)
    (should-not (aio-native--running-p))
    (should (eq (car (aio-native-test--rejection promise)) 'aio-cancel))
    (should (= (aio-native-test--stat :lisp-pending) 0))
    (should (eq (aio-wait-for (aio-sleep 0.01 'again)) 'again))
    (should (aio-native--running-p))))

(defun aio-native-test--child-fds ()
  "Return the descriptors a child process of Emacs starts with."
  (sort (process-lines "/bin/sh" "-c" "ls /proc/$$/fd") #'string<))

(aio-deftest aio-native-wake-descriptor-is-not-inherited ()
  (aio-native-shutdown)
  (let ((without (aio-native-test--child-fds)))
    (aio-native-init)
    (should (equal (aio-native-test--child-fds) without))))

(aio-deftest aio-native-idle-checks-durations-as-sleep-does ()
  (dolist (bad '(-1 -1e100 1e308 1.0e+INF 0.0e+NaN))
    (should-error (aio-idle bad) :type 'args-out-of-range)
    (should-error (aio-sleep bad) :type 'args-out-of-range))
  (let ((bignum (1+ most-positive-fixnum)))
    (should-error (aio-idle bignum) :type 'args-out-of-range)
    (should-error (aio-timeout bignum) :type 'args-out-of-range))
  (should-error (aio-idle "1") :type 'wrong-type-argument)
  (aio-cancel (aio-idle 1e8)))

(aio-deftest aio-native-kill-emacs-with-sleeps-pending-exits-cleanly ()
  (let* ((dirs (delete-dups (mapcar (lambda (lib) (file-name-directory (locate-library lib)))
                                    '("aio" "aio-native"))))
         (status (apply #'call-process
                  (expand-file-name invocation-name invocation-directory) nil
                  (get-buffer-create " *aio-native-kill*") nil
                  `("-Q" "--batch" ,@(mapcan (lambda (d) (list "-L" d)) dirs) "-l" "aio"
                  "--eval" "(progn (dotimes (i 10000) (aio-sleep 3600 i)) (kill-emacs 7))"))))
    (should (equal (list status (with-current-buffer " *aio-native-kill*" (buffer-string)))
                   (list 7 "")))))

(provide 'aio-native-test)
;;; aio-native-test.el ends here
