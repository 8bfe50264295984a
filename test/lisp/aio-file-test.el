;;; aio-file-test.el --- Tests of aio-file-*  -*- lexical-binding: t; -*-

;;; Commentary:

;; Every operation against real files in a temporary directory, its
;; results and its errors compared with those of Emacs's own functions.
;; AIO_TEST_LARGE=1 makes the big cases full size (a 1 GiB read, a walk
;; of 100,000 files); `make test' runs them small.

;;; Code:

(require 'ert)
(require 'cl-lib)
(require 'aio)
(require 'aio-test-helpers)

(defvar aio-file-test--dir nil
  "The temporary directory of the test running.")

(defconst aio-file-test--temporary-directory
  (if (file-writable-p "/dev/shm/") "/dev/shm/" temporary-file-directory)
  "Where the tests make their files: in memory where there is such a
file system, since making thousands of files on a disk takes seconds.")

(defmacro aio-file-test--with-dir (&rest body)
  "Run BODY with `aio-file-test--dir' a fresh directory, removed after."
  (declare (indent 0) (debug t))
  `(let ((aio-file-test--dir
          (file-name-as-directory
           (let ((temporary-file-directory aio-file-test--temporary-directory))
             (make-temp-file "aio-file-test-" t)))))
     (unwind-protect (progn ,@body)
       (delete-directory aio-file-test--dir t))))

(defun aio-file-test--path (name)
  "Return NAME in the test's directory."
  (expand-file-name name aio-file-test--dir))

(defun aio-file-test--spit (name contents &optional coding)
  "Write CONTENTS to NAME in the test's directory with CODING; return its path."
  (let ((path (aio-file-test--path name))
        (coding-system-for-write (or coding 'utf-8-unix)))
    (write-region contents nil path nil 'silent)
    path))

(defun aio-file-test--slurp (path)
  "Return the text of PATH as `insert-file-contents' decodes it."
  (with-temp-buffer
    (insert-file-contents path)
    (buffer-string)))

(defun aio-file-test--emacs-error (function &rest args)
  "Return the error Emacs's FUNCTION signals for ARGS, or nil."
  (condition-case err
      (progn (with-temp-buffer (apply function args)) nil)
    (error err)))

(defun aio-file-test--lines (n)
  "Return N lines of multibyte text, each different."
  (mapconcat (lambda (i) (format "línea %d — ünïcödé text €\n" i))
             (number-sequence 1 n) ""))

(defun aio-file-test--emacs-command (&rest forms)
  "Return the command line of a batch Emacs with `aio' that evaluates FORMS."
  (append (list (expand-file-name invocation-name invocation-directory)
                "-Q" "--batch" "-L" (file-name-directory (locate-library "aio"))
                "--eval" "(setq native-comp-deferred-compilation nil)"
                "-l" "aio")
          (mapcan (lambda (form) (list "--eval" (prin1-to-string form))) forms)))

(defun aio-file-test--large-p ()
  "Return non-nil when the big cases run full size."
  (equal (getenv "AIO_TEST_LARGE") "1"))

;;;; Reading

