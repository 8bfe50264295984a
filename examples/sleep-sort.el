;;; sleep-sort.el --- Sort numbers by sleeping on native timers  -*- lexical-binding: t; -*-

;;; Commentary:

;; emacs -Q --batch -L lisp -l examples/sleep-sort.el
;; Shows: many concurrent `aio-sleep's cost almost nothing to create
;; (they wait on the module's loop thread, not in Emacs's timer list),
;; and `aio-all' joins them.  Each number N wakes after N tenths of a
;; second, so they arrive sorted (a tenth apart: a busy machine that
;; starts one sleep a few milliseconds late does not reorder them).

;;; Code:

(require 'aio)
(require 'cl-lib)

(aio-defun sleep-sort (numbers)
  "Return NUMBERS sorted, by sleeping N/10 s for each N."
  ;; The sleeps are all started first, close together: a collection of
  ;; garbage (tens of milliseconds) among them would start the later
  ;; ones late.  Done now, none comes while they start.
  (garbage-collect)
  (let ((sleeps (mapcar (lambda (n) (aio-sleep (/ n 10.0) n)) numbers))
        (out nil))
    (aio-await (aio-all (mapcar (lambda (sleep)
                                  (funcall (aio-lambda ()
                                             (push (aio-await sleep) out))))
                                sleeps)))
    (nreverse out)))

(let ((numbers (cl-loop repeat 20 collect (random 30))))
  (message "in:  %S" numbers)
  (message "out: %S" (aio-wait-for (sleep-sort numbers))))

(provide 'sleep-sort)
;;; sleep-sort.el ends here
