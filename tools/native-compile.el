;;; native-compile.el --- Native-compile a copy of the Lisp for the tests  -*- lexical-binding: t; -*-

;;; Commentary:

;; emacs -Q --batch -L DIR -l tools/native-compile.el DIR
;; Byte-compiles every .el file of DIR, then native-compiles it, the
;; .eln files going to DIR/cache/, as package.el does on an Emacs with
;; native compilation.  Without native compilation it says so and does
;; nothing; tools/native-check.el then skips the test run.

;;; Code:

(let* ((dir (file-name-as-directory (expand-file-name (pop command-line-args-left))))
       (files (directory-files dir t "\\.el\\'")))
  (if (not (and (fboundp 'native-comp-available-p) (native-comp-available-p)))
      (message "native-compile: this Emacs has no native compilation; skipped")
    (push (expand-file-name "cache/" dir) native-comp-eln-load-path)
    (dolist (file files)
      (unless (byte-compile-file file)
        (kill-emacs 1)))
    (dolist (file files)
      (native-compile file))
    (message "native-compile: %d files in %scache/" (length files) dir)))

;;; native-compile.el ends here
