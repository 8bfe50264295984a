;;; aio-async-test.el --- Tests of async functions  -*- lexical-binding: t -*-

;;; Commentary:

;; `aio-await', `aio-lambda', `aio-defun', `aio-with-async': values and
;; errors through awaits, ordering, deep chains, expansion-time errors,
;; and the metadata of `aio-defun' from source and byte-compiled.

;;; Code:

(require 'ert)
(require 'aio)
(require 'aio-test-helpers)
(require 'help-fns)

(defconst aio-async-test--fixture
  (expand-file-name "aio-fixture.el"
                    (file-name-directory (or load-file-name buffer-file-name))))

(aio-deftest aio-await-values ()
  (let ((resolved (aio-promise)))
    (aio-resolve resolved (lambda () 'r))
    (should (equal '(1 r s nil)
                   (aio-test-wait
                    (funcall (aio-lambda ()
                               (list (aio-await 1)
                                     (aio-await resolved)
                                     (aio-await (aio-sleep 0.001 's))
                                     (aio-await nil)))))))))

(aio-deftest aio-macros-refuse-circular-arglists ()
  "A circular argument list is an error at expansion, not a loop.
\(A circular body is not: Emacs's own `macroexpand-all' loops on one.)"
  (let ((circular (list 'a 'b)))
    (setcdr (cdr circular) circular)
    (dolist (form (list `(aio-lambda ,circular nil)
                        `(aio-defun aio-async-test--circular ,circular nil)))
      (should-error (macroexpand-1 form)))
    ;; A form nested thousands deep is not walked to the bottom either.
    (let ((deep 'x))
      (dotimes (_ 5000) (setq deep (list 'progn deep)))
      (should (stringp (aio--short-form deep))))))

(aio-deftest aio-lambda-runs-to-first-pause ()
  (let* ((log nil)
         (f (aio-lambda (x)
              (push (list 'start x) log)
              (aio-await (aio-sleep 0))
              (push 'after log)
              (* 2 x)))
         (p (funcall f 21)))
    (should (aio-promise-p p))
    (should (equal '((start 21)) log))
    (should (= 42 (aio-test-wait p)))
    (should (equal '(after (start 21)) log))))

(aio-deftest aio-await-error-survives-several-awaits ()
  (let* ((inner (aio-lambda ()
                  (aio-await (aio-sleep 0.001))
                  (signal 'my-test-error '(1 "two" three))))
         (middle (aio-lambda () (aio-await (funcall inner))))
         (outer (aio-lambda () (aio-await (funcall middle)))))
    (define-error 'my-test-error "Test error" 'arith-error)
    (should (equal '(my-test-error 1 "two" three)
                   (should-error (aio-test-wait (funcall outer))
                                 :type 'my-test-error)))))

(aio-deftest aio-await-condition-case-and-unwind-protect ()
  (let* ((log nil)
         (failing (aio-lambda () (aio-await (aio-sleep 0)) (/ 1 0)))
         (f (aio-lambda ()
              (unwind-protect
                  (condition-case err
                      (progn (aio-await (funcall failing)) 'not-reached)
                    (arith-error (push (car err) log) 'caught))
                (push 'unwound log)))))
    (should (eq 'caught (aio-test-wait (funcall f))))
    (should (equal '(unwound arith-error) log))))

(aio-deftest aio-unwind-protect-runs-on-error ()
  (let* ((log nil)
         (f (aio-lambda ()
              (unwind-protect
                  (progn (aio-await (aio-sleep 0)) (error "Fail"))
                (push 'cleanup log)))))
    (should-error (aio-test-wait (funcall f)) :type 'error)
    (should (equal '(cleanup) log))))

(aio-deftest aio-tasks-resume-in-fifo-order ()
  (let* ((gate (aio-promise))
         (log nil)
         (tasks (cl-loop for i below 5
                         collect (let ((i i))
                                   (funcall (aio-lambda ()
                                              (aio-await gate)
                                              (push i log)))))))
    (aio-resolve gate #'ignore)
    (aio-test-wait (aio-all tasks))
    (should (equal '(0 1 2 3 4) (nreverse log)))))

(aio-deftest aio-await-of-resolved-promise-keeps-order ()
  ;; A task awaiting a resolved promise while another task is ready
  ;; lets that task run first, as if it had yielded.
  (let* ((gate (aio-promise))
         (done (aio-promise))
         (log nil))
    (aio-resolve done #'ignore)
    (funcall (aio-lambda () (aio-await gate) (push 'a1 log)
               (aio-await done) (push 'a2 log)))
    (funcall (aio-lambda () (aio-await gate) (push 'b1 log)))
    (aio-resolve gate #'ignore)
    (aio-test-wait (aio-sleep 0.01))
    (should (equal '(a1 b1 a2) (nreverse log)))))

(aio-deftest aio-await-sleep-zero-yields-to-timers ()
  ;; A loop of (aio-await (aio-sleep 0)) never starves Emacs timers.
  (let* ((timer-ran nil)
         (spins 0)
         (task (funcall (aio-lambda ()
                          (while (not timer-ran)
                            (cl-incf spins)
                            (aio-await (aio-sleep 0)))
                          spins))))
    (run-at-time 0 nil (lambda () (setq timer-ran t)))
    (should (> (aio-test-wait task) 0))))

(aio-defun aio-async-test--chain (n)
  (aio-await (aio-sleep 0))
  (if (= n 0)
      (progn (garbage-collect) 0)
    (1+ (aio-await (aio-async-test--chain (1- n))))))

(aio-deftest aio-deep-chain ()
  ;; 100,000 nested async calls: no `max-lisp-eval-depth' error, and a
  ;; garbage collection at full depth does not overflow the C stack.
  ;; The library run from source is ten times slower: 20,000 there,
  ;; still beyond what recursion could take.
  (let ((gc-cons-threshold (* 64 1024 1024))
        (depth (let ((step (indirect-function 'aio--step)))
                 (if (or (byte-code-function-p step) (subrp step)) 100000 20000))))
    (should (= depth (aio-wait-for (aio-async-test--chain depth) 120)))))

(aio-deftest aio-with-async-starts-later ()
  (let* ((started nil)
         (p (aio-with-async (setq started t) (aio-await (aio-sleep 0)) 'done)))
    (should (aio-promise-p p))
    (should-not started)
    (should (eq 'done (aio-test-wait p)))
    (should started)))

(aio-deftest aio-with-async-reports-unawaited-error-once ()
  (let* ((reports nil)
         (aio-unhandled-error-function
          (lambda (err where) (push (list err where) reports))))
    (aio-with-async (aio-await (aio-sleep 0)) (signal 'arith-error '(42)))
    (aio-test-wait (aio-sleep 0.02))
    (should (= 1 (length reports)))
    (should (equal '(arith-error 42) (car (car reports))))
    (should (string-match-p "aio-with-async" (cadr (car reports))))
    (should (string-match-p "aio-await" (cadr (car reports))))
    ;; Awaited errors are not reported.
    (setq reports nil)
    (should-error (aio-test-wait (aio-with-async (error "Seen")))
                  :type 'error)
    (let ((p (aio-with-async (error "Caught"))))
      (aio-test-wait (aio-catch p)))
    (aio-test-wait (aio-sleep 0.02))
    (should-not reports)))

(aio-deftest aio-with-async-default-report-names-the-error ()
  (let ((warnings nil))
    (cl-letf (((symbol-function 'display-warning)
               (lambda (type message &rest _) (push (list type message) warnings))))
      (aio-with-async (error "Nobody listens"))
      (aio-test-wait (aio-sleep 0.02)))
    (should (= 1 (length warnings)))
    (should (eq 'aio (car (car warnings))))
    (should (string-match-p "Nobody listens" (cadr (car warnings))))))

(aio-deftest aio-await-misuse-fails-at-expansion ()
  (let ((err (should-error (macroexpand-all '(aio-await 1)))))
    (should (string-match-p "aio-lambda" (cadr err))))
  (let ((err (should-error
              (macroexpand-all '(aio-lambda (l) (mapc (lambda (x) (aio-await x)) l))))))
    (should (string-match-p "nested function" (cadr err)))
    (should (string-match-p "dolist" (cadr err))))
  ;; A nested async function may await.
  (should (macroexpand-all
           '(aio-lambda () (aio-await (funcall (aio-lambda () (aio-await 1))))))))

(aio-deftest aio-lambda-docstring-and-interactive ()
  (let ((f (aio-lambda (a &optional b) "Doc of F." (interactive "p") (list a b))))
    (should (equal "Doc of F." (documentation f)))
    (should (commandp f))
    (should (equal '(a &optional b) (help-function-arglist f t)))
    (should (equal '(1 nil) (aio-test-wait (funcall f 1))))))

(defun aio-async-test--doc-text (symbol)
  "Return the documentation of SYMBOL without a usage line."
  (let* ((doc (documentation symbol))
         (split (and doc (help-split-fundoc doc symbol))))
    (if split (cdr split) doc)))

(defun aio-async-test--check-fixture ()
  "Check the help of the functions of aio-fixture.el."
  (should (equal '(a b &optional c &rest more)
                 (help-function-arglist 'aio-fixture-add t)))
  ;; The docstring is the author's, exactly, as emacs-aio's tests want it.
  (should (equal (aio-async-test--doc-text 'aio-fixture-add)
                 "Add A, B, C and MORE after a pause."))
  (should (member (aio-async-test--doc-text 'aio-fixture-undocumented) '(nil "")))
  (should (commandp 'aio-fixture-add))
  (should (equal '(list 1 2) (cadr (interactive-form 'aio-fixture-add))))
  (should (= 1 (function-get 'aio-fixture-add 'lisp-indent-function)))
  (should (get 'aio-fixture-old 'byte-obsolete-info))
  (should (string-match-p "\\`(A B &optional C &rest MORE)"
                          (elisp-get-fnsym-args-string 'aio-fixture-add)))
  (let ((help (save-window-excursion
                (describe-function 'aio-fixture-add)
                (with-current-buffer (help-buffer) (buffer-string)))))
    (should (string-match-p "(aio-fixture-add A B &optional C &rest MORE)" help))
    (should (string-match-p "asynchronous" help)))
  (should (= 10 (aio-test-wait (aio-fixture-add 1 2 3 4)))))

(aio-deftest aio-defun-metadata-from-source ()
  (load aio-async-test--fixture nil t)
  (should-not (byte-code-function-p (symbol-function 'aio-fixture-add)))
  (aio-async-test--check-fixture))

(aio-deftest aio-defun-metadata-byte-compiled ()
  (let* ((dir (make-temp-file "aio-fixture-" t))
         (source (expand-file-name "aio-fixture.el" dir)))
    (unwind-protect
        (progn
          (copy-file aio-async-test--fixture source)
          (let ((byte-compile-log-warning-function #'ignore))
            (should (byte-compile-file source)))
          (load (concat source "c") nil t)
          (should (byte-code-function-p (symbol-function 'aio-fixture-add)))
          (aio-async-test--check-fixture))
      (delete-directory dir t))))

(provide 'aio-async-test)
;;; aio-async-test.el ends here
