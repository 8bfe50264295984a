;;; aio-expand.el --- The expander of async bodies for aio  -*- lexical-binding: t -*-

;;; Commentary:

;; What `aio-lambda', `aio-defun' and `aio-with-async' do at expansion
;; time: find the awaits of a body, rewrite the forms around them that
;; no generator can pause in, reject awaits where no pause can work,
;; and give the byte compiler and Edebug the user's body to look at.
;; The code it produces calls the driver (aio-driver.el) at run time.

;;; Code:

(require 'cl-lib)
(require 'generator)
(require 'macroexp)
(require 'aio-coroutine)
(require 'aio-site)

(defvar aio--await-var nil
  "While an async body is expanded, the variable its awaits work in.")

;;;; Rewriting templates

;; Templates for the save-* forms an await stands in (see
;; aio-buffers.el for why and for the code they call).  A saver stands
;; for one such form: (KIND VARIABLES...), the variables being fresh
;; symbols.  The templates produce already expanded code (special forms and
;; function calls only): the body expander works after `macroexpand-all'.

(defconst aio--saver-kinds
  '(save-current-buffer save-excursion save-restriction aio--save-match-data)
  "The forms the body expander rewrites when they contain an await.")

(defun aio--saver-make (kind)
  "Return a new saver for a form of KIND, one of `aio--saver-kinds'."
  (cons kind (list (make-symbol "buffer") (make-symbol "outer")
                   (make-symbol "inner"))))

(defun aio--saver-swaps-p (saver)
  "Return non-nil if SAVER needs code around each pause inside it."
  (not (eq (car saver) 'save-current-buffer)))

(defun aio--saver-out (saver)
  "Return the form to run for SAVER just before a pause."
  (cl-destructuring-bind (kind buffer outer inner) saver
    (pcase kind
      ('save-excursion `(aio--swap-point ,buffer ,inner ,outer))
      ('save-restriction `(setq ,inner (aio--swap-restriction ,buffer ,outer)))
      ('aio--save-match-data `(setq ,inner (aio--swap-match-data ,outer))))))

(defun aio--saver-in (saver)
  "Return the form to run for SAVER just after a pause."
  (cl-destructuring-bind (kind buffer outer inner) saver
    (pcase kind
      ('save-excursion `(aio--swap-point ,buffer ,outer ,inner))
      ('save-restriction `(setq ,outer (aio--swap-restriction ,buffer ,inner)))
      ('aio--save-match-data `(setq ,outer (aio--swap-match-data ,inner))))))

(defun aio--saver-wrap (saver body)
  "Return the rewritten form of SAVER's kind around BODY, a list of forms.
The awaits in BODY already carry SAVER's code around their pauses."
  (cl-destructuring-bind (kind buffer outer inner) saver
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

(defun aio--saver-plain (kind body)
  "Return the ordinary form of KIND around BODY, which has no await."
  (if (eq kind 'aio--save-match-data)
      (let ((saved (make-symbol "saved-match-data")))
        `(let ((,saved (match-data)))
           (unwind-protect (progn ,@body)
             (set-match-data ,saved t))))
    `(,kind ,@body)))

;;;; Expansion of async bodies

;; An async body is expanded in two passes.  `macroexpand-all' first
;; turns every `aio-await' into a marker, (aio--await-marker EXPR), and
;; every `save-match-data' into (aio--save-match-data BODY...).  Then
;; a walker over the expanded code, which knows the special forms,
;; turns each marker into the code that pauses, rewrites the forms
;; no generator can pause in (the templates above) when they contain an
;; await, and rejects awaits in places where no pause can work.  Last,
;; `aio--coroutine' (aio-coroutine.el) lowers the result into a state
;; machine, or declines and leaves it to `iter-lambda'.
;;
;; Every await of one body shares one variable: each variable living
;; across a pause is a slot of every call's frame (a closure of every
;; call, with generator.el), and what each call allocates is what
;; garbage collection pays for.

(defun aio--await-marker (_value &optional _where)
  "Stand for an await while an async body is expanded; never called.
WHERE is (FORM . LINE), the awaited form printed short and its line."
  (error "`aio-await' used outside an async function"))

(defun aio--task-marker (_macro)
  "Stand for the running task in MACRO's expansion; never called."
  (error "Form needing an async function used outside one"))

(defun aio--save-match-data (&rest _body)
  "Stand for `save-match-data' while an async body is expanded; never called."
  (error "Internal marker `aio--save-match-data' was not expanded"))

(defvar aio--awaits-seen 0
  "How many awaits the walker of async bodies has expanded so far.")

(defconst aio--generator-forms
  '(and or if progn prog1 prog2 while setq setq-default catch inline throw)
  "Special forms handled like function calls by the walker.")

(defun aio--misplaced (where &optional what)
  "Signal the expansion-time error for WHAT in WHERE.
WHAT is the macro used there, `aio-await' by default; WHERE is as for
`aio--walk'."
  (let ((macro (or what 'aio-await)))
    (pcase where
      ('nested
       (error "`%s' inside a nested function (such as a lambda passed to \
`mapc') cannot pause the async function around it: use it in the async \
body itself (e.g. loop with `dolist'), or make the inner function an \
`aio-lambda' and await the promise it returns" macro))
      ('cleanup
       (error "`%s' in the cleanup forms of `unwind-protect' cannot pause \
\(no generator can resume there): use it in the body of the \
`unwind-protect', or start the cleanup as a task of its own with \
`aio-with-async'" macro))
      ('success
       (error "`%s' inside a `condition-case' that has a `:success' handler \
cannot pause: move it out, or handle success after the `condition-case'"
              macro))
      (_
       (error "`%s' inside `%s' cannot pause the async function: move it \
out of the `%s' form" macro where where)))))

(defvar aio--walk-handlers nil
  "The conditions caught around the code being walked, in the async body.
Bound by the walker in the body of each `condition-case'; t for a
handler of every condition.  Noted in each await's site.")

(defun aio--caught-conditions (handlers)
  "Return the conditions the HANDLERS of a `condition-case' catch.
A handler marked `debug' (as in `condition-case-unless-debug') does
not count: with `debug-on-error' the debugger sees its errors."
  (let ((caught nil))
    (dolist (handler handlers)
      (let ((conditions (car handler)))
        (unless (or (eq conditions :success)
                    (and (consp conditions) (memq 'debug conditions)))
          (dolist (c (if (listp conditions) conditions (list conditions)))
            (push c caught)))))
    caught))

(defun aio--await-form (expr savers where)
  "Return the code that awaits EXPR inside the forms of SAVERS.
SAVERS lists the rewritten forms around the await, innermost first.
WHERE is (FORM . LINE), see `aio--await-marker'.  The await's site
\(see `aio--site') is a constant of the code, stored as it pauses."
  (let ((var aio--await-var)
        (site (aio--make-site :function (aio--site expr)
                              :form (car where)
                              :line (cdr where)
                              :handlers aio--walk-handlers)))
    `(if (aio--await-now-p (setq ,var ,expr))
         (aio--now ,var)
       (setq aio--await-site ',site)
       ,@(if savers
             `(,@(mapcar #'aio--saver-out savers)
               (setq ,var (iter-yield ,var))
               ,@(nreverse (mapcar #'aio--saver-in savers))
               (funcall ,var))
           `((funcall (iter-yield ,var)))))))

(defun aio--walk-list (forms savers where)
  "Walk each of FORMS; see `aio--walk' for SAVERS and WHERE."
  (mapcar (lambda (form) (aio--walk form savers where)) forms))

(defun aio--walk-saver (kind body savers where)
  "Walk BODY of a form of KIND; rewrite the form if BODY awaits."
  (if where
      (aio--saver-plain kind (aio--walk-list body savers where))
    (let* ((saver (aio--saver-make kind))
           (before aio--awaits-seen)
           (walked (aio--walk-list body
                                   (if (aio--saver-swaps-p saver)
                                       (cons saver savers)
                                     savers)
                                   nil)))
      (if (= before aio--awaits-seen)
          (aio--saver-plain kind walked)
        (aio--saver-wrap saver walked)))))

(defun aio--walk (form savers where)
  "Return FORM, fully macroexpanded, with its await markers expanded.
SAVERS lists the rewritten forms around FORM, innermost first.  WHERE
is nil in the async body proper, else the place FORM is in, where an
await cannot work: `nested' (a nested function), `cleanup' (cleanup
forms of `unwind-protect'), `success' (a `condition-case' with a
`:success' handler) or the name of a special form."
  (if (atom form)
      form
    (let ((head (car form)))
      (pcase head
        ('quote form)
        ('function
         (let ((fn (cadr form)))
           (if (eq (car-safe fn) 'lambda)
               `(function (lambda ,(cadr fn)
                            ,@(aio--walk-list (cddr fn) nil 'nested)))
             form)))
        ('aio--await-marker
         (when where (aio--misplaced where))
         (let ((expr (aio--walk (cadr form) savers where)))
           (setq aio--awaits-seen (1+ aio--awaits-seen))
           (aio--await-form expr savers (cadr (nth 2 form)))))
        ('aio--task-marker
         (when where (aio--misplaced where (cadr (cadr form))))
         'aio--current-task)
        ((or 'save-current-buffer 'save-excursion 'save-restriction
             'aio--save-match-data)
         (aio--walk-saver head (cdr form) savers where))
        ((or 'let 'let*)
         `(,head ,(mapcar (lambda (binding)
                            (if (consp binding)
                                (cons (car binding)
                                      (aio--walk-list (cdr binding) savers where))
                              binding))
                          (cadr form))
                 ,@(aio--walk-list (cddr form) savers where)))
        ('cond
         `(cond ,@(mapcar (lambda (clause) (aio--walk-list clause savers where))
                          (cdr form))))
        ('condition-case
         (let ((inside (if (and (null where) (assq :success (nthcdr 3 form)))
                           'success
                         where)))
           `(condition-case ,(nth 1 form)
                ,(let ((aio--walk-handlers
                        (append (aio--caught-conditions (nthcdr 3 form))
                                aio--walk-handlers)))
                   (aio--walk (nth 2 form) savers inside))
              ,@(mapcar (lambda (handler)
                          (cons (car handler)
                                (aio--walk-list (cdr handler) savers inside)))
                        (nthcdr 3 form)))))
        ('unwind-protect
         `(unwind-protect ,(aio--walk (nth 1 form) savers where)
            ,@(aio--walk-list (nthcdr 2 form) savers (or where 'cleanup))))
        ('interactive form)
        (_
         (cond
          ((consp head)                 ; ((lambda ...) ARGS...)
           (cons (aio--walk `(function ,head) savers where)
                 (aio--walk-list (cdr form) savers where)))
          ((and (special-form-p head) (not (memq head aio--generator-forms)))
           (cons head (aio--walk-list (cdr form) savers (or where head))))
          (t
           (cons head (aio--walk-list (cdr form) savers where)))))))))

(defun aio--await-where (expr)
  "Return (FORM . LINE) for an await of EXPR, see `aio--await-marker'."
  (cons (aio--short-form expr)
        (aio--source-line 'aio-await (list 'aio-await expr))))

(defconst aio--body-environment
  (list (cons 'aio-await (lambda (expr)
                           (list 'aio--await-marker expr
                                 (list 'quote (aio--await-where expr)))))
        (cons 'save-match-data (lambda (&rest body)
                                 (cons 'aio--save-match-data body))))
  "Macro definitions in force while an async body is macroexpanded.")

(defun aio--macroexpand-body (body)
  "Return BODY, an async function's forms, as one form fully macroexpanded.
Each `aio-await' becomes a marker; see `aio--walk'."
  (macroexpand-all (macroexp-progn body)
                   (append aio--body-environment macroexpand-all-environment)))

(defun aio--expand-body (body)
  "Return BODY, an async function's forms, fully macroexpanded.
`aio-await' is expanded here, to work in `aio--await-var'; an await
that cannot work is an error."
  (aio--walk (aio--macroexpand-body body) nil nil))

(defun aio--in-async-body-p ()
  "Return non-nil while the body of an async function is macroexpanded."
  aio--await-var)

(defun aio--check-lexical (macro)
  "Signal an error if code using MACRO is not lexically bound."
  (unless lexical-binding
    (error "`%s' needs lexical binding: put \"-*- lexical-binding: t -*-\" \
on the first line of the file" macro)))

;;;; Edebug and the byte compiler

;; Edebug instruments the body of an async function (through the
;; `&define ... def-body' of its debug spec) into one form,
;; (edebug-enter 'NAME ARGS #'(lambda () BODY...)), whose lambda would
;; hide the awaits of BODY.  The expansion takes BODY out of it and
;; enters Edebug again at each step of the function instead, so that
;; stepping goes on when the function resumes after an await.
;;
;; The byte compiler sees the lowered body, not the user's: a `let'
;; moved into the frame is never "unused", and the positions it would
;; give are the expansion's.  So, when compiling, the expansion also
;; holds the user's body as it was macroexpanded, in a function that
;; never runs, which the compiler checks as it would a `defun'; the
;; lowered code is compiled without warnings.

(defvar aio--never nil
  "Always nil: guards code that is there only for the byte compiler.")

(defun aio--lint (&rest _args)
  "Ignore ARGS: code calling this is there for the byte compiler alone."
  nil)

(declare-function byte-compile-set-symbol-position "bytecomp" (sym &optional allow-previous))
(declare-function byte-compile-normal-call "bytecomp" (form))

(defun aio--byte-compile-lint (form)
  "Compile FORM, (aio--lint \='MACRO FUNCTION), as a plain call.
Emacs 28 guesses where a warning is from the symbols it compiles,
looked up in the text: MACRO's, first, is where the async form is.
Emacs 29 knows where each symbol was read instead."
  (when (fboundp 'byte-compile-set-symbol-position)
    (byte-compile-set-symbol-position (cadr (cadr form))))
  (byte-compile-normal-call form))

(put 'aio--lint 'byte-compile #'aio--byte-compile-lint)

(defun aio--edebug-unwrap (body name)
  "Return (EDEBUG-NAME ARGS FORMS) if BODY is instrumented by Edebug, else nil.
NAME names the async function for messages.  Instrumentation of an
unknown shape is reported and dropped: the function then runs, but
cannot be stepped through."
  (when (and (null (cdr body)) (eq (car-safe (car body)) 'edebug-enter))
    (pcase (car body)
      (`(edebug-enter (quote ,edebug-name) ,args (function (lambda () . ,forms)))
       (list edebug-name args forms))
      (_
       (message "Edebug cannot step into %s: unknown instrumentation" name)
       (list nil nil (list (aio--strip-edebug (car body))))))))

(defun aio--awaited (value)
  "Return VALUE: it stands for an await in the byte compiler's copy of a body."
  value)

(defun aio--byte-compile-awaited (form)
  "Compile FORM, (aio--awaited VALUE), as VALUE alone.
An await's value may go unused (it is there to pause); VALUE's may
not, so the byte compiler would warn about it in a plain function:
the call hides it from that check.  Emacs 28 also notes the place of
the await, see `aio--byte-compile-lint'."
  (when (fboundp 'byte-compile-set-symbol-position)
    (byte-compile-set-symbol-position 'aio-await))
  (byte-compile-form (cadr form)))

(put 'aio--awaited 'byte-compile #'aio--byte-compile-awaited)

(defun aio--lint-copy (form)
  "Return FORM, an expanded async body, as the same code without awaits.
An await is replaced by `aio--awaited' around the form it awaits, as
the code would be written in a plain function, so that the byte
compiler warns about it in the same way; the walker of an async body
around it then sees no await there either.  The warnings
`macroexpand-all' left in FORM go: the byte compiler's own expansion
of the copy makes them again."
  (cond
   ((atom form) form)
   (t (pcase (car form)
        ('quote form)
        ('macroexp--funcall-if-compiled nil)
        ('aio--await-marker
         ;; `aio-with-async''s move to the next turn is not the user's.
         (unless (eq (cadr form) 'aio--next-turn)
           (list 'aio--awaited (aio--lint-copy (cadr form)))))
        ('aio--task-marker nil)
        (head
         (let ((out nil)
               (rest (cdr form)))
           (while (consp rest)
             (push (aio--lint-copy (pop rest)) out))
           (cons (if (eq head 'aio--save-match-data) 'progn (aio--lint-copy head))
                 (nconc (nreverse out) rest))))))))

(defun aio--lint-form (kind arglist expanded)
  "Return the code checking EXPANDED, a body with ARGLIST, for warnings.
KIND is the async macro, EXPANDED the body as `aio--macroexpand-body'
returns it.  Nil unless the byte compiler is expanding."
  (when (macroexp-compiling-p)
    `(if aio--never
         (aio--lint ',kind
                    (function (lambda ,arglist
                                ,@(macroexp-unprogn (aio--lint-copy expanded))))))))

(defun aio--quietly (&rest forms)
  "Return the value of the last of FORMS.
The byte compiler compiles FORMS in place, and says nothing about
them: not even what `with-no-warnings' lets through, such as a wrong
number of arguments to a function with an opcode of its own."
  (car (last forms)))

(defvar byte-compile-warnings)
(defvar byte-compile-log-warning-function)
(declare-function byte-compile-form "bytecomp" (form &optional for-effect))

(defun aio--byte-compile-quietly (form)
  "Compile FORM, a call of `aio--quietly', without any warning."
  (let ((byte-compile-warnings nil)
        (byte-compile-log-warning-function #'ignore))
    (byte-compile-form (cons 'progn (cdr form)))))

(put 'aio--quietly 'byte-compile #'aio--byte-compile-quietly)

(defun aio--quiet (form)
  "Return FORM compiled without warnings, when compiling; see above."
  (if (macroexp-compiling-p) `(aio--quietly ,form) form))

(provide 'aio-expand)
;;; aio-expand.el ends here
