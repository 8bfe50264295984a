;;; aio-coroutine-test.el --- Tests of the lean generators  -*- lexical-binding: t -*-

;;; Commentary:

;; Each body here runs as an `aio-lambda' four ways: lowered by
;; aio-coroutine.el and by generator.el, each interpreted and
;; byte-compiled.  The four must agree on the value or error and on
;; the order of the side effects, logged in `log'; and the value is
;; also checked against what the body means.

;;; Code:

(require 'ert)
(require 'aio)
(require 'aio-test-helpers)

(defvar aio-coroutine-test--special 'global
  "A dynamic variable, which the lean lowering leaves to generator.el.")

(defun aio-coroutine-test--run (body lean compiled)
  "Run BODY in an `aio-lambda', LEAN or with generator.el, maybe COMPILED.
Return (value VALUE LOG) or (error CONDITION LOG)."
  (let* ((aio--lean-coroutines lean)
         (form `(lambda ()
                  (let ((log nil))
                    (condition-case err
                        (list 'value
                              (aio-wait-for (funcall (aio-lambda () ,@body)) 10)
                              (reverse log))
                      (error (list 'error err (reverse log)))))))
         (fn (if compiled
                 (byte-compile form)
               (eval form t))))
    (funcall fn)))

(defun aio-coroutine-test--check (expected body &optional lean-only)
  "Check that BODY gives EXPECTED, (value ...) or (error ...), four ways.
With LEAN-ONLY, only the two ways of aio-coroutine.el: for bodies that
generator.el gets wrong."
  (dolist (lean (if lean-only '(t) '(t nil)))
    (dolist (compiled '(nil t))
      (should (equal (list lean compiled expected)
                     (list lean compiled
                           (aio-coroutine-test--run body lean compiled)))))))

(aio-deftest aio-coroutine-let-shadowing-and-order ()
  (aio-coroutine-test--check
   '(value (1 2 1) (inner outer))
   '((let ((x 1) (r nil))
       (let ((x 2))
         (aio-await (aio-sleep 0))
         (push 'inner log)
         (push x r))
       (push 'outer log)
       (push x r)
       (list x (cadr r) (car r)))))
  (aio-coroutine-test--check
   '(value (1 3 5) nil)
   '((let* ((a (aio-await (aio-sleep 0 1)))
            (b (+ a (aio-await (aio-sleep 0 2))))
            (a (+ b (aio-await (aio-sleep 0 2)))))
       (list (- a 4) b a)))))

(aio-deftest aio-coroutine-argument-order ()
  ;; Arguments before an await are taken before it runs.  generator.el
  ;; takes X after the await: (2 2 2).
  (aio-coroutine-test--check
   '(value (1 2 2) (a b))
   '((let ((x 1))
       (list x
             (progn (setq x 2) (push 'a log) (aio-await (aio-sleep 0 x)))
             (progn (push 'b log) x))))
   'lean-only)
  ;; generator.el sets B from the A of before the await.
  (aio-coroutine-test--check
   '(value (1 2) nil)
   '((let (a b)
       (setq a (aio-await (aio-sleep 0 1)) b (1+ a))
       (list a b)))
   'lean-only))

(aio-deftest aio-coroutine-and-or-cond-prog1-setq ()
  (aio-coroutine-test--check
   '(value (3 2 5 1 (1 2)) nil)
   '((let ((x 1) a b)
       (list (or nil (aio-await (aio-sleep 0 nil)) 3)
             (and 1 (aio-await (aio-sleep 0 2)))
             (cond ((aio-await (aio-sleep 0 nil)) 'no)
                   ((aio-await (aio-sleep 0 5)))
                   (t 'no))
             (setq x (prog1 x (setq x (aio-await (aio-sleep 0 9)))))
             (progn (setq a (aio-await (aio-sleep 0 1)))
                    (setq b (1+ a))
                    (list a b)))))))

(aio-deftest aio-coroutine-if-and-while ()
  (aio-coroutine-test--check
   '(value else (e))
   '((if (aio-await (aio-sleep 0 nil))
         'then
       (push 'e log)
       (aio-await (aio-sleep 0 'else)))))
  (aio-coroutine-test--check
   '(value (a nil b) nil)
   '((list (if (aio-await (aio-sleep 0 t)) 'a 'b)
           (if (aio-await (aio-sleep 0 nil)) 'a)
           (if (aio-await (aio-sleep 0 nil)) 'a (ignore) 'b))))
  ;; A `let' without an await in a loop binds afresh each time.
  (aio-coroutine-test--check
   '(value (2 1 0) (0 1 2))
   '((let ((i 0) fns)
       (while (< i 3)
         (push (aio-await (aio-sleep 0 i)) log)
         (let ((j i)) (push (lambda () j) fns))
         (setq i (1+ i)))
       (mapcar #'funcall fns))))
  (aio-coroutine-test--check
   '(value 3 nil)
   '((let ((n 0))
       (dotimes (_ 3) (aio-await (aio-sleep 0)) (setq n (1+ n)))
       n))))

(aio-deftest aio-coroutine-condition-case ()
  (aio-coroutine-test--check
   '(value (caught ignored outer) (body handler))
   '((let ((err 'outer))
       (list (condition-case err
                 (progn (push 'body log)
                        (aio-await (aio-sleep 0))
                        (signal 'arith-error '(1)))
               (arith-error (push 'handler log)
                            (aio-await (aio-sleep 0 'caught))))
             (condition-case err
                 (aio-await (aio-sleep 0 'ignored))
               (error err))
             err))))
  ;; The error of an awaited promise is caught where it was awaited.
  (aio-coroutine-test--check
   '(value (wrong-type-argument x) nil)
   '((condition-case e
         (aio-await (aio-with-async (signal 'wrong-type-argument '(x))))
       (wrong-type-argument e))))
  ;; An error no handler takes ends the function.
  (aio-coroutine-test--check
   '(error (void-function no-such-function) (before))
   '((condition-case nil
         (progn (push 'before log)
                (aio-await (aio-sleep 0))
                (no-such-function)
                (push 'after log))
       (arith-error 'wrong-handler)))))

(aio-deftest aio-coroutine-unwind-protect ()
  (aio-coroutine-test--check
   '(value 7 (body cleanup))
   '((unwind-protect (progn (push 'body log) (aio-await (aio-sleep 0 7)))
       (push 'cleanup log))))
  (aio-coroutine-test--check
   '(value "x" (body cleanup handler))
   '((condition-case e
         (unwind-protect
             (progn (push 'body log) (aio-await (aio-sleep 0)) (error "x"))
           (push 'cleanup log))
       (error (push 'handler log) (cadr e)))))
  ;; The cleanup runs before the value is stored.
  (aio-coroutine-test--check
   '(value (1 1) nil)
   '((let ((x 0))
       (list (setq x (unwind-protect (aio-await (aio-sleep 0 1)) (setq x 5)))
             x)))))

(aio-deftest aio-coroutine-catch-and-throw ()
  (aio-coroutine-test--check
   '(value 3 (0 1 2 3))
   '((catch 'done
       (dotimes (i 10)
         (push (aio-await (aio-sleep 0 i)) log)
         (when (= i 3) (throw 'done i))))))
  (aio-coroutine-test--check
   '(value (4 finished) nil)
   '((list (cl-loop for i from 0
                    when (>= (aio-await (aio-sleep 0 i)) 4) return i)
           (catch 'never (aio-await (aio-sleep 0)) 'finished)))))

(aio-deftest aio-coroutine-closures-and-dynamic-bindings ()
  ;; A lambda's own argument is not the hoisted variable.
  (aio-coroutine-test--check
   '(value (5 1 2) nil)
   '((let ((x 1))
       (aio-await (aio-sleep 0))
       (let ((f (lambda (x) x))
             (g (lambda () (setq x (1+ x)))))
         (list (funcall f 5) x (funcall g))))))
  ;; A dynamic binding around an await holds in the body each time,
  ;; keeps what the body sets, and is not seen while the body is paused.
  (aio-coroutine-test--check
   '(value ((mine mine set) global (global global)) nil)
   '((let* ((seen nil)
            (peek (aio-with-async
                    (aio-await (aio-sleep 0.001))
                    (push aio-coroutine-test--special seen)
                    (aio-await (aio-sleep 0.02))
                    (push aio-coroutine-test--special seen))))
       (list (let ((aio-coroutine-test--special 'mine))
               (let ((before aio-coroutine-test--special))
                 (aio-await (aio-sleep 0.01))
                 (let ((after aio-coroutine-test--special))
                   (setq aio-coroutine-test--special 'set)
                   (aio-await (aio-sleep 0.02))
                   (list before after aio-coroutine-test--special))))
             aio-coroutine-test--special
             (progn (aio-await peek) seen)))))
  (aio-coroutine-test--check
   '(value (a . b) nil)
   '((with-temp-buffer
       (insert "a")
       (let ((a (buffer-string)))
         (aio-await (aio-sleep 0))
         (erase-buffer)
         (insert "b")
         (cons (intern a) (intern (buffer-string))))))))

(defvar aio-coroutine-test--unbound)

(aio-deftest aio-coroutine-setq-of-a-dynamic-let ()
  ;; The value of the `let' goes to the variable outside it.
  (aio-coroutine-test--check
   '(value (val val) nil)
   '((unwind-protect
         (list (setq aio-coroutine-test--special
                     (let ((aio-coroutine-test--special 'inner))
                       (aio-await (aio-sleep 0))
                       'val))
               aio-coroutine-test--special)
       (setq aio-coroutine-test--special 'global))))
  ;; Reading a void variable signals, even when the value is not used.
  (aio-coroutine-test--check
   '(error (void-variable aio-coroutine-test--unbound) nil)
   '((progn aio-coroutine-test--unbound (aio-await (aio-sleep 0)) 1))))

(aio-deftest aio-coroutine-duplicate-let-variable ()
  ;; Of two bindings of one name in a `let', the later one is seen.
  (aio-coroutine-test--check
   '(value 2 nil)
   '((let ((x 1) (x 2)) (aio-await (aio-sleep 0)) x))
   'lean-only))

(aio-deftest aio-coroutine-compiled-file ()
  ;; Awaits whose value is dropped and an unused `_' argument compile
  ;; without warnings; a variable made special by a local `defvar' is
  ;; bound dynamically around an await.
  (let* ((file (make-temp-file "aio-coroutine" nil ".el"))
         (byte-compile-error-on-warn t)
         (byte-compile-log-buffer (generate-new-buffer " *aio-compile-log*")))
    (unwind-protect
        (progn
          (with-temp-file file
            (insert ";;; -*- lexical-binding: t -*-\n"
                    ;; Special in this file only.
                    "(defvar aio-coroutine-test--local)\n"
                    (prin1-to-string
                     '(aio-defun aio-coroutine-test--local-binding ()
                        (let ((aio-coroutine-test--local 'bound))
                          (aio-await (aio-sleep 0))
                          (symbol-value 'aio-coroutine-test--local))))
                    "\n"
                    (prin1-to-string
                     '(aio-defun aio-coroutine-test--quiet (_ignored xs)
                        (let (acc x)
                          (dolist (y xs)
                            (push (aio-await (aio-sleep 0 y)) acc)
                            (setq x (aio-await (aio-sleep 0 y)))
                            (if (aio-await (aio-sleep 0 y)) x))
                          acc)))
                    "\n"))
          (should (byte-compile-file file))
          (load (concat file "c") nil t)
          (should (equal '(2 1)
                         (aio-test-wait (aio-coroutine-test--quiet 'a '(1 2)))))
          (should (eq 'bound (aio-test-wait (aio-coroutine-test--local-binding))))
          (should-not (boundp 'aio-coroutine-test--local)))
      (delete-file file)
      (delete-file (concat file "c"))
      (kill-buffer byte-compile-log-buffer))))

(aio-deftest aio-coroutine-which-bodies-are-lowered ()
  (let ((var (make-symbol "v")))
    (should (aio--coroutine var '(a) '(list (iter-yield a) 2)))
    (should (aio--coroutine
             var nil '(let ((aio-coroutine-test--special 1)) (iter-yield 1) 2)))
    ;; A dynamic argument or `condition-case' variable: generator.el.
    (should-not (aio--coroutine var '(aio-coroutine-test--special) '(iter-yield 1)))
    (should-not (aio--coroutine
                 var nil '(condition-case aio-coroutine-test--special (iter-yield 1)
                            (error 2))))
    (let ((aio--lean-coroutines nil))
      (should-not (aio--coroutine var nil '(iter-yield 1))))
    ;; A frame runs to each pause, then to its end.
    (let* ((lowered (aio--coroutine var '(a &optional b)
                                    '(list (iter-yield a) (iter-yield b))))
           (frame (apply #'vector (eval (car lowered) t)
                         (eval `(let ((a 1) (b 2)) (list ,@(cdr lowered))) t))))
      (should (equal 1 (aio--step-frame frame nil)))
      (should (equal 2 (aio--step-frame frame 'x)))
      (should (aref frame 1))
      (should (equal '(x y) (aio--step-frame frame 'y)))
      (should-not (aref frame 1))
      (should-error (aio--step-frame frame nil)))))

(provide 'aio-coroutine-test)
;;; aio-coroutine-test.el ends here
