;;; aio-buffers.el --- Buffer, point, restriction and match data across awaits  -*- lexical-binding: t -*-

;;; Commentary:

;; Neither generator.el nor aio-coroutine.el can pause inside
;; `save-current-buffer', `save-excursion' or `save-restriction'
;; (special forms they do not transform), and `save-match-data' would
;; restore its data only at the end.  So, when such a form in an async
;; body contains an await, the body expander (aio-expand.el) rewrites it
;; with its templates into `let' and `unwind-protect', which both
;; handle, and gives each await inside it code to run around the pause;
;; this file holds the functions that code calls at run time.
;;
;; Each of these forms owns a piece of state: the excursion owns the
;; point of the buffer it started in, the restriction that buffer's
;; narrowing, `save-match-data' the match data.  Before the pause the
;; form's own value is put aside and the value from outside the form
;; put back, so that other code sees its own state while the function
;; is paused; after the pause the outside value is put aside again (it
;; may have changed meanwhile, and is what the form restores when it
;; ends) and the form's own value comes back.  Nested forms do this as
;; a stack: innermost first before the pause, outermost first after it.
;;
;; The current buffer needs no such code: the driver of async functions
;; runs each step of a body in `save-current-buffer' and, on resuming,
;; makes current again the buffer that was current when it paused.

;;; Code:

(defun aio--restore-buffer (buffer)
  "Make BUFFER current if it is live, as `save-current-buffer' does on exit."
  (when (buffer-live-p buffer)
    (set-buffer buffer)))

(defun aio--swap-point (buffer save goto)
  "In BUFFER, if live, set marker SAVE at point, then move point to marker GOTO."
  (when (buffer-live-p buffer)
    (with-current-buffer buffer
      (set-marker save (point))
      (goto-char goto))))

(defun aio--excursion-exit (buffer outer inner)
  "End an excursion in BUFFER: make it current, point at OUTER.
Markers OUTER and INNER then point nowhere."
  (when (buffer-live-p buffer)
    (set-buffer buffer)
    (goto-char outer))
  (set-marker outer nil)
  (set-marker inner nil))

(defun aio--restriction ()
  "Return the current buffer's restriction, for `aio--set-restriction'.
Nil when the buffer is not narrowed, else (BEG . END), two markers."
  (and (buffer-narrowed-p)
       (cons (copy-marker (point-min)) (copy-marker (point-max) t))))

(defun aio--set-restriction (restriction)
  "Give the current buffer RESTRICTION, from `aio--restriction'."
  (if (null restriction)
      (widen)
    (narrow-to-region (car restriction) (cdr restriction))
    (set-marker (car restriction) nil)
    (set-marker (cdr restriction) nil)))

(defun aio--swap-restriction (buffer restriction)
  "In BUFFER, if live, install RESTRICTION; return the restriction it had."
  (when (buffer-live-p buffer)
    (with-current-buffer buffer
      (prog1 (aio--restriction)
        (aio--set-restriction restriction)))))

(defun aio--restriction-exit (buffer restriction)
  "End a `save-restriction' of BUFFER: give it RESTRICTION back."
  (when (buffer-live-p buffer)
    (with-current-buffer buffer
      (aio--set-restriction restriction))))

(defun aio--swap-match-data (data)
  "Install match DATA; return the previous match data."
  (prog1 (match-data)
    (set-match-data data t)))

(provide 'aio-buffers)
;;; aio-buffers.el ends here
