;;; aio-coroutine.el --- Lean generators for async bodies  -*- lexical-binding: t -*-

;;; Commentary:

;; generator.el turns a body into one closure per state and makes all
;; of them each time the generator is called: about 900 bytes before
;; the body runs at all.  With ten thousand short tasks that is what
;; garbage collection spends its time on.  This file lowers the same
;; kind of body (fully macroexpanded, pausing at `iter-yield') into a
;; step function, a state machine over numbered blocks, and a frame: a
;; vector holding the step function, the state, the arguments and the
;; variables that live across a pause.  The step function is made once,
;; where the async function is defined; a call makes only the frame.
;;
;; `aio--step-frame' runs a frame to its next pause or its end.  A
;; `let' around a pause gets its variables moved into the frame, as
;; generator.el hoists them: a closure made inside such a `let' in a
;; loop shares the variable with the other iterations.
;; `condition-case', `unwind-protect' and `catch' around a pause are
;; not kept as forms; each block inside one is wrapped in it again when
;; it runs, so a resumed block is protected by the forms that enclosed
;; its await; so is a dynamic binding, from a slot where its value is
;; kept between blocks.  What is not handled here (an argument or a
;; `condition-case' variable that is dynamic) makes `aio--coroutine'
;; return nil, and the caller falls back on generator.el.

;;; Code:

(require 'cl-lib)
(require 'macroexp)
(require 'subr-x)

(defvar aio--lean-coroutines t
  "Non-nil to compile async bodies with `aio--coroutine' when it can.
Nil to always use generator.el; the tests compare the two.")

;;;; Lowering state, bound by `aio--coroutine'

(defvar aio--co-names nil
  "The symbols of the step function: (FRAME STATE RUN RESULT VALUE).")
(defvar aio--co-blocks nil "Finished blocks, (LABEL . FORM), newest first.")
(defvar aio--co-labels 0 "How many labels have been handed out.")
(defvar aio--co-label nil "The label of the open block, or nil.")
(defvar aio--co-forms nil "The forms of the open block, newest first.")
(defvar aio--co-block-regions nil "The regions around the open block.")
(defvar aio--co-regions nil
  "The regions around the code being lowered, innermost first.
A region is (unwind CLEANUP-FORMS), (condition-case SLOT HANDLERS)
with HANDLERS a list of (CONDITIONS . LABEL), (catch TAG-SLOT TARGET
LABEL), or (dynamic VARIABLE SLOT) for a dynamic binding.")
(defvar aio--co-env nil "Variables living in the frame: an alist (NAME . SLOT).")
(defvar aio--co-slots 0 "How many slots the frame has so far.")
(defvar aio--co-temps nil "Slots of the temporaries, by depth.")
(defvar aio--co-slot-names nil
  "The user's variables given slots so far: an alist (SLOT . NAME).")

(defvar aio--co-last-locals nil
  "The variables of the frame of the latest `aio--coroutine' result.
A vector: the name of the variable each slot holds, or nil.  For
`aio-locals' and the Edebug support.")
(defvar aio--co-depth 0 "The depth of the first free temporary.")

;; The frame's first slots.
(defconst aio--co-step-slot 0 "The slot of a frame holding its step function.")
(defconst aio--co-state-slot 1 "The slot of a frame holding its state.")

(defun aio--co-unsupported ()
  "Give up on lowering: the caller falls back on generator.el."
  (throw 'aio--co-unsupported nil))

(defmacro aio--co-with-names (&rest body)
  "Run BODY with FRAME, STATE, RUN, RESULT and VALUE bound to the names."
  (declare (indent 0) (debug t))
  `(cl-destructuring-bind (frame state run result value) aio--co-names
     (ignore frame state run result value)
     ,@body))

(defsubst aio--slot (frame slot)
  "Return SLOT of FRAME.
An `aref' the byte compiler may drop without a warning when its value
is not used, as it drops a variable that is read for nothing."
  (declare (side-effect-free error-free))
  (aref frame slot))

(defun aio--co-ref (slot)
  "Return the expression reading SLOT of the frame."
  `(aio--slot ,(car aio--co-names) ,slot))

(defun aio--co-read (target)
  "Return the expression reading TARGET, a slot or a variable."
  (if (integerp target) (aio--co-ref target) target))

(defun aio--co-set (target code)
  "Return the expression storing CODE's value in TARGET, a slot or a variable."
  (if (integerp target)
      `(aset ,(car aio--co-names) ,target ,code)
    `(setq ,target ,code)))

;;;; Which forms pause

(defun aio--co-yields-list-p (forms)
  "Return non-nil if any of FORMS may pause."
  (cl-some #'aio--co-yields-p forms))

(defun aio--co-yields-p (form)
  "Return non-nil if FORM, fully macroexpanded, may pause."
  (and (consp form)
       (pcase (car form)
         ((or 'quote 'function) nil)
         ('iter-yield t)
         ((or 'let 'let*)
          (or (cl-some (lambda (b) (and (consp b) (aio--co-yields-list-p (cdr b))))
                       (cadr form))
              (aio--co-yields-list-p (cddr form))))
         ('cond (cl-some #'aio--co-yields-list-p (cdr form)))
         ('condition-case
          (or (aio--co-yields-p (nth 2 form))
              (cl-some (lambda (h) (aio--co-yields-list-p (cdr h))) (nthcdr 3 form))))
         (head (or (and (consp head) (aio--co-yields-p head))
                   (aio--co-yields-list-p (cdr form)))))))

;;;; Variables for the debugger

;; A variable living in the frame is no variable any more: where the
;; user stops the code, in Edebug or at a call of `debug', evaluating
;; its name would fail.  So, in code that is not byte-compiled (Edebug's
;; always is interpreted), such a call is wrapped in a `let' binding the
;; names of the variables in scope to their slots' values, which are
;; stored back when the call returns: evaluating or setting them while
;; stopped there works as in ordinary code.

(defconst aio--co-stop-functions '(debug edebug edebug-before edebug-after)
  "Functions whose calls are where the user may evaluate variables.")

(defvar aio--co-see-variables nil
  "Non-nil while lowering code whose stops should see its variables.")

(defun aio--co-name-slots (pairs)
  "Note PAIRS, a list of (VARIABLE . SLOT), for `aio--co-last-locals'."
  (dolist (pair pairs)
    (push (cons (cdr pair) (car pair)) aio--co-slot-names)))

(defun aio--co-user-variable-p (var)
  "Return non-nil if VAR is a variable of the user's, not of the expansion."
  (and (symbolp var) (eq (intern-soft (symbol-name var)) var)))

(defun aio--co-stop-point (head args env)
  "Return the call of HEAD with ARGS, seeing the variables of ENV.
The variables of ENV that live in the frame are bound around the
call, from their slots; they are read again after the last argument
\(which may set them), and stored back after the call if the user
set them meanwhile.  The arguments are evaluated inside the call, so
that Edebug finds its frame, as `edebug-eval' needs."
  (let* ((frame (car aio--co-names))
         (seen nil)
         (vars (cl-remove-if-not
                (lambda (cell)
                  (and (integerp (cdr cell))
                       (aio--co-user-variable-p (car cell))
                       (not (memq (car cell) seen))
                       (push (car cell) seen)))
                env))
         (olds (mapcar (lambda (_) (make-symbol "old")) vars)))
    (if (null vars)
        (cons head args)
      `(let* ,(cl-mapcan (lambda (cell old)
                           (list (list (car cell) (aio--co-ref (cdr cell)))
                                 (list old (car cell))))
                         vars olds)
         (prog1 (,head ,@(butlast args)
                       ,@(and args
                              `((prog1 ,(car (last args))
                                  ,@(cl-mapcan (lambda (cell old)
                                                 `((setq ,(car cell) ,(aio--co-ref (cdr cell))
                                                         ,old ,(car cell))))
                                               vars olds)))))
           ,@(cl-mapcar (lambda (cell old)
                          `(unless (eq ,(car cell) ,old)
                             (aset ,frame ,(cdr cell) ,(car cell))))
                        vars olds))))))

;;;; Variables in the frame, in code that does not pause

(defun aio--co-unbind (env vars)
  "Return ENV without the variables VARS, which a form binds anew."
  (if (cl-some (lambda (v) (assq v env)) vars)
      (cl-remove-if (lambda (cell) (memq (car cell) vars)) env)
    env))

(defun aio--co-arg-names (arglist)
  "Return the variables of ARGLIST, a lambda list."
  (remq '&optional (remq '&rest arglist)))

(defun aio--co-subst-list (forms env)
  "Rewrite the variables of ENV in each of FORMS."
  (mapcar (lambda (form) (aio--co-subst form env)) forms))

(defun aio--co-subst-body (forms env &optional all)
  "Rewrite the variables of ENV in FORMS, a body whose last value counts.
With ALL, no value counts.  A variable of ENV read for no use is
dropped: read from the frame, the byte compiler would warn about it."
  (let ((out nil))
    (while forms
      (let ((form (pop forms)))
        (unless (and (or forms all) (symbolp form) (assq form env))
          (push (aio--co-subst form env) out))))
    (nreverse out)))

(defun aio--co-subst-let* (bindings body env)
  "Rewrite ENV's variables in a `let*' of BINDINGS and BODY."
  (let ((out nil))
    (dolist (b bindings)
      (push (if (consp b) (cons (car b) (aio--co-subst-list (cdr b) env)) b) out)
      (setq env (aio--co-unbind env (list (if (consp b) (car b) b)))))
    `(let* ,(nreverse out) ,@(aio--co-subst-body body env))))

(defun aio--co-subst-setq (pairs env)
  "Rewrite (setq PAIRS...) for the variables of ENV."
  (let ((out nil))
    (while pairs
      (let* ((var (pop pairs))
             (code (aio--co-subst (pop pairs) env))
             (cell (assq var env)))
        (push (if cell (aio--co-set (cdr cell) code) `(setq ,var ,code)) out)))
    (macroexp-progn (nreverse out))))

(defun aio--co-subst (form env)
  "Return FORM, fully macroexpanded, with the variables of ENV in the frame."
  (cond
   ((null env) form)
   ((symbolp form) (let ((cell (assq form env))) (if cell (aio--co-ref (cdr cell)) form)))
   ((atom form) form)
   (t
    (let ((head (car form)))
      (pcase head
        ((or 'quote 'interactive) form)
        ('function
         (let ((fn (cadr form)))
           (if (eq (car-safe fn) 'lambda)
               `(function (lambda ,(cadr fn)
                            ,@(aio--co-subst-body
                               (cddr fn)
                               (aio--co-unbind env (aio--co-arg-names (cadr fn))))))
             form)))
        ('let
         (let ((bindings (cadr form)))
           `(let ,(mapcar (lambda (b)
                            (if (consp b) (cons (car b) (aio--co-subst-list (cdr b) env)) b))
                          bindings)
              ,@(aio--co-subst-body
                 (cddr form)
                 (aio--co-unbind env (mapcar (lambda (b) (if (consp b) (car b) b))
                                             bindings))))))
        ('let* (aio--co-subst-let* (cadr form) (cddr form) env))
        ('setq (aio--co-subst-setq (cdr form) env))
        ('condition-case
         (let ((var (nth 1 form)))
           `(condition-case ,var ,(aio--co-subst (nth 2 form) env)
              ,@(mapcar (lambda (h)
                          (cons (car h)
                                (aio--co-subst-body
                                 (cdr h) (if var (aio--co-unbind env (list var)) env))))
                        (nthcdr 3 form)))))
        ('cond `(cond ,@(mapcar (lambda (c) (aio--co-subst-list c env)) (cdr form))))
        ((or 'progn 'save-excursion 'save-restriction 'save-current-buffer)
         (cons head (aio--co-subst-body (cdr form) env)))
        ('while `(while ,(aio--co-subst (cadr form) env)
                   ,@(aio--co-subst-body (cddr form) env t)))
        ((or 'prog1 'unwind-protect)
         `(,head ,(aio--co-subst (cadr form) env)
                 ,@(aio--co-subst-body (cddr form) env t)))
        ((or 'setq-default 'defvar 'defconst)
         ;; Their symbols name global variables, not lexical ones.
         (let ((i -1))
           (cons head (mapcar (lambda (x)
                                (setq i (1+ i))
                                (if (cl-evenp i) x (aio--co-subst x env)))
                              (cdr form)))))
        (_ (if (and (memq head aio--co-stop-functions) aio--co-see-variables)
               (aio--co-stop-point head (aio--co-subst-list (cdr form) env) env)
             (cons (if (consp head) (aio--co-subst head env) head)
                   (aio--co-subst-list (cdr form) env)))))))))

(defun aio--co-rename (form)
  "Return FORM with the variables in the frame rewritten."
  (aio--co-subst form aio--co-env))

(defun aio--co-slot ()
  "Return a new slot of the frame."
  (prog1 aio--co-slots (setq aio--co-slots (1+ aio--co-slots))))

(defun aio--co-temp (depth)
  "Return the slot of the temporary of DEPTH."
  (while (<= (length aio--co-temps) depth)
    (setq aio--co-temps (append aio--co-temps (list (aio--co-slot)))))
  (nth depth aio--co-temps))

(defun aio--co-special-p (var)
  "Return non-nil if binding VAR is dynamic, which the lowering cannot do."
  (or (not (symbolp var))
      (special-variable-p var)
      (and (boundp 'byte-compile-bound-variables)
           (memq var (symbol-value 'byte-compile-bound-variables)))))

;;;; Blocks

(defun aio--co-new-label ()
  "Return a new label: the number of a block."
  (prog1 aio--co-labels (setq aio--co-labels (1+ aio--co-labels))))

(defun aio--co-emit (form)
  "Append FORM to the open block (to a new, unreachable one if none is)."
  (unless aio--co-label
    (aio--co-open (aio--co-new-label)))
  (push form aio--co-forms))

(defun aio--co-wrap (regions code)
  "Return CODE wrapped in the forms of REGIONS, innermost first."
  (aio--co-with-names
    (dolist (region regions code)
      (setq code
            (pcase region
              (`(dynamic ,var ,slot)
               ;; A non-local exit leaves the `let': its value is done with.
               `(let ((,var ,(aio--co-ref slot)))
                  (prog1 ,code (aset ,frame ,slot ,var))))
              (`(unwind ,cleanup)
               (let ((ok (make-symbol "ok")))
                 `(let ((,ok nil))
                    (unwind-protect (progn ,code (setq ,ok t))
                      (unless ,ok ,@cleanup)))))
              (`(condition-case ,slot ,handlers)
               (let ((err (and slot (make-symbol "err"))))
                 `(condition-case ,err ,code
                    ,@(mapcar (lambda (h)
                                `(,(car h) ,@(and slot (list (aio--co-set slot err)))
                                  (setq ,state ,(cdr h))))
                              handlers))))
              (`(catch ,tag ,target ,label)
               (let ((ok (make-symbol "ok")) (thrown (make-symbol "thrown")))
                 `(let* ((,ok nil)
                         (,thrown (catch ,(aio--co-ref tag) ,code (setq ,ok t))))
                    (unless ,ok
                      ,@(and target (list (aio--co-set target thrown)))
                      (setq ,state ,label))))))))))

(defun aio--co-close ()
  "Finish the open block, if any."
  (when aio--co-label
    (push (cons aio--co-label
                (aio--co-wrap aio--co-block-regions
                              (macroexp-progn (nreverse aio--co-forms))))
          aio--co-blocks)
    (setq aio--co-label nil aio--co-forms nil)))

(defun aio--co-jump (label)
  "End the open block with a jump to LABEL."
  (aio--co-with-names
    (aio--co-emit `(setq ,state ,label))
    (aio--co-close)))

(defun aio--co-open (label)
  "Start block LABEL in the current regions; the open block falls into it."
  (when aio--co-label
    (aio--co-jump label))
  (setq aio--co-label label
        aio--co-forms nil
        aio--co-block-regions aio--co-regions))

;;;; Lowering

(defun aio--co-store (target code)
  "Emit CODE, storing its value in TARGET unless TARGET is nil."
  (let ((form (aio--co-set-or-run target code)))
    (when form (aio--co-emit form))))

(defun aio--co-operand (form)
  "Emit what FORM needs before its value; return an expression for it.
The expression is FORM itself if FORM cannot pause, so it must be
used before any other code runs."
  (cond ((not (aio--co-yields-p form)) (aio--co-rename form))
        ((eq (car form) 'iter-yield)
         (aio--co-yield (cadr form) nil)
         (nth 4 aio--co-names))
        (t (let ((temp (aio--co-temp aio--co-depth)))
             (let ((aio--co-depth (1+ aio--co-depth)))
               (aio--co-into form temp))
             (aio--co-ref temp)))))

(defun aio--co-operands (forms)
  "Emit FORMS for their values in order; return expressions for them.
FORMS before the last that may pause are put in temporaries first."
  (let ((last (cl-position-if #'aio--co-yields-p forms :from-end t))
        (depth aio--co-depth)
        (i 0)
        (out nil))
    (dolist (form forms)
      (push (cond ((or (null last) (> i last)) (aio--co-rename form))
                  ((< i last)
                   (let ((temp (aio--co-temp depth)))
                     (let ((aio--co-depth (1+ depth)))
                       (aio--co-into form temp))
                     (setq depth (1+ depth))
                     (aio--co-ref temp)))
                  (t (let ((aio--co-depth depth))
                       (aio--co-operand form))))
            out)
      (setq i (1+ i)))
    (nreverse out)))

(defun aio--co-yield (form target)
  "Emit a pause handing out FORM's value; store what resumes it in TARGET."
  (aio--co-with-names
    (let ((operand (aio--co-operand form))
          (next (aio--co-new-label)))
      (aio--co-emit `(setq ,result ,operand ,state ,next ,run nil))
      (aio--co-close)
      (aio--co-open next)
      (when target
        (aio--co-emit (aio--co-set target value))))))

(defun aio--co-progn (forms target)
  "Emit FORMS in order, storing the last one's value in TARGET."
  (if (null forms)
      (aio--co-store target nil)
    (while (cdr forms)
      (aio--co-into (pop forms) nil))
    (aio--co-into (car forms) target)))

(defun aio--co-branch (test then else target)
  "Emit (if TEST THEN ELSE...), ELSE a list, storing its value in TARGET."
  (aio--co-with-names
    (let ((operand (aio--co-operand test))
          (then-label (aio--co-new-label))
          (else-label (aio--co-new-label))
          (end (aio--co-new-label)))
      ;; A branch that cannot pause runs in the block of the test.
      (let ((then-pauses (aio--co-yields-p then))
            (else-pauses (aio--co-yields-list-p else)))
        (aio--co-emit
         `(if ,operand
              ,(if then-pauses
                   `(setq ,state ,then-label)
                 `(progn ,(aio--co-set-or-run target (aio--co-rename then))
                         (setq ,state ,end)))
            ,@(cond (else-pauses `((setq ,state ,else-label)))
                    (target `(,(aio--co-set target (aio--co-rename (macroexp-progn else)))
                              (setq ,state ,end)))
                    (t `(,@(delq nil (mapcar (lambda (form)
                                               (aio--co-set-or-run nil (aio--co-rename form)))
                                             else))
                         (setq ,state ,end))))))
        (aio--co-close)
        (when then-pauses
          (aio--co-open then-label)
          (aio--co-into then target)
          (aio--co-jump end))
        (when else-pauses
          (aio--co-open else-label)
          (aio--co-progn else target)
          (aio--co-jump end)))
      (aio--co-open end))))

(defun aio--co-set-or-run (target code)
  "Return CODE, storing its value in TARGET unless TARGET is nil.
Without TARGET, CODE that is a constant or only reads a slot of the
frame is dropped: the byte compiler would warn that its value is
unused.  A read of a variable stays, since a void one signals."
  (cond (target (aio--co-set target code))
        ((or (and (atom code) (or (not (symbolp code)) (memq code '(nil t)) (keywordp code)))
             (eq (car-safe code) 'aio--slot))
         nil)
        (t code)))

(defun aio--co-or (forms target)
  "Emit (or FORMS...), storing its value in TARGET."
  (aio--co-with-names
    (if (null (cdr forms))
        (aio--co-into (car forms) target)
      (let* ((temp (aio--co-temp aio--co-depth))
             (rest (aio--co-new-label))
             (end (aio--co-new-label))
             (aio--co-depth (1+ aio--co-depth)))
        (aio--co-into (car forms) temp)
        (aio--co-emit `(if ,(aio--co-ref temp)
                           (progn ,@(and target (list (aio--co-set target (aio--co-ref temp))))
                                  (setq ,state ,end))
                         (setq ,state ,rest)))
        (aio--co-close)
        (aio--co-open rest)
        (aio--co-or (cdr forms) target)
        (aio--co-jump end)
        (aio--co-open end)))))

(defun aio--co-cond (clauses)
  "Return the `if' and `or' forms equivalent to (cond CLAUSES...)."
  (when clauses
    (let ((clause (car clauses)))
      (if (cdr clause)
          `(if ,(car clause) (progn ,@(cdr clause)) ,(aio--co-cond (cdr clauses)))
        `(or ,(car clause) ,(aio--co-cond (cdr clauses)))))))

(defun aio--co-while (test body target)
  "Emit (while TEST BODY...), storing nil in TARGET."
  (aio--co-with-names
    (let ((top (aio--co-new-label))
          (loop (aio--co-new-label))
          (end (aio--co-new-label)))
      (aio--co-open top)
      (aio--co-emit `(setq ,state (if ,(aio--co-operand test) ,loop ,end)))
      (aio--co-close)
      (aio--co-open loop)
      (aio--co-progn body nil)
      (aio--co-jump top)
      (aio--co-open end)
      (aio--co-store target nil))))

(defun aio--co-let (bindings body target)
  "Emit (let BINDINGS BODY...), storing its value in TARGET."
  (let ((vars (mapcar (lambda (b) (if (consp b) (car b) b)) bindings))
        (inits (mapcar (lambda (b) (and (consp b) (cadr b))) bindings)))
    (if (not (aio--co-yields-list-p body))
        ;; Only the values pause: bind them as usual around BODY.
        (let ((operands (aio--co-operands inits)))
          (aio--co-store target
                         `(let ,(cl-mapcar #'list vars operands)
                            ,@(aio--co-subst-list
                               body (aio--co-unbind aio--co-env vars)))))
      (let* ((slots (mapcar (lambda (_) (aio--co-slot)) vars))
             (pairs (cl-mapcar #'cons vars slots))
             (_ (aio--co-name-slots pairs))
             (dynamic (cl-remove-if-not (lambda (pair) (aio--co-special-p (car pair)))
                                        pairs))
             (lexical (cl-set-difference pairs dynamic)))
        (cl-mapc #'aio--co-into inits slots)
        ;; Reversed: of two bindings of one name, the later one wins.
        (let ((aio--co-env (append (nreverse lexical)
                                   (aio--co-unbind aio--co-env (mapcar #'car dynamic))))
              (aio--co-regions aio--co-regions))
          (when dynamic
            ;; Each block inside binds them again from their slots.
            (dolist (pair dynamic)
              (push `(dynamic ,(car pair) ,(cdr pair)) aio--co-regions))
            (aio--co-open (aio--co-new-label)))
          (aio--co-progn body target))
        (when dynamic
          (aio--co-open (aio--co-new-label)))))))

(defun aio--co-let* (bindings body target)
  "Emit (let* BINDINGS BODY...), storing its value in TARGET."
  (if (null bindings)
      (aio--co-progn body target)
    (aio--co-let (list (car bindings))
                 (list `(let* ,(cdr bindings) ,@body))
                 target)))

(defun aio--co-unwind-protect (body cleanup target)
  "Emit (unwind-protect BODY CLEANUP...), storing BODY's value in TARGET."
  (let* ((renamed (mapcar #'aio--co-rename cleanup))
         (temp (and target (aio--co-temp aio--co-depth)))
         (after (aio--co-new-label)))
    (let ((aio--co-regions (cons `(unwind ,renamed) aio--co-regions))
          (aio--co-depth (1+ aio--co-depth)))
      (aio--co-open (aio--co-new-label))
      (aio--co-into body temp)
      (aio--co-jump after))
    (aio--co-open after)
    (mapc #'aio--co-emit renamed)
    (when target (aio--co-store target (aio--co-ref temp)))))

(defun aio--co-condition-case (var body handlers target)
  "Emit (condition-case VAR BODY HANDLERS...), storing its value in TARGET."
  (when (or (assq :success handlers) (and var (aio--co-special-p var)))
    (aio--co-unsupported))
  (let* ((slot (and var (aio--co-slot)))
         (_ (and var (aio--co-name-slots (list (cons var slot)))))
         (labels (mapcar (lambda (_) (aio--co-new-label)) handlers))
         (end (aio--co-new-label)))
    (let ((aio--co-regions
           (cons `(condition-case ,slot
                      ,(cl-mapcar (lambda (h label) (cons (car h) label)) handlers labels))
                 aio--co-regions)))
      (aio--co-open (aio--co-new-label))
      (aio--co-into body target)
      (aio--co-jump end))
    (let ((aio--co-env (if var (cons (cons var slot) aio--co-env) aio--co-env)))
      (cl-mapc (lambda (h label)
                 (aio--co-open label)
                 (aio--co-progn (cdr h) target)
                 (aio--co-jump end))
               handlers labels))
    (aio--co-open end)))

(defun aio--co-catch (tag body target)
  "Emit (catch TAG BODY...), storing its value in TARGET."
  (let ((slot (aio--co-slot))
        (end (aio--co-new-label)))
    (aio--co-into tag slot)
    (let ((aio--co-regions (cons `(catch ,slot ,target ,end) aio--co-regions)))
      (aio--co-open (aio--co-new-label))
      (aio--co-progn body target)
      (aio--co-jump end))
    (aio--co-open end)))

(defun aio--co-setq (pairs target)
  "Emit (setq PAIRS...), storing the last value in TARGET."
  (let ((last nil))
    (while pairs
      (let* ((var (pop pairs))
             (value (pop pairs))
             (slot (cdr (assq var aio--co-env))))
        (setq last (or slot var))
        (if (or slot (not (aio--co-yields-p value)))
            (aio--co-into value last)
          ;; VALUE may bind VAR dynamically around a pause: store after it.
          (let ((temp (aio--co-temp aio--co-depth)))
            (let ((aio--co-depth (1+ aio--co-depth)))
              (aio--co-into value temp))
            (aio--co-store var (aio--co-ref temp))))))
    (when target
      (aio--co-store target (aio--co-read last)))))

(defun aio--co-into (form target)
  "Emit code evaluating FORM, fully macroexpanded; store its value in TARGET.
TARGET is a slot of the frame, a variable, or nil when the value is
not needed."
  (if (not (aio--co-yields-p form))
      (aio--co-store target (aio--co-rename form))
    (let ((args (cdr form)))
      (pcase (car form)
        ('iter-yield (aio--co-yield (car args) target))
        ('progn (aio--co-progn args target))
        ('prog1
         (if (null target)
             (aio--co-progn args nil)
           (let ((temp (aio--co-temp aio--co-depth)))
             (let ((aio--co-depth (1+ aio--co-depth)))
               (aio--co-into (car args) temp)
               (aio--co-progn (cdr args) nil))
             (aio--co-store target (aio--co-ref temp)))))
        ('setq (aio--co-setq args target))
        ('if (aio--co-branch (car args) (cadr args) (cddr args) target))
        ('cond (aio--co-into (aio--co-cond args) target))
        ('and (aio--co-into (cond ((null args) t)
                                  ((null (cdr args)) (car args))
                                  (t `(if ,(car args) (and ,@(cdr args)) nil)))
                            target))
        ('or (aio--co-or args target))
        ('while (aio--co-while (car args) (cdr args) target))
        ('let (aio--co-let (car args) (cdr args) target))
        ('let* (aio--co-let* (car args) (cdr args) target))
        ('unwind-protect (aio--co-unwind-protect (car args) (cdr args) target))
        ('condition-case
         (aio--co-condition-case (car args) (cadr args) (cddr args) target))
        ('catch (aio--co-catch (car args) (cdr args) target))
        (head
         (when (or (consp head) (special-form-p head) (macrop head))
           (aio--co-unsupported))
         (let ((operands (aio--co-operands args)))
           (aio--co-store target
                          (if (and (memq head aio--co-stop-functions)
                                   aio--co-see-variables)
                              (aio--co-stop-point head operands aio--co-env)
                            `(,head ,@operands)))))))))

;;;; The step function and the frame

(defun aio--coroutine (var arglist body &optional edebug)
  "Lower BODY, an async function's, into a step function and a frame.
BODY is fully macroexpanded and pauses with `iter-yield'.  ARGLIST is
the lambda list of the function whose body it is, and VAR a variable,
nil at first, that BODY may use.  Return nil if BODY cannot be
lowered, else (STEP . SLOTS): STEP is the form of the step function,
which refers to none of ARGLIST's variables, and SLOTS the forms of
the frame's slots after the first; the frame is the vector of the
step function and the values of SLOTS, made anew for each call.  See
`aio--step-frame'.  `aio--co-last-locals' then names the slots.

EDEBUG, for a body instrumented by Edebug, is (NAME ARGS FORMS) from
its `edebug-enter' form: each step then enters Edebug anew, through
`aio--edebug-enter', so that stepping goes on after a pause."
  (when aio--lean-coroutines
    (catch 'aio--co-unsupported
      (let* ((pauses (aio--co-yields-p body))
             (aio--co-names (list (make-symbol "frame") (make-symbol "state")
                                  (make-symbol "run") (make-symbol "result")
                                  (make-symbol (if pauses "value" "_value"))))
             (aio--co-blocks nil) (aio--co-labels 0)
             (aio--co-label nil) (aio--co-forms nil) (aio--co-block-regions nil)
             (aio--co-regions nil) (aio--co-temps nil) (aio--co-depth 0)
             (aio--co-slot-names nil)
             (aio--co-see-variables (or edebug (not (macroexp-compiling-p))))
             (args (aio--co-arg-names arglist))
             (aio--co-slots (1+ aio--co-state-slot))
             (aio--co-env (mapcar (lambda (v) (cons v (aio--co-slot)))
                                  (cons var args)))
             (entry-env aio--co-env))
        (when (cl-some #'aio--co-special-p args)
          (aio--co-unsupported))
        (aio--co-name-slots (cdr aio--co-env))
        (aio--co-with-names
          (aio--co-open (aio--co-new-label))
          ;; No pause comes between storing the value and the end.
          (aio--co-into body result)
          (aio--co-emit `(setq ,state nil ,run nil))
          (aio--co-close)
          (let ((step `(let ((,state (aref ,frame ,aio--co-state-slot))
                             (,run t)
                             (,result nil))
                         (while ,run
                           (cond ,@(mapcar (lambda (b) `((eq ,state ,(car b)) ,(cdr b)))
                                           (reverse aio--co-blocks))
                                 (t (error "Async function resumed after its end"))))
                         (aset ,frame ,aio--co-state-slot ,state)
                         ,result))
                (locals (make-vector aio--co-slots nil)))
            (dolist (cell aio--co-slot-names)
              (when (aio--co-user-variable-p (cdr cell))
                (aset locals (car cell) (cdr cell))))
            (setq aio--co-last-locals locals)
            (cons `(lambda (,frame ,value)
                     ,(if edebug
                          `(aio--edebug-enter ',(car edebug)
                                              ,(aio--co-subst (nth 1 edebug) entry-env)
                                              (lambda () ,step))
                        step))
                  `(0 nil ,@(mapcar (lambda (arg)
                                      ;; An unused `_' argument stays unused.
                                      (and (or (not (string-prefix-p "_" (symbol-name arg)))
                                               (aio--co-mentions-p arg body))
                                           arg))
                                    args)
                      ,@(make-list (- aio--co-slots (+ 3 (length args))) nil)))))))))

(defun aio--co-mentions-p (symbol form)
  "Return non-nil if SYMBOL occurs anywhere in FORM."
  (let ((found nil))
    (while (and (consp form) (not found))
      (setq found (aio--co-mentions-p symbol (car form))
            form (cdr form)))
    (or found (eq form symbol))))

(defsubst aio--step-frame (frame value-function)
  "Run FRAME to its next pause, which receives VALUE-FUNCTION.
Return what it awaits; or its value, once the frame's state is nil."
  (funcall (aref frame aio--co-step-slot) frame value-function))

(provide 'aio-coroutine)
;;; aio-coroutine.el ends here
