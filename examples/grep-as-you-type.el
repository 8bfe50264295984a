;;; grep-as-you-type.el --- Stream grep results into a buffer while the user types  -*- lexical-binding: t; -*-

;;; Commentary:

;; emacs -Q --batch -L lisp -l examples/grep-as-you-type.el
;; Shows: each keystroke starts a `grep -rn' with `aio-process' and
;; cancels the previous search, which kills its process (no process is
;; left behind); results go into a buffer line by line as grep finds
;; them, through `aio-stream-lines' and `aio-dostream'.  In batch the
;; typing is simulated; interactively, try M-x grep-as-you-type.

;;; Code:

(require 'aio)
(require 'cl-lib)
(require 'subr-x)

(defvar grep-as-you-type-started 0 "Searches started.")
(defvar grep-as-you-type-canceled 0 "Searches canceled before their end.")

(aio-defun grep-as-you-type-search (query directory buffer)
  "Put the lines under DIRECTORY that contain QUERY into BUFFER as they come.
Return how many there are."
  (setq grep-as-you-type-started (1+ grep-as-you-type-started))
  (with-current-buffer buffer
    (let ((inhibit-read-only t)) (erase-buffer)))
  (let ((process (aio-process :command (list "grep" "-rnF" "--" query ".")
                              :directory directory :stderr 'discard :noquery t))
        (count 0))
    (unwind-protect
        (progn
          (aio-dostream (line (aio-stream-lines (aio-process-stdout process)))
            (setq count (1+ count))
            (with-current-buffer buffer
              (let ((inhibit-read-only t))
                (goto-char (point-max))
                (insert (string-remove-prefix "./" line) "\n"))))
          (aio-await (aio-process-exit process))
          count)
      ;; Canceled for a newer query: kill grep (cleanups cannot await,
      ;; and need not: the exit promise settles once it is reaped).
      (when (aio-cancel (aio-process-exit process))
        (setq grep-as-you-type-canceled (1+ grep-as-you-type-canceled))))))

(defvar grep-as-you-type-task nil "The running search, a promise.")

(defun grep-as-you-type-update (query directory buffer)
  "Search for QUERY under DIRECTORY into BUFFER, dropping the previous search."
  (when grep-as-you-type-task
    (aio-cancel grep-as-you-type-task))
  (setq grep-as-you-type-task
        (and (> (length query) 0)
             (grep-as-you-type-search query directory buffer))))

(defun grep-as-you-type (directory)
  "Search DIRECTORY with grep as you type in the minibuffer."
  (interactive "DSearch in: ")
  (let ((buffer (get-buffer-create "*grep as you type*")))
    (display-buffer buffer)
    (minibuffer-with-setup-hook
        (lambda ()
          (add-hook 'post-command-hook
                    (lambda ()
                      (grep-as-you-type-update (minibuffer-contents-no-properties)
                                               directory buffer))
                    nil t))
      (read-string "Grep: "))))

(when noninteractive
  (let* ((directory (expand-file-name "../lisp" (file-name-directory
                                                  (or load-file-name buffer-file-name))))
         (buffer (generate-new-buffer "*grep as you type*"))
         (query "(defun aio-stream-lines "))
    ;; The user types the query: the first keys in a burst, then one
    ;; every 20 ms.
    (dotimes (i (length query))
      (grep-as-you-type-update (substring query 0 (1+ i)) directory buffer)
      (when (>= i 2)
        (sleep-for 0.02)))
    (let ((count (aio-wait-for grep-as-you-type-task 10)))
      (aio-wait-for (aio-sleep 0.1))
      (message "Searches started: %d, canceled before they finished: %d"
               grep-as-you-type-started grep-as-you-type-canceled)
      (message "%d match for %S:" count query)
      (message "%s" (with-current-buffer buffer (string-trim-right (buffer-string))))
      (message "grep processes left: %d"
               (cl-count-if (lambda (p) (equal (car (process-command p)) "grep"))
                            (process-list))))))

(provide 'grep-as-you-type)
;;; grep-as-you-type.el ends here
