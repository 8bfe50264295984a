;;; process-lines.el --- A subprocess's output as a stream of lines  -*- lexical-binding: t; -*-

;;; Commentary:

;; emacs -Q --batch -L lisp -l examples/process-lines.el
;; Shows: `aio-process' runs a command with Emacs's own `make-process'
;; and hands out its output as a stream; `aio-stream-lines' cuts it into
;; lines (a line may arrive in pieces), and `aio-dostream' loops over
;; them as they come, inside an async function.  While the loop is
;; busy, the process waits instead of filling Emacs's memory.

;;; Code:

(require 'aio)

(aio-defun process-lines-async (command handle-line)
  "Run COMMAND (a list) and call HANDLE-LINE on each line of its output.
Return the process's exit status."
  (let ((process (aio-process :command command :stderr 'merge)))
    (aio-dostream (line (aio-stream-lines (aio-process-stdout process)))
      (funcall handle-line line))
    (aio-await (aio-process-exit process))))

(let ((status (aio-wait-for
               (process-lines-async
                '("/bin/sh" "-c" "for i in 1 2 3 4 5; do echo line $i; sleep 0.1; done")
                (lambda (line) (message "got: %s" line))))))
  (message "exit status: %s" status))

(provide 'process-lines)
;;; process-lines.el ends here
