;;; aio-stream-test.el --- Tests of async streams  -*- lexical-binding: t -*-

;;; Commentary:

;; `aio-stream' and its readers, writers, generators and combinators:
;; order, backpressure, the end and errors, closing and cancellation,
;; and what `aio-list-tasks' shows of a paused generator.

;;; Code:

(require 'ert)
(require 'aio)
(require 'aio-test-helpers)

(defvar aio-stream-test-log nil
  "What the generators of these tests did, newest first.")

(aio-defstream aio-stream-test-count (n)
  "Yield the integers from 0 below N, then note the cleanup."
  (let ((i 0))
    (unwind-protect
        (while (< i n)
          (aio-yield i)
          (setq i (1+ i)))
      (push (list 'cleanup i) aio-stream-test-log))))

(aio-defstream aio-stream-test-forever (delay)
  "Yield 0, 1, 2... forever, sleeping DELAY seconds before each if non-nil."
  (let ((i 0))
    (unwind-protect
        (while t
          (when delay (aio-await (aio-sleep delay)))
          (aio-yield i)
          (setq i (1+ i)))
      (push 'cleanup aio-stream-test-log))))

;;;; Reading and writing

(aio-deftest aio-stream-values-come-in-order ()
  (let ((stream (aio-stream 4)))
    (aio-with-async
      (dotimes (i 20) (aio-await (aio-stream-write stream i)))
      (aio-stream-close stream))
    (should (equal (number-sequence 0 19)
                   (aio-test-wait (aio-stream-collect stream))))
    (should (equal (number-sequence 0 9)
                   (aio-test-wait (aio-stream-collect (aio-stream-test-count 10)))))))

(aio-deftest aio-stream-next-signals-the-end-and-carries-nil ()
  (let ((stream (aio-stream-from-list '(nil 1 nil))))
    (should (null (aio-test-wait (aio-stream-next stream))))
    (should (eql 1 (aio-test-wait (aio-stream-next stream))))
    (should (null (aio-test-wait (aio-stream-next stream))))
    (should (equal '(aio-stream-end) (aio-test-error (aio-stream-next stream))))
    (should (equal '(aio-stream-end) (aio-test-error (aio-stream-next stream)))))
  (should (equal '(nil nil) (aio-test-wait (aio-stream-collect
                                            (funcall (aio-stream-lambda ()
                                                       (aio-yield nil)
                                                       (aio-yield nil)))))))
  (should (equal '(nil a) (aio-test-wait (aio-stream-collect
                                          (aio-stream-from-list '(nil a)))))))

(aio-deftest aio-stream-write-waits-while-full ()
  (let* ((stream (aio-stream 2))
         (a (aio-stream-write stream 'a))
         (b (aio-stream-write stream 'b))
         (c (aio-stream-write stream 'c)))
    (should (aio-result a))
    (should (aio-result b))
    (should-not (aio-result c))
    (should (= 2 (aio-stream-length stream)))
    ;; Taking one leaves the buffer at half its bound: C goes in.
    (should (eq 'a (aio-test-wait (aio-stream-next stream))))
    (aio-test-wait c)
    (should (equal '(b c) (list (aio-test-wait (aio-stream-next stream))
                                (aio-test-wait (aio-stream-next stream)))))))

(aio-deftest aio-stream-close-fails-writers-and-ends-every-reader ()
  (let* ((stream (aio-stream 1))
         (reader-1 (aio-stream-next stream))
         (reader-2 (aio-stream-next stream)))
    (aio-stream-close stream)
    (should (equal '(aio-stream-end) (aio-test-error reader-1)))
    (should (equal '(aio-stream-end) (aio-test-error reader-2)))
    (should (equal '(aio-stream-end) (aio-test-error (aio-stream-next stream))))
    (should (aio-stream-closed-p stream))
    (should-error (aio-stream-write stream 1) :type 'aio-stream-closed)
    (should-error (aio-stream-push stream 1) :type 'aio-stream-closed))
  ;; A waiting write fails; buffered values are still read.
  (let* ((stream (aio-stream 1))
         (_ (aio-stream-write stream 'kept))
         (waiting (aio-stream-write stream 'lost)))
    (aio-stream-close stream)
    (should (equal '(aio-stream-closed) (aio-test-error waiting)))
    (should (eq 'kept (aio-test-wait (aio-stream-next stream))))
    (should (equal '(aio-stream-end) (aio-test-error (aio-stream-next stream))))))

(aio-deftest aio-stream-close-with-an-error-fails-every-reader ()
  (let* ((stream (aio-stream 4))
         (_ (aio-stream-write stream 1))
         (_ (aio-stream-close stream '(file-error "Broken")))
         (first (aio-stream-next stream))
         (reader (aio-stream-next stream)))
    (should (eql 1 (aio-test-wait first)))
    (should (equal '(file-error "Broken") (aio-test-error reader)))
    (should (equal '(file-error "Broken") (aio-test-error (aio-stream-next stream))))
    (should (equal '(file-error "Broken")
                   (aio-test-error (aio-stream-collect stream))))))

(aio-deftest aio-stream-canceled-read-takes-no-value ()
  (let* ((stream (aio-stream 4))
         (canceled (aio-stream-next stream))
         (next (aio-stream-next stream)))
    (aio-cancel canceled)
    (aio-test-wait (aio-stream-write stream 'x))
    (should (eq 'x (aio-test-wait next))))
  ;; Canceled after the value was handed over: it goes back.
  (let* ((stream (aio-stream 4))
         (reader (funcall (aio-lambda () (aio-await (aio-stream-next stream)))))
         (other (aio-stream-next stream)))
    (aio-test-settle)
    (aio-stream-write stream 'x)
    (aio-cancel reader)
    (should (aio-test-canceled-p reader))
    (should (eq 'x (aio-test-wait other)))))

(aio-deftest aio-stream-rendezvous-write-waits-for-a-reader ()
  (let* ((stream (aio-stream 0))
         (write (aio-stream-write stream 'x)))
    (aio-test-settle)
    (should-not (aio-result write))
    (should (eq 'x (aio-test-wait (aio-stream-next stream))))
    (aio-test-wait write)))

(aio-deftest aio-stream-byte-bound ()
  (let* ((stream (aio-stream nil :max-bytes 10))
         (a (aio-stream-write stream (make-string 6 ?a)))
         (b (aio-stream-write stream (make-string 6 ?b)))
         (c (aio-stream-write stream (make-string 6 ?c))))
    (should (aio-result a))
    (should (aio-result b))             ; 6 bytes: under the bound.
    (should-not (aio-result c))         ; 12 bytes: full.
    (aio-test-wait (aio-stream-next stream))
    (aio-test-wait (aio-stream-next stream))
    (aio-test-wait c))
  ;; One value larger than the bound still goes into an empty stream.
  (let ((stream (aio-stream nil :max-bytes 4)))
    (should (aio-result (aio-stream-write stream "too large"))))
  (should (= 6 (let ((stream (aio-stream nil :max-bytes 100)))
                 (aio-stream-push stream "\303\251")
                 (aio-stream-push stream "ab")
                 (aio-stream-push stream (decode-coding-string "\303\251" 'utf-8))
                 (aio--stream-bytes stream)))))

(aio-deftest aio-stream-push-and-the-producer-hooks ()
  (let* ((rooms 0) (closes nil)
         (stream (aio-stream 4 :on-room (lambda (_) (cl-incf rooms))
                             :on-close (lambda (s) (push s closes)))))
    (should (aio-stream-push stream 1))
    (should (aio-stream-push stream 2))
    (should (aio-stream-push stream 3))
    (should-not (aio-stream-push stream 4))
    (should-not (aio-stream-push stream 5)) ; Still put in.
    (should (= 5 (aio-stream-length stream)))
    (dotimes (_ 2) (aio-test-wait (aio-stream-next stream)))
    (should (= 0 rooms))
    (aio-test-wait (aio-stream-next stream)) ; Down to 2 of 4.
    (should (= 1 rooms))
    (aio-test-wait (aio-stream-next stream))
    (should (= 1 rooms))
    (aio-stream-close stream)
    (aio-stream-close stream)
    (should (equal (list stream) closes))))

;;;; Generators

(aio-deftest aio-stream-generator-backpressure ()
  (let* ((aio-stream-default-size 10)
         (produced 0) (consumed 0) (most-ahead 0) (most-buffered 0)
         (stream nil)
         (sum 0))
    (setq stream (funcall (aio-stream-lambda (n)
                            (dotimes (i n)
                              (setq produced (1+ produced)
                                    most-ahead (max most-ahead (- produced consumed))
                                    most-buffered (max most-buffered
                                                       (aio-stream-length stream)))
                              (aio-yield i)))
                          10000))
    (aio-test-settle)
    (should (= 0 produced))             ; Nothing runs before a read.
    (aio-test-wait
     (funcall (aio-lambda ()
                (aio-dostream (value stream)
                  (setq consumed (1+ consumed)
                        most-buffered (max most-buffered (aio-stream-length stream))
                        sum (+ sum value))
                  (when (zerop (% consumed 1000))
                    (aio-await (aio-sleep 0.001)))))))
    (should (= 10000 consumed))
    (should (= (/ (* 9999 10000) 2) sum))
    (should (= 10 most-buffered))
    ;; Beyond the 10 buffered: one value on its way to a waiting
    ;; reader that has not run yet, and one in hand waiting for room.
    (should (<= most-ahead 12))))

(aio-deftest aio-stream-generator-awaits-between-yields ()
  (let ((stream (funcall (aio-stream-lambda ()
                           (aio-yield 'a)
                           (aio-await (aio-sleep 0.005))
                           (aio-yield (aio-await (aio-sleep 0.001 'b)))
                           (aio-yield 'c)))))
    (should (equal '(a b c) (aio-test-wait (aio-stream-collect stream))))))

(aio-deftest aio-stream-generator-error-reaches-the-reader ()
  (let* ((stream (funcall (aio-stream-lambda ()
                            (aio-yield 1)
                            (aio-await (aio-sleep 0.001))
                            (aio-yield 2)
                            (signal 'arith-error '(boom)))))
         (seen nil)
         (reader (funcall (aio-lambda ()
                            (aio-dostream (value stream)
                              (push value seen))))))
    (should (equal '(arith-error boom) (aio-test-error reader)))
    (should (equal '(2 1) seen))
    (should (equal '(arith-error boom) (aio-test-error (aio-stream-next stream))))))

(aio-deftest aio-stream-closing-early-runs-cleanups-once ()
  (setq aio-stream-test-log nil)
  (let* ((aio-stream-default-size 4)
         (stream (aio-stream-test-count 1000)))
    (should (eql 0 (aio-test-wait (aio-stream-next stream))))
    (should (eql 1 (aio-test-wait (aio-stream-next stream))))
    (aio-stream-close stream)
    (aio-stream-close stream)
    (aio-test-settle)
    (should (= 1 (length aio-stream-test-log)))
    (should (eq 'cleanup (car (car aio-stream-test-log))))
    ;; It was stopped at the bound, long before 1000.
    (should (< (cadr (car aio-stream-test-log)) 10))))

(aio-deftest aio-stream-canceling-the-consumer-runs-cleanups-once ()
  (setq aio-stream-test-log nil)
  (let* ((timers (aio-test-timers))
         (stream (aio-stream-test-forever 30))
         (consumer (funcall (aio-lambda ()
                              (aio-dostream (value stream)
                                (ignore value))))))
    (aio-test-settle)
    (should (> (aio-test-timers) timers)) ; The generator sleeps.
    (aio-cancel consumer)
    (should (aio-test-canceled-p consumer))
    (aio-test-settle)
    (should (equal '(cleanup) aio-stream-test-log))
    ;; What it awaited was canceled too.
    (should (aio-test-eventually (lambda () (= timers (aio-test-timers)))))
    (should (aio-stream-closed-p stream))))

(aio-deftest aio-stream-generator-closed-before-its-first-read-never-runs ()
  (setq aio-stream-test-log nil)
  (let ((stream (aio-stream-test-count 3)))
    (aio-stream-close stream)
    (aio-test-settle)
    (should (null aio-stream-test-log))
    (should (equal '(aio-stream-end) (aio-test-error (aio-stream-next stream))))))

(aio-deftest aio-stream-defstream-documents-itself ()
  (should (string-match-p "async generator"
                          (save-window-excursion
                            (describe-function 'aio-stream-test-count)
                            (with-current-buffer (help-buffer) (buffer-string)))))
  (should (string-match-p "\\`Yield the integers" (documentation 'aio-stream-test-count)))
  (should (aio-stream-p (aio-stream-test-count 1))))

(aio-deftest aio-stream-misuse-is-an-error ()
  (should-error (aio-stream-next 'nope) :type 'wrong-type-argument)
  (should-error (aio-stream -1) :type 'wrong-type-argument)
  (should-error (aio-stream nil) :type 'wrong-type-argument)
  (should-error (aio-stream 1 :max-bytes 0) :type 'args-out-of-range)
  (should-error (aio-stream-take (aio-stream) -1) :type 'wrong-type-argument)
  (should-error (aio-stream-map 'not-a-function-xyz (aio-stream)) :type 'wrong-type-argument)
  (should-error (aio-stream-close (aio-stream) "not a condition") :type 'wrong-type-argument)
  (should-error (aio-stream-from-list '(a . b)) :type 'wrong-type-argument)
  (should-error (aio-stream-lines (aio-stream) 'no-such-coding-xyz) :type 'coding-system-error)
  (should-error (macroexpand '(aio-yield 1)) :type 'error)
  (should-error (macroexpand '(aio-dostream (x (aio-stream)) x)) :type 'error)
  (should-error (macroexpand-all '(aio-lambda () (aio-dostream x))) :type 'wrong-type-argument)
  (should (equal '(wrong-type-argument stringp 42)
                 (aio-test-error
                  (aio-stream-collect (aio-stream-lines (aio-stream-from-list '(42))))))))

(aio-deftest aio-stream-dostream-result ()
  (should (equal '(3 . done)
                 (aio-test-wait
                  (funcall (aio-lambda ()
                             (let ((n 0))
                               (cons (progn (aio-dostream (_ (aio-stream-from-list '(a b c)))
                                              (setq n (1+ n)))
                                            n)
                                     (aio-dostream (v (aio-stream-from-list '(x)) 'done)
                                       (ignore v))))))))))

;;;; Combinators

(aio-deftest aio-stream-combinators-composed ()
  (setq aio-stream-test-log nil)
  (let ((stream (aio-stream-take
                 (aio-stream-filter
                  (aio-lambda (x) (aio-await (aio-sleep 0)) (cl-evenp x))
                  (aio-stream-map (lambda (x) (* x 10))
                                  (aio-stream-map (aio-lambda (x)
                                                    (aio-await (aio-sleep 0))
                                                    (1+ x))
                                                  (aio-stream-test-forever nil))))
                 4)))
    (should (equal '(10 20 30 40) (aio-test-wait (aio-stream-collect stream))))
    ;; Taking the fourth closed the chain down to the generator.
    (aio-test-settle)
    (should (equal '(cleanup) aio-stream-test-log))))

(aio-deftest aio-stream-combinator-errors-close-the-source ()
  (setq aio-stream-test-log nil)
  (let ((mapped (aio-stream-map (lambda (x) (if (= x 3) (error "No %d" x) x))
                                (aio-stream-test-forever nil))))
    (should (equal '(error "No 3") (aio-test-error (aio-stream-collect mapped))))
    (aio-test-settle)
    (should (equal '(cleanup) aio-stream-test-log)))
  (let ((mapped (aio-stream-map (aio-lambda (x)
                                  (aio-await (aio-sleep 0))
                                  (when (= x 2) (error "Async %d" x))
                                  x)
                                (aio-stream-from-list '(0 1 2 3)))))
    (should (equal '(error "Async 2") (aio-test-error (aio-stream-collect mapped)))))
  (let ((filtered (aio-stream-filter #'cl-evenp
                                     (aio-stream-map #'identity
                                                     (aio-stream-from-list '(0 1 2 x 4))))))
    (should (eq 'wrong-type-argument (car (aio-test-error (aio-stream-collect filtered)))))))

(aio-deftest aio-stream-closing-a-combinator-stops-what-it-waits-for ()
  (setq aio-stream-test-log nil)
  (let* ((timers (aio-test-timers))
         (mapped (aio-stream-map (aio-lambda (x) (aio-await (aio-sleep 30)) x)
                                 (aio-stream-test-count 5)))
         (next (aio-stream-next mapped)))
    (aio-test-settle)
    (should (> (aio-test-timers) timers))
    (aio-stream-close mapped)
    (should (equal '(aio-stream-end) (aio-test-error next)))
    (should (aio-test-eventually (lambda () (= timers (aio-test-timers)))))
    (should (equal 'cleanup (car (car aio-stream-test-log))))))

(aio-deftest aio-stream-take-zero-and-more-than-there-is ()
  (should (null (aio-test-wait (aio-stream-collect (aio-stream-take (aio-stream-from-list '(1 2)) 0)))))
  (should (equal '(1 2) (aio-test-wait (aio-stream-collect (aio-stream-take (aio-stream-from-list '(1 2)) 5))))))

(aio-deftest aio-stream-merge-a-fast-and-a-slow-stream ()
  (let* ((slow (funcall (aio-stream-lambda ()
                          (dolist (x '(s1 s2 s3))
                            (aio-await (aio-sleep 0.2))
                            (aio-yield x)))))
         (fast (aio-stream-from-list '(f1 f2 f3 f4)))
         (merged (aio-test-wait (aio-stream-collect (aio-stream-merge slow fast)))))
    (should (equal '(s1 s2 s3) (cl-remove-if-not (lambda (x) (memq x '(s1 s2 s3))) merged)))
    (should (equal '(f1 f2 f3 f4) (cl-remove-if-not (lambda (x) (memq x '(f1 f2 f3 f4))) merged)))
    ;; The fast values do not wait for the slow ones.
    (should (equal '(f1 f2 f3 f4) (cl-subseq merged 0 4))))
  (should (null (aio-test-wait (aio-stream-collect (aio-stream-merge))))))

(aio-deftest aio-stream-merge-fails-and-closes-the-others ()
  (setq aio-stream-test-log nil)
  (let* ((failing (funcall (aio-stream-lambda ()
                             (aio-await (aio-sleep 0.01))
                             (error "Source failed"))))
         (merged (aio-stream-merge (aio-stream-test-forever 0.001) failing)))
    (should (equal '(error "Source failed") (aio-test-error (aio-stream-collect merged))))
    (aio-test-settle)
    (should (equal '(cleanup) aio-stream-test-log))))

;;;; Lines

(defconst aio-stream-test-text "alpha\r\nbéta\n€ γ\n\n\r\nlast €"
  "Text with CRLF and LF, an empty line, multibyte characters, no final newline.")

(defconst aio-stream-test-lines '("alpha" "béta" "€ γ" "" "" "last €")
  "The lines of `aio-stream-test-text'.")

(defun aio-stream-test-lines-of (chunks &optional coding)
  "Return the lines `aio-stream-lines' makes of CHUNKS with CODING."
  (aio-test-wait (aio-stream-collect (aio-stream-lines (aio-stream-from-list chunks)
                                                       coding))))

(aio-deftest aio-stream-lines-split-at-every-byte ()
  (let* ((bytes (encode-coding-string aio-stream-test-text 'utf-8))
         (n (length bytes)))
    (dotimes (i (1+ n))
      (should (equal aio-stream-test-lines
                     (aio-stream-test-lines-of (list (substring bytes 0 i) (substring bytes i)))))
      (let ((j (/ (+ i n) 2)))
        (should (equal aio-stream-test-lines
                       (aio-stream-test-lines-of (list (substring bytes 0 i)
                                                       (substring bytes i j)
                                                       (substring bytes j)))))))
    ;; One byte at a time.
    (should (equal aio-stream-test-lines
                   (aio-stream-test-lines-of (mapcar #'unibyte-string (string-to-list bytes)))))))

(aio-deftest aio-stream-lines-of-text-chunks ()
  (let ((n (length aio-stream-test-text)))
    (dotimes (i (1+ n))
      (should (equal aio-stream-test-lines
                     (aio-stream-test-lines-of (list (substring aio-stream-test-text 0 i)
                                                     (substring aio-stream-test-text i)))))))
  (should (equal '("a" "b") (aio-stream-test-lines-of '("a\nb\n"))))
  (should (equal '("") (aio-stream-test-lines-of '("\n"))))
  (should (null (aio-stream-test-lines-of '())))
  (should (null (aio-stream-test-lines-of '("" ""))))
  (should (equal '("x\ry") (aio-stream-test-lines-of '("x\ry")))))

(aio-deftest aio-stream-lines-of-bytes-without-decoding ()
  (let ((lines (aio-stream-test-lines-of (list "\303" "\251\n\377") 'binary)))
    (should (equal '("\303\251" "\377") lines))
    (should-not (multibyte-string-p (car lines))))
  (should (equal (list (decode-coding-string "\351t\351" 'latin-1))
                 (aio-stream-test-lines-of (list "\351t\351\n") 'latin-1))))

;;;; What `aio-list-tasks' shows

(defun aio-stream-test-awaits (name)
  "Return what the task named NAME awaits, as `aio-list-tasks' says it."
  (let ((entry (cl-find-if (lambda (entry)
                             (equal name (aref (cadr entry) 2)))
                           (aio-tasks--entries))))
    (and entry (aref (cadr entry) 3))))

(aio-defstream aio-stream-test-ticks ()
  "Yield ticks forever."
  (while t (aio-yield 'tick)))

(defun aio-stream-test-paused-ticks (size)
  "Return what a generator of ticks with bound SIZE awaits after a read."
  (let* ((aio-stream-default-size size)
         (stream (aio-stream-test-ticks)))
    (aio-test-wait (aio-stream-next stream))
    (aio-test-settle)
    (prog1 (aio-stream-test-awaits "aio-stream-test-ticks")
      (aio-stream-close stream)
      (aio-test-settle))))

(aio-deftest aio-stream-list-tasks-shows-a-paused-generator ()
  (should (equal "room in its stream of aio-stream-test-ticks (2 buffered)"
                 (aio-stream-test-paused-ticks 2)))
  (should (equal "a reader of its stream of aio-stream-test-ticks"
                 (aio-stream-test-paused-ticks 0)))
  (let* ((stream (aio-stream 1))
         (reader (funcall (aio-lambda () (aio-await (aio-stream-next stream))))))
    (should (string-match-p "\\`next value of stream\\'"
                            (aio-tasks--describe-await
                             (gethash (aio-promise-task reader) aio--tasks))))
    (aio-cancel reader)
    (aio-test-settle)))

(provide 'aio-stream-test)
;;; aio-stream-test.el ends here
