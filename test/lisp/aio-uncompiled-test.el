;;; aio-uncompiled-test.el --- The library loaded from source under a user's defvars  -*- lexical-binding: t -*-

;;; Commentary:

;; Interpreted code decides at run time whether a `let' is lexical: a
;; user's (defvar settled nil) made the library's own `let' of
;; `settled' dynamic, and the callbacks of `aio-all-settled', which run
;; after that `let' has ended, saw the user's variable, so the promise
;; never resolved (issue 11, item 12).  A `let' that rebinds an
;; argument breaks too: its body goes on seeing the argument.  The test
;; starts a child Emacs that declares such names special, loads the
;; library from a copy of its .el files (no .elc beside them, the
;; module copied along), and runs the functions that bound them.  The
;; names are those tools/lint-lets.el found; `make lint' keeps new ones
;; out.

;;; Code:

(require 'ert)
(require 'aio)
(require 'aio-test-helpers)

(defconst aio-uncompiled-test--names
  '(settled outcomes pending listened done cancel-losers race any errors
            failures i item all values cell caught callback promise tag shield
            timeout member child name task what where cleanup
            message timer sleep id lines transfer request)
  "Names the library bound with `let' in ways a user's `defvar' breaks.
Around closures that outlive the `let', or rebinding an argument.")

