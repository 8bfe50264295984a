;;; aio-examples-test.el --- Every example runs and shows what it says  -*- lexical-binding: t; -*-

;;; Commentary:

;; Runs each file of examples/ in its own `emacs -Q --batch', as its
;; commentary says to, and checks its exit status and a line it must
;; print.

;;; Code:

(require 'ert)
(require 'aio-test-helpers)

(defconst aio-examples-test--root
  (expand-file-name "../.." (file-name-directory (or load-file-name buffer-file-name)))
  "The top of the source tree.")

(defun aio-examples-test--run (file)
  "Run examples/FILE in a fresh batch Emacs; return (STATUS . OUTPUT).
The library is loaded from where this Emacs loaded it: from source,
byte-compiled or native-compiled, as the test run asks."
  (with-temp-buffer
    (let* ((default-directory aio-examples-test--root)
           (lisp (file-name-directory (locate-library "aio")))
           (status (call-process (expand-file-name invocation-name invocation-directory)
                                 nil t nil "-Q" "--batch" "-L" lisp "-L" "examples"
                                 "-l" (concat "examples/" file))))
      (cons status (buffer-string)))))

(defmacro aio-examples-test--deftest (file &rest regexps)
  "Define a test that runs examples/FILE and expects each of REGEXPS."
  (declare (indent 1))
  `(ert-deftest ,(intern (concat "aio-example-" (file-name-sans-extension file))) ()
     (let ((result (aio-examples-test--run ,file)))
       (should (equal (car result) 0))
       (dolist (re (list ,@regexps))
         (should (string-match-p re (cdr result)))))))

(aio-examples-test--deftest "demo.el"
  "^   (1 2 3 5 7 9)$"
  "(4 in flight)"
  "^3\\. Done: 78000 bytes in 12 files; native operations pending: 0$")

(aio-examples-test--deftest "sleep-sort.el"
  "^out: ")

(aio-examples-test--deftest "process-lines.el"
  "^got: line 1\ngot: line 2\ngot: line 3\ngot: line 4\ngot: line 5\nexit status: 0$")

(aio-examples-test--deftest "grep-as-you-type.el"
  "^Searches started: 24, canceled before they finished: \\([2-9]\\|[1-9][0-9]+\\)$"
  "^1 match for \"(defun aio-stream-lines \":\naio-stream\.el:[0-9]+:(defun aio-stream-lines (stream"
  "^grep processes left: 0$")

(aio-examples-test--deftest "timeout.el"
  "A fast page with a 2 s limit: 200$"
  "cleanup ran for .*/slow"
  "A page that never comes, with a 0\\.5 s limit: too-slow$")

(aio-examples-test--deftest "task-group.el"
  "^=> (a b c)$"
  "^  c is done (finished, failed or cancelled)\n=> (caught \"Worker b failed\")$")

(aio-deftest aio-example-sleep-sort-sorts ()
  (let* ((output (cdr (aio-examples-test--run "sleep-sort.el")))
         (in (progn (string-match "^in:  \\(.*\\)$" output)
                    (read (match-string 1 output))))
         (out (progn (string-match "^out: \\(.*\\)$" output)
                     (read (match-string 1 output)))))
    (should (= (length in) 20))
    (should (equal out (sort (copy-sequence in) #'<)))))

(aio-deftest aio-examples-all-have-a-test ()
  (dolist (file (directory-files (expand-file-name "examples" aio-examples-test--root)
                                 nil "\\.el\\'"))
    (unless (equal file "local-server.el")
      (should (ert-get-test (intern (concat "aio-example-"
                                            (file-name-sans-extension file))))))))

(provide 'aio-examples-test)
;;; aio-examples-test.el ends here
