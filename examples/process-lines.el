;;; process-lines.el --- A subprocess's output as a stream of lines  -*- lexical-binding: t; -*-

;;; Commentary:

;; emacs -Q --batch -L lisp -l examples/process-lines.el
;; Shows: `aio-make-callback' turns a process filter and sentinel into a
;; chain of promises, and `aio-chain' awaits them one by one, so an
;; async function can read a process's output line by line as it comes.

;;; Code:

(require 'aio)

(aio-defun process-lines-async (command handle-line)
  "Run COMMAND (a list) and call HANDLE-LINE on each line of its output.
Return the process's exit status."
  (let* ((callback (aio-make-callback))
         (next (cdr callback))
         (process (make-process
                   :name "lines" :command command :noquery t
                   :connection-type 'pipe
                   ;; Filter and sentinel feed one chain of promises, in
                   ;; the order Emacs calls them: output comes first.
                   :filter (lambda (_process text) (funcall (car callback) 'output text))
                   :sentinel (lambda (_process event) (funcall (car callback) 'event event))))
         (pending "")
         (done nil))
    (while (not done)
      (pcase (aio-chain next)
        (`(output ,text)
         (setq pending (concat pending text))
         (while (string-match "\n" pending)
           (funcall handle-line (substring pending 0 (match-beginning 0)))
           (setq pending (substring pending (match-end 0)))))
        (`(event ,_)
         (setq done (not (process-live-p process))))))
    (when (> (length pending) 0)
      (funcall handle-line pending))
    (process-exit-status process)))

(let ((status (aio-wait-for
               (process-lines-async
                '("/bin/sh" "-c" "for i in 1 2 3 4 5; do echo line $i; sleep 0.1; done")
                (lambda (line) (message "got: %s" line))))))
  (message "exit status: %s" status))

(provide 'process-lines)
;;; process-lines.el ends here
