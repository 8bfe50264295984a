;;; aio-buffers-test.el --- Tests of buffers, point and match data across awaits  -*- lexical-binding: t -*-

;;; Commentary:

;; An async function continues in the buffer it paused in; awaits inside
;; `with-current-buffer', `with-temp-buffer', `save-current-buffer',
;; `save-excursion', `save-restriction' and `save-match-data' keep the
;; form's state while other code keeps its own; awaits where no pause
;; can work are errors at expansion time.

;;; Code:

(require 'ert)
(require 'aio)
(require 'aio-test-helpers)

(aio-deftest aio-await-continues-in-the-buffer-it-paused-in ()
  (let ((a (generate-new-buffer " a"))
        (other (generate-new-buffer " other")))
    (unwind-protect
        (let* ((gate (aio-promise))
               (task (funcall (aio-lambda ()
                                (set-buffer a)
                                (aio-await gate)
                                (current-buffer)))))
          ;; The caller's current buffer is its own.
          (with-current-buffer other
            (should (eq other (current-buffer)))
            (aio-resolve gate #'ignore)
            (should (eq a (aio-test-wait task)))
            (should (eq other (current-buffer)))))
      (kill-buffer a)
      (kill-buffer other))))

(aio-deftest aio-await-in-with-current-buffer-restores-the-outer-buffer ()
  (let ((start (generate-new-buffer " start"))
        (inner (generate-new-buffer " inner")))
    (unwind-protect
        (let ((task (with-current-buffer start
                      (funcall (aio-lambda ()
                                 (list (with-current-buffer inner
                                         (aio-await (aio-sleep 0))
                                         (current-buffer))
                                       (current-buffer)))))))
          (should (equal (list inner start) (aio-test-wait task))))
      (kill-buffer start)
      (kill-buffer inner))))

(aio-deftest aio-await-in-with-current-buffer-and-save-excursion ()
  ;; One function awaits inside `with-current-buffer' and
  ;; `save-excursion' while another moves point and edits the buffer.
  (with-temp-buffer
    (insert "abcdefghij")
    (goto-char 2)
    (let* ((buf (current-buffer))
           (gate (aio-promise))
           (a (funcall (aio-lambda ()
                         (with-current-buffer buf
                           (save-excursion
                             (goto-char 6)
                             (aio-await gate)
                             (list (current-buffer) (point)
                                   (progn (insert "X") (point))))))))
           (b (funcall (aio-lambda ()
                         (aio-await (aio-sleep 0))
                         (with-current-buffer buf
                           ;; Not the point A moved to: its own.
                           (let ((seen (point)))
                             (goto-char (point-min))
                             (insert "__")
                             (aio-resolve gate #'ignore)
                             seen))))))
      (with-temp-buffer
        (should (equal (list buf 8 9) (aio-test-wait a)))
        (should (= 2 (aio-test-wait b))))
      (should (equal "__abcdeXfghij" (buffer-string)))
      ;; The excursion restored point as B left it.
      (should (= 3 (point))))))

(aio-deftest aio-await-in-save-restriction ()
  (with-temp-buffer
    (insert "0123456789")
    (let* ((buf (current-buffer))
           (gate (aio-promise))
           (task (funcall (aio-lambda ()
                            (with-current-buffer buf
                              (prog1
                                  (save-restriction
                                    (narrow-to-region 3 6)
                                    (aio-await gate)
                                    (list (point-min) (point-max)))
                                (aio-await (aio-sleep 0))))))))
      ;; Paused: others see the buffer as it was.
      (should (= 1 (point-min)))
      (should (= 11 (point-max)))
      (aio-resolve gate #'ignore)
      (should (equal '(3 6) (aio-test-wait task)))
      (should-not (buffer-narrowed-p)))))

(aio-deftest aio-await-in-save-restriction-keeps-the-outer-narrowing ()
  (with-temp-buffer
    (insert "0123456789")
    (narrow-to-region 2 9)
    (let* ((buf (current-buffer))
           (task (funcall (aio-lambda ()
                            (with-current-buffer buf
                              (save-restriction
                                (widen)
                                (aio-await (aio-sleep 0))
                                (list (point-min) (point-max))))))))
      (should (= 2 (point-min)))
      (should (equal '(1 11) (aio-test-wait task)))
      (should (equal '(2 9) (list (point-min) (point-max)))))))

(aio-deftest aio-await-in-save-match-data ()
  (let* ((gate (aio-promise))
         (task (funcall (aio-lambda ()
                          (save-match-data
                            (string-match "b" "abc")
                            (aio-await gate)
                            (match-beginning 0))))))
    (string-match "c" "abc")
    (aio-resolve gate #'ignore)
    (should (= 1 (aio-test-wait task)))
    ;; The form's match data did not leak out.
    (should (= 2 (match-beginning 0)))))

(aio-deftest aio-await-in-with-temp-buffer ()
  (let* ((temp nil)
         (task (funcall (aio-lambda ()
                          (with-temp-buffer
                            (setq temp (current-buffer))
                            (insert "hello")
                            (aio-await (aio-sleep 0))
                            (insert " world")
                            (buffer-string))))))
    (should-not (eq temp (current-buffer)))
    (should (equal "hello world" (aio-test-wait task)))
    (should-not (buffer-live-p temp))))

(aio-deftest aio-await-in-nested-forms ()
  (with-temp-buffer
    (insert "0123456789")
    (goto-char 1)
    (let* ((buf (current-buffer))
           (task (funcall (aio-lambda ()
                            (save-current-buffer
                              (set-buffer buf)
                              (save-restriction
                                (narrow-to-region 4 8)
                                (save-excursion
                                  (goto-char 6)
                                  (save-match-data
                                    (looking-at "5")
                                    (aio-await (aio-sleep 0))
                                    (list (current-buffer) (point) (point-min)
                                          (match-beginning 0))))))))))
      (should (equal (list buf 6 4 6) (aio-test-wait task)))
      ;; As without the await: narrowing moved point to 4, and
      ;; `save-restriction' does not move it back.
      (should (= 4 (point)))
      (should-not (buffer-narrowed-p)))))

(aio-deftest aio-await-in-a-killed-buffer-signals-at-the-await ()
  (let* ((buf (generate-new-buffer " doomed"))
         (gate (aio-promise))
         (task (funcall (aio-lambda ()
                          (condition-case err
                              (with-current-buffer buf (aio-await gate))
                            (aio-buffer-killed (list (car err) (current-buffer))))))))
    (kill-buffer buf)
    (aio-resolve gate #'ignore)
    (let ((result (aio-test-wait task)))
      (should (eq 'aio-buffer-killed (car result)))
      (should (buffer-live-p (cadr result))))))

(aio-deftest aio-with-async-tolerates-a-killed-starting-buffer ()
  (let ((task (with-temp-buffer (aio-with-async 'started))))
    (should (eq 'started (aio-test-wait task)))))

(aio-deftest aio-await-without-await-keeps-the-special-forms ()
  ;; Forms with no await inside are left as they are.
  (let ((expansion (macroexpand-all
                    '(aio-lambda () (save-excursion (forward-char)) (aio-await 1)))))
    (should (string-match-p "(save-excursion (forward-char))"
                            (prin1-to-string expansion)))))

(aio-deftest aio-await-in-impossible-places-fails-at-expansion ()
  (let ((err (should-error
              (macroexpand-all
               '(aio-lambda () (unwind-protect nil (aio-await 1)))))))
    (should (string-match-p "cleanup forms of .unwind-protect" (cadr err))))
  (let ((err (should-error
              (macroexpand-all
               '(aio-lambda ()
                  (condition-case nil (aio-await 1) (:success 2)))))))
    (should (string-match-p ":success" (cadr err))))
  (let ((err (should-error
              (macroexpand-all
               '(aio-lambda () (defvar aio-buffers-test--x (aio-await 1)))))))
    (should (string-match-p "inside .defvar" (cadr err))))
  (let ((err (should-error
              (macroexpand-all
               '(aio-lambda ()
                  (save-excursion (mapc (lambda (x) (aio-await x)) '(1))))))))
    (should (string-match-p "nested function" (cadr err)))))

(provide 'aio-buffers-test)
;;; aio-buffers-test.el ends here
