;;; aio-buffers.el --- Buffer, point, restriction and match data across awaits  -*- lexical-binding: t -*-

;;; Commentary:

;; Neither generator.el nor aio-coroutine.el can pause inside
;; `save-current-buffer', `save-excursion' or `save-restriction'
;; (special forms they do not transform), and `save-match-data' would
;; restore its data only at the end.  So, when such a form in an async
;; body contains an await, the body expander (aio-async.el) rewrites it
;; with the templates below into `let' and `unwind-protect', which both
;; handle, and
;; gives each await inside it code to run around the pause.
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

(require 'cl-lib)

;;;; Runtime helpers

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

;;;; Rewriting templates

;; A frame is (KIND VARIABLES...), the variables being fresh symbols.
;; The templates produce already expanded code (special forms and
;; function calls only): the body expander works after `macroexpand-all'.

(defconst aio--frame-kinds
  '(save-current-buffer save-excursion save-restriction aio--save-match-data)
  "The forms the body expander rewrites when they contain an await.")

(defun aio--frame-make (kind)
  "Return a new frame for a form of KIND, one of `aio--frame-kinds'."
  (cons kind (list (make-symbol "buffer") (make-symbol "outer")
                   (make-symbol "inner"))))

(defun aio--frame-swaps-p (frame)
  "Return non-nil if FRAME needs code around each pause inside it."
  (not (eq (car frame) 'save-current-buffer)))

(defun aio--frame-out (frame)
  "Return the form to run for FRAME just before a pause."
  (cl-destructuring-bind (kind buffer outer inner) frame
    (pcase kind
      ('save-excursion `(aio--swap-point ,buffer ,inner ,outer))
      ('save-restriction `(setq ,inner (aio--swap-restriction ,buffer ,outer)))
      ('aio--save-match-data `(setq ,inner (aio--swap-match-data ,outer))))))

(defun aio--frame-in (frame)
  "Return the form to run for FRAME just after a pause."
  (cl-destructuring-bind (kind buffer outer inner) frame
    (pcase kind
      ('save-excursion `(aio--swap-point ,buffer ,outer ,inner))
      ('save-restriction `(setq ,outer (aio--swap-restriction ,buffer ,inner)))
      ('aio--save-match-data `(setq ,outer (aio--swap-match-data ,inner))))))

(defun aio--frame-wrap (frame body)
  "Return the rewritten form of FRAME's kind around BODY, a list of forms.
The awaits in BODY already carry FRAME's code around their pauses."
  (cl-destructuring-bind (kind buffer outer inner) frame
    (pcase kind
      ('save-current-buffer
       `(let ((,buffer (current-buffer)))
          (unwind-protect (progn ,@body)
            (aio--restore-buffer ,buffer))))
      ('save-excursion
       `(let* ((,buffer (current-buffer))
               (,outer (point-marker))
               (,inner (make-marker)))
          (unwind-protect (progn ,@body)
            (aio--excursion-exit ,buffer ,outer ,inner))))
      ('save-restriction
       `(let* ((,buffer (current-buffer))
               (,outer (aio--restriction))
               (,inner nil))
          (unwind-protect (progn ,@body)
            (aio--restriction-exit ,buffer ,outer))))
      ('aio--save-match-data
       `(let ((,outer (match-data))
              (,inner nil))
          (unwind-protect (progn ,@body)
            (set-match-data ,outer t)))))))

(defun aio--frame-plain (kind body)
  "Return the ordinary form of KIND around BODY, which has no await."
  (if (eq kind 'aio--save-match-data)
      (let ((saved (make-symbol "saved-match-data")))
        `(let ((,saved (match-data)))
           (unwind-protect (progn ,@body)
             (set-match-data ,saved t))))
    `(,kind ,@body)))

(provide 'aio-buffers)
;;; aio-buffers.el ends here
