;;; aio-fixture.el --- Definitions the aio tests inspect  -*- lexical-binding: t -*-

;;; Commentary:

;; Loaded from source and byte-compiled by aio-async-test.el and
;; aio-editing-test.el, to check what help, eldoc and autoloads see.

;;; Code:

(require 'aio)

;;;###autoload
(aio-defun aio-fixture-add (a b &optional c &rest more)
  "Add A, B, C and MORE after a pause."
  (declare (indent 1))
  (interactive (list 1 2))
  (aio-await (aio-sleep 0))
  (apply #'+ a b (or c 0) more))

(aio-defun aio-fixture-old (x)
  "Return X."
  (declare (obsolete aio-fixture-add "1.0"))
  x)

(aio-defun aio-fixture-undocumented (x)
  (aio-await x))

(provide 'aio-fixture)
;;; aio-fixture.el ends here