(aio-deftest aio-file-read-text-bytes-and-ranges ()
  (aio-file-test--with-dir
    (let ((path (aio-file-test--spit "a.txt" (aio-file-test--lines 100))))
      (should (equal (aio-test-wait (aio-file-read path)) (aio-file-test--slurp path)))
      (let ((bytes (aio-test-wait (aio-file-read path :as 'bytes))))
        (should-not (multibyte-string-p bytes))
        (should (equal bytes (encode-coding-string (aio-file-test--lines 100) 'utf-8))))
      (should (equal (aio-test-wait (aio-file-read path :as 'bytes :start 2 :end 7))
                     (substring (encode-coding-string (aio-file-test--lines 1) 'utf-8) 2 7)))
      (should (equal (aio-test-wait (aio-file-read path :start 0 :end 6)) "línea"))
      (should (equal (aio-test-wait (aio-file-read (aio-file-test--spit "e" ""))) "")))))

(aio-deftest aio-file-read-decodes-as-insert-file-contents ()
  (aio-file-test--with-dir
    ;; A coding cookie, a BOM, and a file Emacs must guess.
    (dolist (case '(("latin.txt" ";; -*- coding: latin-1 -*-\ncafé\n" latin-1)
                    ("bom.txt" "\ufeffmit BOM: ünïcödé\n" utf-8-with-signature)
                    ("crlf.txt" "one\ntwo\n" utf-8-dos)
                    ("guess.txt" "plain ascii then é\n" utf-8)))
      (let ((path (aio-file-test--spit (nth 0 case) (nth 1 case) (nth 2 case))))
        (should (equal (aio-test-wait (aio-file-read path)) (aio-file-test--slurp path)))
        (let ((buffer (aio-test-wait (aio-file-read path :as 'buffer))))
          (unwind-protect
              (should (equal (with-current-buffer buffer (buffer-string))
                             (aio-file-test--slurp path)))
            (kill-buffer buffer)))))
    (let ((path (aio-file-test--spit "x" "café" 'utf-8)))
      (should (equal (aio-test-wait (aio-file-read path :coding 'latin-1))
                     (decode-coding-string (encode-coding-string "café" 'utf-8) 'latin-1)))
      (let ((coding-system-for-read 'latin-1))
        (should (equal (aio-test-wait (aio-file-read path)) "cafÃ©"))))))

(aio-deftest aio-file-read-into-a-buffer-in-many-pieces ()
  (aio-file-test--with-dir
    ;; About 1.6 MiB: several pieces, each ending after a newline, so
    ;; that no character is split between two.
    (let* ((text (aio-file-test--lines 40000))
           (bytes (encode-coding-string text 'utf-8))
           (path (aio-file-test--spit "big.txt" text))
           (ends nil))
      (cl-letf* ((insert-piece (symbol-function 'aio-file--insert-piece))
                 ((symbol-function 'aio-file--insert-piece)
                  (lambda (state end) (push end ends) (funcall insert-piece state end))))
        (let ((buffer (aio-test-wait (aio-file-read path :as 'buffer))))
          (unwind-protect
              (with-current-buffer buffer
                (should (equal (buffer-string) text))
                (should (= (point) (point-min)))
                (should-not (buffer-modified-p)))
            (kill-buffer buffer))))
      (should (> (length ends) 1))
      (should (= (car ends) (length bytes)))
      (dolist (end ends)
        (should (eq (aref bytes (1- end)) ?\n)))
      ;; Bytes: a unibyte buffer, as `insert-file-contents-literally'.
      (let ((buffer (aio-test-wait (aio-file-read path :as 'buffer :coding 'no-conversion))))
        (unwind-protect
            (with-current-buffer buffer
              (should-not enable-multibyte-characters)
              (should (equal (buffer-string) bytes)))
          (kill-buffer buffer))))))

(aio-deftest aio-file-read-of-an-empty-file-is-an-empty-string ()
  (aio-file-test--with-dir
    (let ((empty (aio-file-test--spit "empty" "")))
      (should (equal (aio-test-wait (aio-file-read empty :as 'bytes)) ""))
      (should (equal (aio-test-wait (aio-file-read empty)) "")))))

(aio-deftest aio-file-a-fifo-without-a-peer-settles-at-once ()
  ;; Found by the probe matrix: these never settled, and held a thread
  ;; of the loop's pool until someone opened the FIFO's other end.
  (aio-file-test--with-dir
    (let ((fifo (aio-file-test--path "fifo")))
      (should (eql (call-process "mkfifo" nil nil nil fifo) 0))
      (should (equal (aio-test-wait (aio-file-read fifo :as 'bytes)) ""))
      (dolist (as '(text buffer))
        (should (equal (cdr (should-error (aio-test-wait (aio-file-read fifo :as as))
                                          :type 'file-error))
                       (list "Not a regular file" "Invalid argument" fifo))))
      (should-error (aio-test-wait (aio-file-write fifo "x")) :type 'file-error)
      (should-error (aio-test-wait (aio-file-copy fifo (aio-file-test--path "copy")))
                    :type 'file-error)
      (should (zerop (plist-get (aio-native-stats) :files-pending))))))

(aio-deftest aio-file-read-into-an-existing-buffer-at-point ()
  (aio-file-test--with-dir
    (let ((path (aio-file-test--spit "in.txt" (aio-file-test--lines 20000))))
      (with-temp-buffer
        (insert "before|after")
        (goto-char 7)
        (should (eq (aio-test-wait (aio-file-read path :as 'buffer :buffer (current-buffer)))
                    (current-buffer)))
        (should (= (point) 7))
        (should (equal (buffer-string)
                       (concat "before" (aio-file-test--lines 20000) "|after")))))))

(aio-deftest aio-file-read-keeps-emacs-responsive ()
  ;; Timers run while a large file is being inserted: the buffer is
  ;; seen part full from a timer.  (The longest gap is measured by
  ;; `make bench'.)
  (aio-file-test--with-dir
    (let* ((size (if (aio-file-test--large-p) (* 1024 1024 1024) (* 32 1024 1024)))
           (path (aio-file-test--path "huge.bin"))
           (seen nil)
           (buffer (generate-new-buffer " *aio-file-test*"))
           (timer nil))
      (with-temp-buffer
        (set-buffer-multibyte nil)
        (insert (make-string (* 1024 1024) ?x))
        (let ((coding-system-for-write 'no-conversion))
          (write-region nil nil path nil 'silent)
          (dotimes (_ (1- (/ size (* 1024 1024))))
            (write-region nil nil path t 'silent))))
      (unwind-protect
          (progn
            (with-current-buffer buffer (set-buffer-multibyte nil))
            (setq timer (run-at-time 0.01 0.01
                                     (lambda () (push (buffer-size buffer) seen))))
            (aio-wait-for (aio-file-read path :as 'buffer :buffer buffer
                                         :coding 'no-conversion)
                          120)
            (should (= (buffer-size buffer) size))
            (should (cl-some (lambda (n) (< 0 n size)) seen)))
        (cancel-timer timer)
        (kill-buffer buffer)))))

(aio-deftest aio-file-read-errors-are-those-of-insert-file-contents ()
  (aio-file-test--with-dir
    (let ((missing (aio-file-test--path "missing"))
          (file (aio-file-test--spit "f" "x")))
      (dolist (path (list missing aio-file-test--dir (concat file "/below")))
        (let ((expected (aio-file-test--emacs-error #'insert-file-contents path)))
          (should expected)
          (dolist (as '(text bytes buffer))
            (should (equal (aio-test-error (aio-file-read path :as as)) expected))))))
    (should-error (aio-file-read 'x) :type 'wrong-type-argument)
    (should-error (aio-file-read "/tmp" :as 'nope) :type 'args-out-of-range)
    (should-error (aio-file-read "/tmp" :start 5 :end 2) :type 'args-out-of-range)
    (should-error (aio-file-read "/tmp" :start -1) :type 'wrong-type-argument)
    (should-error (aio-file-read "/tmp" :coding 'no-such-coding) :type 'coding-system-error)))

(defun aio-file-test--as-nobody (form)
  "Return what FORM prints when run by a batch Emacs as user nobody.
FORM is evaluated with `aio' loaded from where this Emacs loads it."
  (with-temp-buffer
    (apply #'call-process "setpriv" nil '(t nil) nil
           "--reuid=65534" "--regid=65534" "--clear-groups"
           (aio-file-test--emacs-command form))
    (goto-char (point-min))
    (read (current-buffer))))

(aio-deftest aio-file-read-permission-denied ()
  ;; As root every file is readable: a child Emacs runs as nobody then.
  (aio-file-test--with-dir
    (let ((path (aio-file-test--spit "secret" "x")))
      (set-file-modes path 0)
      (set-file-modes aio-file-test--dir #o755)
      (let ((form `(prin1 (list (condition-case err
                                    (progn (aio-wait-for (aio-file-read ,path)) nil)
                                  (error err))
                                (condition-case err
                                    (with-temp-buffer (insert-file-contents ,path) nil)
                                  (error err))))))
        (pcase-let ((`(,ours ,emacs)
                     (if (zerop (user-uid))
                         (progn (skip-unless (executable-find "setpriv"))
                                (aio-file-test--as-nobody form))
                       (read (with-output-to-string (eval form t))))))
          (should (equal ours emacs))
          (should (memq (car ours) '(file-error permission-denied)))
          (should (member "Opening input file" ours)))))))

(aio-deftest aio-file-read-cancel-kills-its-buffer ()
  (aio-file-test--with-dir
    (let* ((path (aio-file-test--spit "c.txt" (aio-file-test--lines 20000)))
           (before (buffer-list))
           (promise (aio-file-read path :as 'buffer)))
      (aio-cancel promise)
      (should (aio-test-canceled-p promise))
      (aio-test-settle)
      (should (equal (buffer-list) before))
      (aio-test-quiesce)
      (should (zerop (plist-get (aio-native-stats) :files-pending))))))

(defvar aio-file-test--handled nil
  "Operations the test file name handler saw.")

(defun aio-file-test--handler (operation &rest args)
  "A file name handler that notes OPERATION and runs it with ARGS."
  (push operation aio-file-test--handled)
  (let ((inhibit-file-name-handlers (cons #'aio-file-test--handler inhibit-file-name-handlers))
        (inhibit-file-name-operation operation))
    (apply operation args)))

(defmacro aio-file-test--with-handler (&rest body)
  "Run BODY with names of the test's directory handled by a handler."
  (declare (indent 0) (debug t))
  `(let ((file-name-handler-alist
          (cons (cons (regexp-quote aio-file-test--dir) #'aio-file-test--handler)
                file-name-handler-alist))
         (aio-file-test--handled nil))
     ,@body))

(aio-deftest aio-file-names-with-a-handler-go-to-emacs ()
  ;; As remote names under TRAMP do.
  (aio-file-test--with-dir
    (let ((path (aio-file-test--spit "h.txt" "handled\n")))
      (aio-file-test--with-handler
        (should (equal (aio-test-wait (aio-file-read path)) "handled\n"))
        (should (memq 'insert-file-contents aio-file-test--handled))
        (should (equal (aio-test-wait (aio-file-read path :as 'bytes)) "handled\n"))
        (aio-test-wait (aio-file-write path "written"))
        (should (memq 'write-region aio-file-test--handled))
        (should (equal (car (aio-test-wait (aio-file-stat path)))
                       nil))
        (should (memq 'file-attributes aio-file-test--handled))
        (setq aio-file-test--handled nil)
        (should (equal (aio-test-wait (aio-stream-collect (aio-directory-walk aio-file-test--dir)))
                       (list path)))
        (should aio-file-test--handled)
        (should (equal (aio-test-error (aio-file-read (aio-file-test--path "none")))
                       (aio-file-test--emacs-error #'insert-file-contents
                                                   (aio-file-test--path "none"))))))))

;;;; Writing

(aio-deftest aio-file-write-strings-buffers-and-appends ()
  (aio-file-test--with-dir
    (let ((path (aio-file-test--path "w.txt")))
      (should-not (aio-test-wait (aio-file-write path "héllo\n")))
      (should (equal (aio-file-test--slurp path) "héllo\n"))
      (aio-test-wait (aio-file-write path "wörld\n" :append t))
      (should (equal (aio-file-test--slurp path) "héllo\nwörld\n"))
      (aio-test-wait (aio-file-write path "café" :coding 'latin-1))
      (should (equal (with-temp-buffer
                       (set-buffer-multibyte nil)
                       (insert-file-contents-literally path)
                       (buffer-string))
                     "caf\351"))
      (with-temp-buffer
        (insert "from a buffer")
        (narrow-to-region 1 5)
        (aio-test-wait (aio-file-write path (current-buffer))))
      (should (equal (aio-file-test--slurp path) "from a buffer"))
      (aio-test-wait (aio-file-write path (string-to-unibyte "\377\0") :mode #o600))
      (should (= (file-modes path) #o600))
      (should (equal (with-temp-buffer
                       (set-buffer-multibyte nil)
                       (insert-file-contents-literally path)
                       (buffer-string))
                     "\377\0")))))

(aio-deftest aio-file-write-errors-are-those-of-write-region ()
  (aio-file-test--with-dir
    (dolist (path (list (aio-file-test--path "no/such/dir") aio-file-test--dir))
      (let ((expected (aio-file-test--emacs-error #'write-region "x" nil path nil 'silent)))
        (should expected)
        (should (equal (aio-test-error (aio-file-write path "x")) expected))
        (should (equal (aio-test-error (aio-file-write path "x" :atomic t)) expected))))
    (should-error (aio-file-write "/tmp/x" 12) :type 'wrong-type-argument)
    (should-error (aio-file-write "/tmp/x" "" :append t :atomic t) :type 'args-out-of-range)
    (should-error (aio-file-write "/tmp/x" "" :mode #o10000) :type 'args-out-of-range)))

(aio-deftest aio-file-write-atomic-replaces-and-keeps-the-mode ()
  (aio-file-test--with-dir
    (let ((path (aio-file-test--spit "a.txt" "old")))
      (set-file-modes path #o640)
      (aio-test-wait (aio-file-write path "new" :atomic t))
      (should (equal (aio-file-test--slurp path) "new"))
      (should (= (file-modes path) #o640))
      (should (equal (directory-files aio-file-test--dir nil "\\`[^.]\\|\\`\\.[^.]")
                     '("a.txt"))))))

(defun aio-file-test--left-over ()
  "Return the names in the test's directory, hidden ones too."
  (directory-files aio-file-test--dir nil directory-files-no-dot-files-regexp))

(aio-deftest aio-file-write-atomic-canceled-leaves-the-old-file ()
  (aio-file-test--with-dir
    (let* ((path (aio-file-test--spit "keep.txt" "old contents"))
           (promise (aio-file-write path (make-string (* 128 1024 1024) ?n) :atomic t)))
      ;; Canceled midway: once its temporary file exists.
      (aio-test-eventually (lambda () (cdr (aio-file-test--left-over))) 10)
      (aio-cancel promise)
      (should (aio-test-canceled-p promise))
      (aio-test-quiesce)
      (should (aio-test-eventually (lambda () (equal (aio-file-test--left-over) '("keep.txt")))))
      (should (equal (aio-file-test--slurp path) "old contents")))))

(aio-deftest aio-file-write-atomic-killed-midway-leaves-the-old-file ()
  ;; An Emacs killed while it writes: the file is old or new, never a part.
  (aio-file-test--with-dir
    (let* ((path (aio-file-test--spit "keep.txt" "old contents"))
           (child (make-process
                   :name "aio-file-test-writer" :buffer nil :noquery t
                   :command (aio-file-test--emacs-command
                             `(aio-file-write ,path (make-string (* 128 1024 1024) ?n) :atomic t)
                             '(sleep-for 60)))))
      (unwind-protect
          ;; Killed once its temporary file is there: halfway.
          (should (aio-test-eventually
                   (lambda () (cl-some (lambda (name) (string-prefix-p ".keep.txt.aio-" name))
                                       (aio-file-test--left-over)))
                   60))
        (signal-process child 'SIGKILL))
      (should (aio-test-eventually (lambda () (not (process-live-p child)))))
      (should (equal (aio-file-test--slurp path) "old contents")))))

;;;; Attributes, copy, rename, delete, mkdir

(aio-deftest aio-file-stat-is-file-attributes ()
  (aio-file-test--with-dir
    (let ((file (aio-file-test--spit "s.txt" "12345"))
          (link (aio-file-test--path "link")))
      (make-symbolic-link "s.txt" link)
      ;; Reading a link may set its access time, once: let it.
      (file-attributes link)
      (dolist (path (list file link aio-file-test--dir))
        (should (equal (aio-test-wait (aio-file-stat path)) (file-attributes path)))
        (should (equal (aio-test-wait (aio-file-stat path :id-format 'string))
                       (file-attributes path 'string))))
      (should (equal (aio-test-wait (aio-file-stat link :follow-symlinks t))
                     (file-attributes file)))
      (should-not (aio-test-wait (aio-file-stat (aio-file-test--path "none"))))
      (should (= (file-attribute-size (aio-test-wait (aio-file-stat file))) 5))
      (should-error (aio-file-stat file :id-format 'names) :type 'args-out-of-range))))

(aio-deftest aio-file-copy-and-rename-as-emacs-does ()
  (aio-file-test--with-dir
    (let ((from (aio-file-test--spit "from" (aio-file-test--lines 1000)))
          (sub (file-name-as-directory (aio-file-test--path "sub"))))
      (set-file-modes from #o640)
      (make-directory sub)
      (should-not (aio-test-wait (aio-file-copy from (aio-file-test--path "to"))))
      (should (equal (aio-file-test--slurp (aio-file-test--path "to")) (aio-file-test--lines 1000)))
      (should (= (file-modes (aio-file-test--path "to")) #o640))
      (aio-test-wait (aio-file-copy from sub))
      (should (file-exists-p (expand-file-name "from" sub)))
      (dolist (target (list (aio-file-test--path "to") from aio-file-test--dir))
        (should (equal (aio-test-error (aio-file-copy from target))
                       (aio-file-test--emacs-error #'copy-file from target)))
        (should (equal (aio-test-error (aio-file-copy from target :ok-if-already-exists t))
                       (and (not (equal target (aio-file-test--path "to")))
                            (aio-file-test--emacs-error #'copy-file from target t)))))
      (should (equal (aio-test-error (aio-file-copy sub (aio-file-test--path "d")))
                     (aio-file-test--emacs-error #'copy-file sub (aio-file-test--path "d"))))
      (aio-test-wait (aio-file-copy from (aio-file-test--path "to") :ok-if-already-exists t
                                    :keep-time t))
      (should (equal (file-attribute-modification-time (file-attributes from))
                     (file-attribute-modification-time (file-attributes (aio-file-test--path "to")))))
      ;; Rename.
      (should (equal (aio-test-error (aio-file-rename from (aio-file-test--path "to")))
                     (aio-file-test--emacs-error #'rename-file from (aio-file-test--path "to"))))
      (should (equal (aio-test-error (aio-file-rename (aio-file-test--path "none") sub))
                     (aio-file-test--emacs-error #'rename-file (aio-file-test--path "none") sub)))
      (aio-test-wait (aio-file-rename from (aio-file-test--path "to") :ok-if-already-exists t))
      (should-not (file-exists-p from))
      (aio-test-wait (aio-file-rename (aio-file-test--path "to") sub :ok-if-already-exists t))
      (should (equal (aio-file-test--slurp (expand-file-name "to" sub)) (aio-file-test--lines 1000))))))

(aio-deftest aio-file-delete-and-make-directory ()
  (aio-file-test--with-dir
    (let ((tree (aio-file-test--path "a/b/c")))
      (should-not (aio-test-wait (aio-make-directory tree t)))
      (should (file-directory-p tree))
      (should (aio-test-wait (aio-make-directory tree t)))
      (should (equal (aio-test-error (aio-make-directory tree))
                     (aio-file-test--emacs-error #'make-directory tree)))
      (should (equal (aio-test-error (aio-make-directory (aio-file-test--path "x/y")))
                     (aio-file-test--emacs-error #'make-directory (aio-file-test--path "x/y"))))
      (aio-file-test--spit "a/b/f" "f")
      (make-symbolic-link "/" (aio-file-test--path "a/root"))
      (should (equal (aio-test-error (aio-file-delete (aio-file-test--path "a")))
                     (aio-file-test--emacs-error #'delete-directory (aio-file-test--path "a"))))
      (should-not (aio-test-wait (aio-file-delete (aio-file-test--path "a") :recursive t)))
      (should-not (file-exists-p (aio-file-test--path "a")))
      (should-not (aio-test-wait (aio-file-delete (aio-file-test--path "never"))))
      (let ((file (aio-file-test--spit "g" "g")))
        (aio-test-wait (aio-file-delete file))
        (should-not (file-exists-p file))))))

;;;; Walking

(defun aio-file-test--find (&rest args)
  "Return what find(1) prints for ARGS, sorted."
  (sort (apply #'process-lines "find" args) #'string<))

(defun aio-file-test--walk (dir &rest args)
  "Return the names of `aio-directory-walk' of DIR with ARGS, sorted."
  (sort (aio-wait-for (aio-stream-collect (apply #'aio-directory-walk dir args)) 120)
        #'string<))

(defun aio-file-test--make-tree (root files)
  "Make FILES files under ROOT, spread over nested directories.
By python3, for speed: `write-region' takes milliseconds a file."
  (should (zerop (call-process
                  "python3" nil nil nil "-c"
                  (concat "import os, sys\n"
                          "root, n = sys.argv[1], int(sys.argv[2])\n"
                          "for i in range(n):\n"
                          "    d = os.path.join(root, 'd%d' % (i % 37), 'e%d' % (i % 11))\n"
                          "    os.makedirs(d, exist_ok=True)\n"
                          "    ext = 'el' if i % 3 == 0 else 'txt'\n"
                          "    open(os.path.join(d, 'f%d.%s' % (i, ext)), 'w').close()\n")
                  root (number-to-string files)))))

(aio-deftest aio-directory-walk-finds-what-find-finds ()
  (aio-file-test--with-dir
    (let ((root (directory-file-name aio-file-test--dir))
          (n (if (aio-file-test--large-p) 100000 2000)))
      (aio-file-test--make-tree root n)
      (make-symbolic-link "d1" (expand-file-name "link" root))
      (let ((names (aio-file-test--walk root)))
        (should (= (length names) (1+ n)))
        (should (equal names (aio-file-test--find root "!" "-type" "d"))))
      (should (equal (aio-file-test--walk root :include-directories t)
                     (aio-file-test--find root "-mindepth" "1")))
      (should (equal (aio-file-test--walk root :match "\\.el\\'")
                     (aio-file-test--find root "-name" "*.el")))
      (should (equal (aio-file-test--walk root :ignore '("*.txt" "d2/" "link"))
                     (aio-file-test--find root "-path" (concat root "/d2") "-prune"
                                          "-o" "-name" "*.el" "-print")))
      (should (equal (aio-file-test--walk root :follow-symlinks t)
                     (aio-file-test--find "-L" root "!" "-type" "d"))))))

(aio-deftest aio-directory-walk-names-are-those-of-directory-files ()
  "ASCII, UTF-8 and undecodable names: the strings Emacs's own functions give."
  (aio-file-test--with-dir
    (let ((root (directory-file-name aio-file-test--dir)))
      (make-directory (expand-file-name "sub" root))
      (dolist (name '("plain.txt" "sub/ünïcödé €.txt"))
        (write-region "" nil (expand-file-name name root) nil 0))
      ;; A name that is not UTF-8: made from its bytes by python3.
      (should (zerop (call-process "python3" nil nil nil "-c"
                                   "import os, sys; open(os.path.join(os.fsencode(sys.argv[1]), b'raw\\xff.bin'), 'w').close()"
                                   (expand-file-name "sub" root))))
      (let ((walked (aio-file-test--walk root))
            (emacs (sort (directory-files-recursively root "") #'string<)))
        (should (= (length walked) 3))
        (should (equal walked emacs))
        ;; Unibyte where Emacs gives unibyte (ASCII), multibyte where it decodes.
        (should (equal (mapcar #'multibyte-string-p walked) (mapcar #'multibyte-string-p emacs)))
        (dolist (name walked)
          (should (file-exists-p name)))))))

(aio-deftest aio-directory-walk-closed-early-stops ()
  (aio-file-test--with-dir
    (aio-file-test--make-tree aio-file-test--dir 500)
    ;; A small window, so that the walk waits for its reader.
    (let ((stream (let ((aio-file-walk-window 16))
                    (aio-directory-walk aio-file-test--dir))))
      (should (stringp (aio-test-wait (aio-stream-next stream))))
      (aio-stream-close stream)
      (aio-test-quiesce)
      (should (zerop (plist-get (aio-native-stats) :files-pending)))
      (should (zerop (plist-get (aio-native-stats) :lisp-pending))))))

(aio-deftest aio-directory-walk-errors-are-those-of-directory-files ()
  (aio-file-test--with-dir
    (dolist (dir (list (aio-file-test--path "none") (aio-file-test--spit "file" "")))
      (should (equal (aio-test-error (aio-stream-collect (aio-directory-walk dir)))
                     (aio-file-test--emacs-error #'directory-files dir))))
    (should-error (aio-directory-walk aio-file-test--dir :ignore "x") :type 'wrong-type-argument)
    (should-error (aio-directory-walk aio-file-test--dir :match 3) :type 'wrong-type-argument)))

(provide 'aio-file-test)
;;; aio-file-test.el ends here
