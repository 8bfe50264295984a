;;; sleep-sort.el --- Sort numbers by sleeping on native timers  -*- lexical-binding: t; -*-

;;; Commentary:

;; emacs -Q --batch -L lisp -l examples/sleep-sort.el
;; Shows: many concurrent `aio-sleep's cost almost nothing to create
;; (they wait on the module's loop thread, not in Emacs's timer list),
;; and `aio-all' joins them.  Each number N wakes after N hundredths of
;; a second, so they arrive sorted.

;;; Code:

(require 'aio)
(require 'cl-lib)

(aio-defun sleep-sort (numbers)
  "Return NUMBERS sorted, by sleeping N/100 s for each N."
  ;; The sleeps are all started first, close together: a collection of
  ;; garbage (tens of milliseconds) among them would start the later
  ;; ones late.  Done now, none comes while they start.
  (garbage-collect)
  (let ((sleeps (mapcar (lambda (n) (aio-sleep (/ n 100.0) n)) numbers))
        (out nil))
    (aio-await (aio-all (mapcar (lambda (sleep)
                                  (funcall (aio-lambda ()
                                             (push (aio-await sleep) out))))
                                sleeps)))
    (nreverse out)))

(let ((numbers (cl-loop repeat 20 collect (random 100))))
  (message "in:  %S" numbers)
  (message "out: %S" (aio-wait-for (sleep-sort numbers))))

(provide 'sleep-sort)
;;; sleep-sort.el ends here
