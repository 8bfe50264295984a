;;; aio-lint-loads-test.el --- Tests of the lint of late-loaded calls  -*- lexical-binding: t -*-

;;; Commentary:

;; tools/lint-loads.el, the part of `make lint' that finds calls of
;; functions cl-lib loads on first use (cl-extra, cl-seq, seq): the
;; first HTTP request once loaded the byte compiler through `cl-some'.

;;; Code:

(require 'ert)
(require 'aio-test-helpers)
(require 'cl-lib)
(eval-and-compile
  (require 'aio-lint-loads (expand-file-name "../../tools/lint-loads"
                                             (file-name-directory (macroexp-file-name)))))

(aio-deftest aio-lint-loads-finds-late-loaded-calls ()
  (should (equal '(cl-some)
                 (aio-lint--lazy-calls
                  '(defun f (lines) (cl-some (lambda (l) (string-prefix-p "a" l)) lines)))))
  ;; Passed as a function, and inside a macro's arguments.
  (should (equal '(cl-position cl-remove-if)
                 (aio-lint--lazy-calls
                  '(defun f (l x) (when l (list (cl-position x l) (apply #'cl-remove-if #'null l)))))))
  (should (equal '(seq-filter) (aio-lint--lazy-calls '(seq-filter #'identity '(1))))))

(aio-deftest aio-lint-loads-passes-what-loads-nothing ()
  ;; cl-loop and the preloaded functions expand to plain code.
  (should-not (aio-lint--lazy-calls
               '(defun f (lines)
                  (cl-loop for l in lines thereis (string-prefix-p "a" l)))))
  (should-not (aio-lint--lazy-calls '(defun f (l) (memq 'a (mapcar #'car l)))))
  ;; A circular constant does not hang it.
  (let ((ring (list 1 2)))
    (setcdr (cdr ring) ring)
    (should-not (aio-lint--lazy-calls (list 'quote ring)))))

(aio-deftest aio-lint-loads-names-file-and-line ()
  (let ((file (make-temp-file "aio-lint-loads" nil ".el"
                              ";;; x.el -*- lexical-binding: t -*-\n\n(defun a () 1)\n\n;; Why.\n(defun b (l)\n  (cl-some #'car l))\n")))
    (unwind-protect
        (let ((problems (aio-lint-loads file)))
          (should (= 1 (length problems)))
          (should (string-match-p (concat "\\`" (regexp-quote file) ":6: `cl-some' is loaded from cl-extra")
                                  (car problems))))
      (delete-file file))))

(provide 'aio-lint-loads-test)
;;; aio-lint-loads-test.el ends here