(defconst aio-uncompiled-test--helpers
  '((defun aio-uncompiled--failing (text)
      "Return a promise rejected with (error TEXT)."
      (let ((p (aio-promise)))
        (aio-resolve p (aio--error-fn (list 'error text)))
        p))
    (defun aio-uncompiled--state (p)
      "Return what became of promise P: pending, canceled, or its outcome."
      (let ((vf (aio-promise-result p)))
        (if (null vf)
            'pending
          (condition-case c (list :value (funcall vf))
            (aio-cancel 'canceled)
            (error (list :error c))))))
    (defun aio-uncompiled--wait (p)
      "Return (:value V) or (:error CONDITION) of P, giving up after 3 s."
      (condition-case c (list :value (aio-wait-for p 3))
        (t (list :error c))))
    (defun aio-uncompiled--settle ()
      "Let the ready queue and short sleeps run."
      (aio-wait-for (aio-sleep 0.02) 3))
    (defun aio-uncompiled--cancel-through (combine)
      "Cancel what COMBINE makes of a list of one pending sleep.
Return what became of the sleep."
      (let* ((input (aio-sleep 60))
             (combined (funcall combine (list input))))
        (aio-cancel combined)
        (aio-uncompiled--settle)
        (aio-uncompiled--state input)))
    (defun aio-uncompiled--race (cancel)
      "Race a long sleep and a short one; CANCEL as :cancel-losers.
Return the outcome and what became of the long sleep."
      (let* ((slow (aio-sleep 60))
             (outcome (aio-uncompiled--wait
                       (aio-race (list slow (aio-sleep 0.01 'fast))
                                 :cancel-losers cancel))))
        (aio-uncompiled--settle)
        (prog1 (list outcome (aio-uncompiled--state slow))
          (aio-cancel slow))))
    (defun aio-uncompiled--callbacks (once)
      "Call a callback of `aio-make-callback' (tagged, ONCE) twice.
Return the values of the promises of the calls."
      (let* ((pair (aio-make-callback :tag 'tg :once once))
             (first (cdr pair)))
        (funcall (car pair) 1 2)
        (funcall (car pair) 3)
        (let ((v1 (aio-wait-for first 3)))
          (if once
              (list v1)
            (list (cdr v1) (cdr (aio-wait-for (car v1) 3)))))))
    (defun aio-uncompiled--queue-return ()
      "Cancel a task granted an item; return the next two items got."
      (let ((q (aio-queue)))
        (aio-queue-put q 'first)
        (aio-queue-put q 'second)
        (aio-cancel (funcall (aio-lambda (qq) (aio-await (aio-queue-get qq))) q))
        (aio-uncompiled--settle)
        (list (aio-wait-for (aio-queue-get q) 3) (aio-wait-for (aio-queue-get q) 3))))
    (defun aio-uncompiled--select-return ()
      "Cancel a task granted a member; return whether the next select gets it."
      (let* ((m (aio-sleep 0 'm))
             (sel (aio-make-select (list m))))
        (aio-uncompiled--settle)
        (aio-cancel (funcall (aio-lambda (s) (aio-await (aio-select s))) sel))
        (aio-uncompiled--settle)
        (eq m (aio-wait-for (aio-select sel) 3))))
    (defun aio-uncompiled--buffer-killed ()
      "Kill the buffer an awaiting task paused in; return what it caught."
      (let* ((buf (generate-new-buffer " doomed"))
             (gate (aio-promise))
             (task (funcall (aio-lambda (b g)
                              (condition-case c
                                  (with-current-buffer b (aio-await g))
                                (aio-buffer-killed c)))
                            buf gate)))
        (kill-buffer buf)
        (aio-resolve gate #'ignore)
        (aio-uncompiled--wait task))))
  "Functions the child Emacs defines for `aio-uncompiled-test--checks'.
They are defined with `eval', so that the macros in them expand when
they run, inside the check, not when the child loads its script.")

(defconst aio-uncompiled-test--checks
  '((special . (cl-every #'special-variable-p aio-uncompiled--names))
    (interpreted . (let ((f (symbol-function 'aio-all-settled)))
                     (and (string-suffix-p ".el" (symbol-file 'aio-all-settled 'defun))
                          (not (byte-code-function-p f))
                          (not (subrp f)))))
    (all-settled . (aio-uncompiled--wait
                    (aio-all-settled (list (aio-sleep 0.01 'a) 'b
                                           (aio-uncompiled--failing "c")))))
    (all-settled-cancel . (aio-uncompiled--cancel-through #'aio-all-settled))
    (race . (aio-uncompiled--race t))
    (race-keep . (aio-uncompiled--race nil))
    (race-cancel . (aio-uncompiled--cancel-through #'aio-race))
    (any . (aio-uncompiled--wait
            (aio-any (list (aio-uncompiled--failing "x") (aio-sleep 0.01 'ok)))))
    (any-fails . (aio-uncompiled--wait
                  (aio-any (list (aio-uncompiled--failing "x")
                                 (aio-uncompiled--failing "y")))))
    (any-cancel . (aio-uncompiled--cancel-through #'aio-any))
    (all . (aio-uncompiled--wait
            (aio-all (list (aio-sleep 0.01 1) 2 (aio-sleep 0 3)))))
    (all-fails . (aio-uncompiled--wait
                  (aio-all (list (aio-sleep 60) (aio-uncompiled--failing "z")))))
    (all-cancel . (aio-uncompiled--cancel-through #'aio-all))
    (catch . (aio-uncompiled--wait (aio-catch (aio-uncompiled--failing "caught"))))
    (catch-cancel . (aio-uncompiled--cancel-through (lambda (l) (aio-catch (car l)))))
    (shield . (aio-uncompiled--wait (aio-shield (aio-sleep 0.01 'kept))))
    (callback . (aio-uncompiled--callbacks nil))
    (callback-once . (aio-uncompiled--callbacks t))
    (with-timeout . (aio-uncompiled--wait
                     (funcall (aio-lambda ()
                                (aio-with-timeout 0.02 (aio-await (aio-sleep 60)))))))
    (task-group . (aio-uncompiled--wait
                   (funcall (aio-lambda ()
                              (aio-task-group (g)
                                (aio-task-group-spawn
                                 g (aio-lambda () (aio-await (aio-sleep 0.01)) 'kid))
                                'body)))))
    (queue-return . (aio-uncompiled--queue-return))
    (select-return . (aio-uncompiled--select-return))
    (buffer-killed . (aio-uncompiled--buffer-killed))
    (cleanup . (aio-uncompiled--wait
                (funcall (aio-lambda ()
                           (let ((v 'cleaned) (box (list nil)))
                             (unwind-protect (aio-await (aio-sleep 0.01))
                               (setcar box v))
                             box)))))
    (timeout . (aio-uncompiled--wait (aio-timeout 0.01)))
    (idle-cancel . (let ((p (aio-idle 100)))
                     (aio-cancel p)
                     (list (aio-uncompiled--state p)
                           (cl-count-if (lambda (timer) (memq p (timer--args timer)))
                                        timer-idle-list))))
    (http . (car (nth 1 (aio-uncompiled--wait (aio-http-request "http://nowhere.invalid/")))))
    (http-cancel . (let* ((server (make-network-process :name "silent" :server t :noquery t
                                                        :host "127.0.0.1" :service t))
                          (p (aio-http-request (format "http://127.0.0.1:%d/"
                                                       (process-contact server :service))
                                               :proxy "")))
                     (aio-uncompiled--settle)
                     (aio-cancel p)
                     (prog1 (aio-uncompiled--state p)
                       (delete-process server))))
    (url . (let ((outcome (aio-uncompiled--wait (aio-url-retrieve "http://nowhere.invalid/"))))
             (kill-buffer (cdr (nth 1 outcome)))
             (nth 1 (plist-get (car (nth 1 outcome)) :error))))
    (misplaced . (let ((text-quoting-style 'grave))
                   (condition-case c
                       (progn (macroexpand-all
                               '(aio-lambda ()
                                  (condition-case e (aio-await (aio-sleep 0))
                                    (:success e))))
                              'expanded)
                     (error (cadr c))))))
  "What the child Emacs checks once the library is loaded: (NAME . FORM).
It prints the alist of each NAME and FORM's value, or (:failed
CONDITION) if FORM signaled.")

(defun aio-uncompiled-test--run (names)
  "Load the library from source in a child Emacs after a `defvar' of NAMES.
Return the alist of results of `aio-uncompiled-test--checks'."
  (let* ((dir (make-temp-file "aio-uncompiled-" t))
         (lisp (expand-file-name "lisp" dir))
         (script (expand-file-name "child.el" dir))
         (output (generate-new-buffer " *aio-uncompiled*"))
         (process nil))
    (unwind-protect
        (progn
          (make-directory lisp)
          ;; The sources only: an .elc beside them would be loaded instead.
          (dolist (file (directory-files aio-native--lisp-directory t "\\.el\\'"))
            (copy-file file (expand-file-name (file-name-nondirectory file) lisp)))
          (should (file-exists-p (aio-native--module-file)))
          (copy-file (aio-native--module-file)
                     (expand-file-name (file-name-nondirectory (aio-native--module-file))
                                       lisp))
          (with-temp-file script
            (insert ";;; child.el  -*- lexical-binding: t -*-\n")
            (let ((print-escape-newlines t) (print-length nil) (print-level nil))
              (dolist (name names)
                (prin1 `(defvar ,name 'users-own-value) (current-buffer))
                (insert "\n"))
              (dolist (form `((setq load-path (cons ,lisp load-path))
                              (require 'aio)
                              (defvar aio-uncompiled--names ',names)
                              (mapc (lambda (form) (eval form t))
                                    ',aio-uncompiled-test--helpers)
                              (princ
                               (format "aio-uncompiled-results: %S\n"
                                       (mapcar (lambda (check)
                                                 (cons (car check)
                                                       (condition-case c
                                                           (eval (cdr check) t)
                                                         (t (list :failed c)))))
                                               ',aio-uncompiled-test--checks)))))
                (prin1 form (current-buffer))
                (insert "\n"))))
          (setq process
                (make-process :name "aio-uncompiled" :buffer output :noquery t
                              :connection-type 'pipe
                              :command (list (expand-file-name invocation-name
                                                               invocation-directory)
                                             "-Q" "--batch" "-l" script)))
          ;; A check that fails waits 3 s: the old code took half a minute.
          (should (aio-test-wait-exit process 240))
          (with-current-buffer output
            (goto-char (point-min))
            (unless (re-search-forward "^aio-uncompiled-results: " nil t)
              (ert-fail (list "The child Emacs printed no results"
                              (buffer-string))))
            (condition-case nil
                (read (current-buffer))
              (invalid-read-syntax
               (ert-fail (list "The child Emacs printed unreadable results"
                               (buffer-string)))))))
      (when (process-live-p process)
        (delete-process process))
      (kill-buffer output)
      (delete-directory dir t))))

(aio-deftest aio-uncompiled-library-ignores-the-users-defvars ()
  (let ((results (aio-uncompiled-test--run aio-uncompiled-test--names)))
    (cl-flet ((result (key) (alist-get key results)))
      ;; The setting is what the test claims it is.
      (should (eq t (result 'special)))
      (should (eq t (result 'interpreted)))
      (should (equal '(:value ((:success . a) (:success . b) (:error error "c")))
                     (result 'all-settled)))
      (should (eq 'canceled (result 'all-settled-cancel)))
      (should (equal '((:value fast) canceled) (result 'race)))
      (should (equal '((:value fast) pending) (result 'race-keep)))
      (should (eq 'canceled (result 'race-cancel)))
      (should (equal '(:value ok) (result 'any)))
      (should (equal '(:error (aio-all-failed (error "x") (error "y")))
                     (result 'any-fails)))
      (should (eq 'canceled (result 'any-cancel)))
      (should (equal '(:value (1 2 3)) (result 'all)))
      (should (equal '(:error (error "z")) (result 'all-fails)))
      (should (eq 'canceled (result 'all-cancel)))
      (should (equal '(:value (:error error "caught")) (result 'catch)))
      (should (eq 'canceled (result 'catch-cancel)))
      (should (equal '(:value kept) (result 'shield)))
      (should (equal '((tg 1 2) (tg 3)) (result 'callback)))
      (should (equal '((tg 1 2)) (result 'callback-once)))
      (should (equal '(:error (aio-timeout . 0.02)) (result 'with-timeout)))
      (should (equal '(:value body) (result 'task-group)))
      (should (equal '(first second) (result 'queue-return)))
      (should (eq t (result 'select-return)))
      (should (equal '(:value (aio-buffer-killed " doomed")) (result 'buffer-killed)))
      (should (equal '(:value (cleaned)) (result 'cleanup)))
      (should (equal '(:error (aio-timeout . 0.01)) (result 'timeout)))
      (should (equal '(canceled 0) (result 'idle-cancel)))
      (should (eq 'aio-http-resolve-error (result 'http)))
      (should (eq 'canceled (result 'http-cancel)))
      (should (eq 'connection-failed (result 'url)))
      (should (string-prefix-p "`aio-await' inside a `condition-case' that has a `:success'"
                               (result 'misplaced))))))

(provide 'aio-uncompiled-test)
;;; aio-uncompiled-test.el ends here
