;;; aio-edebug-test.el --- Edebug in async functions  -*- lexical-binding: t -*-

;;; Commentary:

;; Instrument async functions as `C-u C-M-x' does, and step through
;; them with keyboard macros, as Emacs's own edebug-tests.el does: a
;; key calls the function and waits for it, and each stop of Edebug is
;; recorded (where it is, and the values of the variables there, as
;; `e' in Edebug would evaluate them).  Stepping must go on after each
;; await, when the function resumes.

;;; Code:

(require 'ert)
(require 'cl-lib)
(require 'edebug)
(require 'kmacro)
(require 'aio)
(require 'aio-test-helpers)

(defconst aio-edebug-test--code
  ";;; -*- lexical-binding: t -*-
(aio-defun aio-edebug-test--fn (x)
  (let ((y (* x 2)))
    (aio-await (aio-sleep 0.01))
    (+ x y)))

(defvar aio-edebug-test--special nil)

(aio-defun aio-edebug-test--on-generator (aio-edebug-test--special)
  (aio-await (aio-sleep 0.01))
  (list aio-edebug-test--special))

(defun aio-edebug-test--maker ()
  (aio-lambda (n)
    (aio-await (aio-sleep 0.01))
    (aio-with-async
      (aio-await (aio-sleep 0.01))
      (* n 10))))
"
  "The code the tests instrument.")

(defvar aio-edebug-test--stops nil
  "The stops of Edebug so far, newest first: (LINE TEXT MODE X Y VALUE).
TEXT is the text at point, MODE `before' or `after', X and Y the values
of the variables `x' and `y' there, or `unbound', VALUE the value
Edebug shows there.")

(defvar aio-edebug-test--value nil
  "The value Edebug is about to show.")

(defun aio-edebug-test--record-value (value &rest _)
  "Note VALUE, which Edebug is about to show."
  (setq aio-edebug-test--value value))

(defvar aio-edebug-test--call nil
  "What the key @ calls and waits for.")

(defvar aio-edebug-test--result nil
  "What the call of the key @ returned.")

(defun aio-edebug-test--record-stop (arg-mode)
  "Record the stop of Edebug at point, in ARG-MODE."
  (push (list (line-number-at-pos)
              (buffer-substring-no-properties (point) (min (point-max) (+ (point) 10)))
              arg-mode
              (condition-case nil (edebug-eval 'x) (error 'unbound))
              (condition-case nil (edebug-eval 'y) (error 'unbound))
              aio-edebug-test--value)
        aio-edebug-test--stops))

(defun aio-edebug-test--keep-macro (function &rest args)
  "Call FUNCTION with ARGS without ending the keyboard macro.
Edebug leaves a stop with `exit-recursive-edit', which would."
  (let ((executing-kbd-macro executing-kbd-macro))
    (apply function args)))

(defun aio-edebug-test--call-and-wait ()
  "Call `aio-edebug-test--call' and wait for its promise."
  (interactive)
  (setq aio-edebug-test--result
        (aio-wait-for (funcall aio-edebug-test--call) 10)))

(defmacro aio-edebug-test--with-code (&rest body)
  "Run BODY in a buffer visiting a file of `aio-edebug-test--code'."
  (declare (indent 0) (debug t))
  `(let ((file (make-temp-file "aio-edebug-" nil ".el" aio-edebug-test--code))
         (edebug-all-defs nil)
         (edebug-all-forms nil)
         (edebug-initial-mode 'step)
         (edebug-continue-kbd-macro t)
         (edebug-sit-on-break nil)
         (edebug-save-windows nil)
         (edebug-trace nil)
         (aio-edebug-test--stops nil)
         (aio-edebug-test--result nil)
         (inhibit-message t)
         (find-file-suppress-same-file-warnings t))
     (advice-add 'edebug--display :before #'aio-edebug-test--record-value)
     (advice-add 'edebug--recursive-edit :before #'aio-edebug-test--record-stop)
     (advice-add 'exit-recursive-edit :around #'aio-edebug-test--keep-macro)
     (unwind-protect
         (with-current-buffer (find-file-noselect file)
           (setq lexical-binding t)
           ,@body)
       (advice-remove 'edebug--display #'aio-edebug-test--record-value)
       (advice-remove 'edebug--recursive-edit #'aio-edebug-test--record-stop)
       (advice-remove 'exit-recursive-edit #'aio-edebug-test--keep-macro)
       (let ((buffer (get-file-buffer file)))
         (when buffer
           (with-current-buffer buffer (set-buffer-modified-p nil))
           (kill-buffer buffer)))
       (delete-file file))))

(defun aio-edebug-test--instrument (regexp)
  "Instrument the definition at REGEXP, as \\[universal-argument] \\[eval-defun]."
  (goto-char (point-min))
  (re-search-forward regexp)
  ;; It prints the name it defines.
  (with-output-to-string
    (eval-defun t)))

(defun aio-edebug-test--run (call keys)
  "Make @ run CALL; execute KEYS, starting with @, as a keyboard macro."
  (setq aio-edebug-test--call call)
  (let ((map (make-sparse-keymap)))
    (define-key map "@" #'aio-edebug-test--call-and-wait)
    (let ((overriding-local-map map))
      (execute-kbd-macro (kbd keys)))))

(defun aio-edebug-test--spaces (n)
  "Return @ followed by N spaces, each a step of Edebug."
  (mapconcat #'identity (cons "@" (make-list n "SPC")) " "))

(aio-deftest aio-edebug-steps-through-an-await-and-sees-variables ()
  (aio-edebug-test--with-code
    (aio-edebug-test--instrument "(aio-defun aio-edebug-test--fn")
    (aio-edebug-test--run (lambda () (aio-edebug-test--fn 1))
                          (aio-edebug-test--spaces 20))
    (should (equal 3 aio-edebug-test--result))
    (let ((stops (reverse aio-edebug-test--stops)))
      ;; It stopped before the await, and again after it.
      (should (cl-find-if (lambda (s) (string-prefix-p "(aio-sleep" (nth 1 s))) stops))
      (let ((after-await (cl-member-if (lambda (s) (string-prefix-p "(+ x y)" (nth 1 s)))
                                       stops)))
        (should after-await)
        ;; After the await, `x' and `y', kept in the frame, are seen.
        (should (equal '(before 1 2) (butlast (cddr (car after-await)))))
        ;; Then the sum.
        (should (cl-find-if (lambda (s) (and (eq (nth 2 s) 'after) (eql 3 (nth 5 s))))
                            after-await)))
      ;; Every stop is in the function, from its first line to its last.
      (should (cl-every (lambda (s) (<= 3 (car s) 5)) stops)))))

(aio-deftest aio-edebug-keeps-the-mode-across-an-await ()
  (aio-edebug-test--with-code
    (aio-edebug-test--instrument "(aio-defun aio-edebug-test--fn")
    ;; `g' (go): no stop after the first, even after the await.
    (aio-edebug-test--run (lambda () (aio-edebug-test--fn 2)) "@ g")
    (should (equal 6 aio-edebug-test--result))
    (should (= 1 (length aio-edebug-test--stops)))))

(aio-deftest aio-edebug-steps-through-a-body-on-generator-el ()
  (aio-edebug-test--with-code
    (aio-edebug-test--instrument "(aio-defun aio-edebug-test--on-generator")
    (aio-edebug-test--run (lambda () (aio-edebug-test--on-generator 'v))
                          (aio-edebug-test--spaces 12))
    (should (equal '(v) aio-edebug-test--result))
    (should (cl-find-if (lambda (s) (string-prefix-p "(list" (nth 1 s)))
                        aio-edebug-test--stops))))

(aio-deftest aio-edebug-steps-into-lambdas-and-with-async-bodies ()
  (aio-edebug-test--with-code
    (aio-edebug-test--instrument "(defun aio-edebug-test--maker")
    (let ((fn (aio-edebug-test--maker)))
      (aio-edebug-test--run (lambda () (aio-await-chain fn 4))
                            (aio-edebug-test--spaces 40)))
    (should (equal 40 aio-edebug-test--result))
    ;; The body of `aio-with-async' was stepped through, after its await.
    (should (cl-find-if (lambda (s) (string-prefix-p "(* n 10)" (nth 1 s)))
                        aio-edebug-test--stops))))

(defun aio-await-chain (fn n)
  "Return a promise of the promise of (FN N), awaited."
  (funcall (aio-lambda () (aio-await (aio-await (funcall fn n))))))

(aio-deftest aio-edebug-says-when-it-cannot-step-in ()
  (let* ((messages nil)
         (odd '((edebug-enter 'f nil (lambda () (aio-await 1))))))
    (cl-letf (((symbol-function 'message)
               (lambda (format &rest args) (push (apply #'format format args) messages))))
      ;; Not stepped into: the body is run without instrumentation.
      (should-not (car (aio--edebug-unwrap odd 'my-function))))
    (should (equal '("Edebug cannot step into my-function: unknown instrumentation")
                   messages))))

(provide 'aio-edebug-test)
;;; aio-edebug-test.el ends here
