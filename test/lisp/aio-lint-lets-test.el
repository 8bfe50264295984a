;;; aio-lint-lets-test.el --- Tests of the lint of let bindings  -*- lexical-binding: t -*-

;;; Commentary:

;; tools/lint-lets.el, the part of `make lint' that finds `let'
;; bindings a user's `defvar' would break: closures capturing an
;; unprefixed `let' variable, and `let's rebinding an argument, seen
;; through macros.

;;; Code:

(require 'ert)
(require 'aio)
(require 'aio-test-helpers)
(eval-and-compile
  (require 'aio-lint-lets (expand-file-name "../../tools/lint-lets"
                                            (file-name-directory (macroexp-file-name)))))

(defun aio-lint-lets-test--hazards (form)
  "Return the hazards of FORM, expanded as the lint expands it."
  (aio-lint--hazards (aio-lint--expand form)))

(aio-deftest aio-lint-lets-finds-the-settled-capture ()
  ;; The shape of `aio-all-settled' before the fix.
  (should (equal '((pending . let) (settled . let))
                 (aio-lint-lets-test--hazards
                  '(defun f (promises)
                     (let* ((settled (aio-promise))
                            (pending (length promises)))
                       (dolist (p promises)
                         (aio-listen p (lambda (_)
                                         (when (zerop (setq pending (1- pending)))
                                           (aio-resolve settled #'ignore)))))
                       settled)))))
  ;; With the package prefix, or through arguments, nothing.
  (should-not (aio-lint-lets-test--hazards
               '(defun f (p)
                  (let ((aio--settled (aio-promise)))
                    (aio-listen p (lambda (vf) (aio-resolve aio--settled vf)))
                    aio--settled))))
  (should-not (aio-lint-lets-test--hazards
               '(defun f (p)
                  (let ((settled (aio-promise)))
                    (aio-listen p (apply-partially #'aio-resolve settled))
                    settled)))))

(aio-deftest aio-lint-lets-arguments-and-condition-case-are-safe ()
  (should-not (aio-lint-lets-test--hazards
               '(defun f (x &optional y &rest z) (lambda () (list x y z)))))
  (should-not (aio-lint-lets-test--hazards
               '(defun f () (condition-case err (car 1) (error (lambda () err))))))
  ;; A lambda that runs before the `let' ends is no closure.
  (should-not (aio-lint-lets-test--hazards
               '(defun f (l) (let ((n 0)) (mapc (lambda (x) (setq n (+ n x))) l) n))))
  ;; A variable no lambda refers to.
  (should-not (aio-lint-lets-test--hazards
               '(defun f (l) (let ((n (length l))) (lambda () l) n)))))

(aio-deftest aio-lint-lets-sees-through-macros ()
  (dolist (case '(((defun f (l) (dolist (x l) (push (lambda () x) l))) . x)
                  ((defun f (l) (dotimes (k 3) (push (lambda () k) l))) . k)
                  ((defun f (l) (pcase-let ((`(,a) l)) (lambda () a))) . a)
                  ((defun f (l) (cl-loop for x in l collect (lambda () x))) . x)
                  ((cl-defun f (&key k) (lambda () k)) . k)
                  ((cl-defun f (&optional (k 1)) (lambda () k)) . k)
                  ;; Unfolded into a `let' by `macroexpand-all'.
                  ((defun f (v) (funcall (lambda (y) (lambda () y)) v)) . y)))
    (should (equal (list (cons (cdr case) 'let))
                   (aio-lint-lets-test--hazards (car case))))))

(aio-deftest aio-lint-lets-sees-through-async-bodies ()
  ;; A `let' around an await goes into the frame, unless its variable
  ;; is special: the lint lowers as if every unprefixed one were.
  (should (equal '((x . let))
                 (aio-lint-lets-test--hazards
                  '(aio-defun f (p) (let ((x 1)) (aio-await p) (lambda () x))))))
  (should (equal '((x . let))
                 (aio-lint-lets-test--hazards
                  '(aio-lambda (p) (let ((x 1)) (lambda () x))))))
  (should-not (aio-lint-lets-test--hazards
               '(aio-defun f (p) (let ((aio--x 1)) (aio-await p) (lambda () aio--x)))))
  (should-not (aio-lint-lets-test--hazards
               '(aio-defun f (p) (let ((x 1)) (aio-await p) x))))
  ;; The advice that does it is gone afterwards.
  (should-not (advice-member-p #'aio-lint--co-special-p 'aio--co-special-p))
  (should-not (advice-member-p #'aio-lint--co-let 'aio--co-let)))

(aio-deftest aio-lint-lets-finds-rebound-arguments ()
  (should (equal '((x . shadow))
                 (aio-lint-lets-test--hazards
                  '(defun f (x) (let ((x (1+ x))) (* x 2))))))
  (should (equal '((x . shadow))
                 (aio-lint-lets-test--hazards
                  '(defun f (x) (dolist (x (list x)) (print x))))))
  (should (equal '((err . shadow))
                 (aio-lint-lets-test--hazards
                  '(defun f () (condition-case err (car 1)
                                 (error (let ((err (cdr err))) err)))))))
  ;; Rebinding a `let' variable is fine: both go dynamic together.
  (should-not (aio-lint-lets-test--hazards
               '(defun f () (let ((x 1)) (let ((x 2)) x))))))

(aio-deftest aio-lint-lets-finds-closures-on-special-variables ()
  (should (equal '((aio-native--trackers . dynamic))
                 (aio-lint-lets-test--hazards
                  '(defun f () (let ((aio-native--trackers '(me)))
                                 (lambda () aio-native--trackers)))))))

(aio-deftest aio-lint-lets-reports-file-lines-and-names ()
  (let ((file (make-temp-file "aio-lint-lets-" nil ".el")))
    (unwind-protect
        (progn
          (with-temp-file file
            (insert ";;; x.el  -*- lexical-binding: t -*-\n"
                    "(defvar aio-lint-lets-test--declared)\n"
                    "(defun aio-lint-lets-test--a (p)\n"
                    "  \"Settled is in the docstring, not the code.\"\n"
                    "  (let ((settled (aio-promise))\n"
                    "        (aio-lint-lets-test--declared 1))\n"
                    "    (aio-listen p (lambda (vf) (aio-resolve settled vf)))\n"
                    "    (lambda () aio-lint-lets-test--declared)))\n"
                    "(defun aio-lint-lets-test--b () (aio-await 1))\n"))
          (let ((found (aio-lint-lets file)))
            (should (equal '((5 aio-lint-lets-test--a settled let)
                             (6 aio-lint-lets-test--a aio-lint-lets-test--declared dynamic))
                           (butlast found)))
            ;; A form that does not expand is reported, not fatal.
            (should (equal '(9 aio-lint-lets-test--b) (butlast (car (last found)) 2)))
            (should (eq 'error (nth 3 (car (last found)))))
            (should (string-match-p
                     "\\`x.el:5: aio-lint-lets-test--a: a closure captures `settled'"
                     (aio-lint-lets-message "x.el" (car found))))))
      (delete-file file))))

(provide 'aio-lint-lets-test)
;;; aio-lint-lets-test.el ends here
