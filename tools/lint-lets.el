;;; lint-lets.el --- Find `let's that a user's defvar would break  -*- lexical-binding: t; -*-

;;; Commentary:

;; Loaded by tools/lint.el; see `aio-lint-lets' for the rule it
;; enforces and why.  Kept apart from lint.el so that the tests can load
;; it without package-lint.

;;; Code:

(require 'cl-lib)
(require 'macroexp)
(require 'nadvice)

(defconst aio-lint--call-now
  '((mapcar . 1) (mapc . 1) (mapcan . 1) (mapconcat . 1) (maphash . 1)
    (mapatoms . 1) (funcall . 1) (apply . 1) (sort . 2)
    (cl-mapcar . 1) (cl-mapc . 1) (cl-mapcan . 1) (cl-maplist . 1)
    (cl-some . 1) (cl-every . 1) (cl-notany . 1) (cl-notevery . 1)
    (cl-remove-if . 1) (cl-remove-if-not . 1) (cl-delete-if . 1)
    (cl-delete-if-not . 1) (cl-find-if . 1) (cl-find-if-not . 1)
    (cl-position-if . 1) (cl-position-if-not . 1) (cl-count-if . 1)
    (cl-member-if . 1) (cl-assoc-if . 1) (cl-rassoc-if . 1) (cl-reduce . 1)
    (cl-sort . 2) (cl-stable-sort . 2)
    (seq-map . 1) (seq-do . 1) (seq-filter . 1) (seq-remove . 1)
    (seq-find . 1) (seq-some . 1) (seq-every-p . 1) (seq-reduce . 1)
    (seq-count . 1) (seq-mapn . 1) (seq-map-indexed . 1) (seq-do-indexed . 1))
  "Functions that call a function argument only before they return.
Each entry is (FUNCTION . N), the function argument being the Nth.
A lambda written there does not outlive the `let's around it.")

(defvar aio-lint--let-vars nil
  "The variables of the `let' `aio--co-let' is lowering, while it does.")

(defun aio-lint--safe-name-p (var)
  "Return non-nil if a user's `defvar' cannot make a `let' of VAR dynamic.
That is: VAR is uninterned (only macros make such symbols, and nobody
can `defvar' them), or its name carries the package's prefix `aio-'."
  (or (not (eq (intern-soft (symbol-name var)) var))
      (string-prefix-p "aio-" (symbol-name var))))

(defun aio-lint--binding-kind (var env specials)
  "Return the kind of a `let' binding of VAR inside the bindings ENV.
ENV is as `aio-lint--walk' has it.  The kind is `dynamic' if VAR is
special in this Emacs or one of SPECIALS (the variables a file
declares with a bare `defvar'): then it is dynamic compiled or not.
It is `safe' if the binding is lexical whatever the user declares (see
`aio-lint--safe-name-p').  Otherwise it is lexical unless the user
declares VAR special, and the kind is `shadow' if the nearest binding
of VAR around is an argument, a `condition-case' variable or another
`shadow' (which stay lexical), else `let'."
  (cond ((or (special-variable-p var) (memq var specials)) 'dynamic)
        ((aio-lint--safe-name-p var) 'safe)
        ((memq (cadr (assq var env)) '(arg shadow)) 'shadow)
        (t 'let)))

(defun aio-lint--walk (form env depth report specials)
  "Walk FORM, fully macroexpanded, calling REPORT with each hazard.
ENV is an alist of the variables bound around FORM, innermost first:
\(VAR KIND . DEPTH), KIND `arg' for arguments and `condition-case'
variables, else as `aio-lint--binding-kind' says; DEPTH is the number
of lambdas around the binding, and FORM is inside DEPTH lambdas.
REPORT is called with a variable and a kind of hazard: `let' for a
reference from inside a lambda to a `let' variable bound outside it,
`dynamic' for the same with a special variable, `shadow' for any
reference to a `shadow' binding.  SPECIALS is passed on to
`aio-lint--binding-kind'."
  (cl-labels
      ((walk (form env)
         (cond
          ((symbolp form)
           (let* ((binding (assq form env))
                  (kind (cadr binding)))
             (cond ((eq kind 'shadow) (funcall report form kind))
                   ((and (memq kind '(let dynamic)) (< (cddr binding) depth))
                    (funcall report form kind)))))
          ((atom form) nil)
          (t
           (pcase (car form)
             ('quote nil)
             ('function
              (when (eq (car-safe (cadr form)) 'lambda)
                (walk-lambda (cadr form) env)))
             ('let
              (let ((inner env))
                (dolist (binding (cadr form))
                  (when (consp binding) (walk-list (cdr binding) env))
                  (setq inner (bind (if (consp binding) (car binding) binding)
                                    env inner)))
                (walk-list (cddr form) inner)))
             ('let*
              (dolist (binding (cadr form))
                (when (consp binding) (walk-list (cdr binding) env))
                (setq env (bind (if (consp binding) (car binding) binding) env env)))
              (walk-list (cddr form) env))
             ('condition-case
              ;; The interpreter binds the variable lexically even when
              ;; it is special (eval.c, internal_lisp_condition_case).
              (let ((var (nth 1 form)))
                (walk (nth 2 form) env)
                (dolist (handler (nthcdr 3 form))
                  (walk-list (cdr-safe handler)
                             (if var (cons (cons var (cons 'arg depth)) env) env)))))
             ('cond (dolist (clause (cdr form)) (walk-list clause env)))
             ((or 'defvar 'defconst) (walk-list (nthcdr 2 form) env))
             (head
              (when (eq (car-safe head) 'lambda)
                (walk-lambda head env))
              (let ((now (and (symbolp head) (cdr (assq head aio-lint--call-now))))
                    (n 0))
                (dolist (arg (cdr-safe form))
                  (setq n (1+ n))
                  (if (and (eql n now) (eq (car-safe arg) 'function)
                           (eq (car-safe (cadr arg)) 'lambda))
                      (walk-lambda (cadr arg) env t)
                    (walk arg env)))))))))
       (walk-list (forms env)
         (while (consp forms)
           (walk (pop forms) env)))
       (bind (var outer env)
         ;; OUTER: the bindings around the `let', ENV: those so far.
         (if (symbolp var)
             (cons (cons var (cons (aio-lint--binding-kind var outer specials) depth))
                   env)
           env))
       (walk-lambda (lambda env &optional now)
         ;; Arguments are always bound lexically (eval.c, funcall_lambda).
         ;; A lambda called NOW is, for captures, part of the code around.
         (let ((depth (if now depth (1+ depth))))
           (dolist (arg (cadr lambda))
             (unless (memq arg '(&optional &rest))
               (setq env (cons (cons arg (cons 'arg depth)) env))))
           (aio-lint--walk (macroexp-progn (cddr lambda)) env depth report specials))))
    (walk form env)))

(defun aio-lint--hazards (form &optional specials)
  "Return the `let' bindings in FORM that a user's `defvar' would break.
FORM is fully macroexpanded; SPECIALS lists variables declared special
besides those of this Emacs.  The value is a list of (VAR . KIND), KIND
as `aio-lint--walk' reports it, each pair once, in the order first met."
  (let ((found nil))
    (aio-lint--walk form nil 0
                    (lambda (var kind)
                      (let ((hazard (cons var kind)))
                        (unless (member hazard found) (push hazard found))))
                    specials)
    (nreverse found)))

(defun aio-lint--co-let (fn bindings &rest args)
  "Call FN, `aio--co-let', with BINDINGS and ARGS; note the variables bound."
  (let ((aio-lint--let-vars (mapcar (lambda (b) (if (consp b) (car b) b)) bindings)))
    (apply fn bindings args)))

(defun aio-lint--co-special-p (fn var)
  "Call FN, `aio--co-special-p', with VAR; say yes if a user could make it so."
  (or (funcall fn var)
      (and (memq var aio-lint--let-vars) (not (aio-lint--safe-name-p var)))))

(defun aio-lint--expand (form)
  "Return FORM fully macroexpanded, as loading its file uncompiled does.
Async bodies are lowered as if the user had declared special every
unprefixed variable they bind: the lowering then keeps those `let's
instead of moving their variables into the frame, and the closures
that capture them show."
  (let ((lexical-binding t))
    (if (fboundp 'aio--co-special-p)
        (unwind-protect
            (progn
              (advice-add 'aio--co-let :around #'aio-lint--co-let)
              (advice-add 'aio--co-special-p :around #'aio-lint--co-special-p)
              (macroexpand-all form))
          (advice-remove 'aio--co-let #'aio-lint--co-let)
          (advice-remove 'aio--co-special-p #'aio-lint--co-special-p))
      (macroexpand-all form))))

(defun aio-lint--form-name (form)
  "Return the name of top-level FORM, for reports."
  (let ((name (nth 1 form)))
    (cond ((and name (symbolp name)) name)
          ((and (eq (car-safe name) 'quote) (symbolp (cadr name))) (cadr name))
          (t (format "(%s ...)" (car-safe form))))))

(defun aio-lint--line-of (var start end &optional rebound)
  "Return the line where VAR is bound, in code between START and END.
That is where it is first mentioned, unless it is used before (as a
global); with REBOUND, where it is next bound after that, as in
\"(VAR\", since the first mention binds the argument it rebinds.
Occurrences in strings and comments do not count."
  (save-excursion
    (goto-char start)
    (let ((case-fold-search nil)
          (found nil))
      (dolist (re (cons (concat "\\_<" (regexp-quote (symbol-name var)) "\\_>")
                        (and rebound
                             (list (concat "(" (regexp-quote (symbol-name var))
                                           "\\_>")))))
        (let ((here nil))
          (while (and (not here) (re-search-forward re end t))
            ;; `syntax-ppss' leaves point where it parsed to.
            (unless (nth 8 (save-excursion (syntax-ppss (match-beginning 0))))
              (setq here (match-beginning 0))))
          (when here (setq found here))))
      (line-number-at-pos (or found start)))))

(defun aio-lint-lets (file)
  "Return the `let' bindings of FILE that a user's `defvar' would break.
FILE's features must be loaded, so that its macros expand.  The value
is a list of (LINE NAME VAR KIND), sorted by LINE: NAME is the name of
the top-level form (the function), VAR the variable, LINE where VAR is
bound in the form (found as text: `aio-lint--line-of'), and KIND the
hazard, see below.  A form that does not expand gives (LINE NAME
ERROR error).

Why: interpreted code decides at run time whether a `let' binds its
variable lexically or dynamically, and a user's (defvar NAME VALUE)
makes every later `let' of NAME dynamic.  That goes for `let*' too,
and for the macros that expand to them: `dolist', `dotimes',
`pcase-let', `cl-loop', the &optional and &key arguments of `cl-defun'
with their defaults...  The library may be loaded from source, and its
macros' helpers always run when code using them is loaded or
compiled.  Compiled code decided at compile time.  Two things then
break:

`let': a closure made inside the `let' does not capture NAME.  Called
after the `let' has ended (a promise callback, a canceller, a timer),
it sees the global value.

`shadow': the `let' rebinds NAME inside a binding of NAME that stays
lexical (a function argument or a `condition-case' variable, which the
interpreter binds lexically, special or not: eval.c, funcall_lambda
and internal_lisp_condition_case).  Code in the `let' then reads and
sets the outer, lexical binding, not the new one.

The rule: a `let'-like form may bind a variable that a closure
captures, or that rebinds an argument, only if the variable's name
starts with the package prefix `aio-' (`aio--' for a local).  A user
who declares such a name special trespasses on the package's
namespace.  Otherwise, give the closure the value another way: as an
argument of a function that makes the closure (`apply-partially' or a
helper), or in a slot of a structure the closure receives; and give a
rebinding a name of its own.  A lambda written as the function
argument of one of `aio-lint--call-now' (`mapcar', `cl-some'...) runs
before the `let' ends and is no closure here.

The prefix is not enough if the library itself declares the variable
special: then the binding is dynamic, compiled or not, and a closure
referring to it sees it only while the `let' runs.  Such closures are
reported with KIND `dynamic'.

FILE's top-level forms are expanded with `macroexpand-all', as eager
macroexpansion does when the file is loaded, so macros are seen
through: a `(funcall (lambda (ARGS) ...) VALUES)' is unfolded into a
`let' of ARGS, and `aio-defun' / `aio-lambda' bodies are lowered as
`aio-lint--expand' says."
  (with-temp-buffer
    (insert-file-contents file)
    (emacs-lisp-mode)
    (let ((specials nil) (out nil))
      (goto-char (point-min))
      (condition-case nil
          (while t
            (let* ((form (read (current-buffer)))
                   (end (point))
                   (start (save-excursion (backward-sexp) (point))))
              (if (and (memq (car-safe form) '(defvar defconst))
                       (null (nthcdr 2 form)))
                  ;; Special for the rest of the file, compiled or not.
                  (push (nth 1 form) specials)
                (condition-case err
                    (pcase-dolist (`(,var . ,kind)
                                   (aio-lint--hazards (aio-lint--expand form) specials))
                      (push (list (aio-lint--line-of var start end (eq kind 'shadow))
                                  (aio-lint--form-name form) var kind)
                            out))
                  (error (push (list (line-number-at-pos start)
                                     (aio-lint--form-name form) err 'error)
                               out))))))
        (end-of-file nil))
      (sort (nreverse out) (lambda (a b) (< (car a) (car b)))))))

(defun aio-lint-lets-message (file hazard)
  "Return the lint message for HAZARD, an element of `aio-lint-lets'.
FILE is the file it was found in."
  (pcase-let ((`(,line ,name ,var ,kind) hazard))
    (format "%s:%d: %s: %s" file line name
            (pcase kind
              ('let (format "a closure captures `%s', bound by a `let' that \
a user's defvar would make dynamic: name it `aio--%s' or pass it in \
as an argument" var var))
              ('shadow (format "a `let' rebinds `%s' inside an argument or \
`condition-case' variable of that name: made dynamic by a user's \
defvar, it would leave its body the outer binding; use another name" var))
              ('dynamic (format "a closure refers to `%s', special but bound \
by a `let': it sees that binding only while the `let' runs" var))
              (_ (format "cannot check `let' bindings: %S" var))))))

(provide 'aio-lint-lets)
;;; lint-lets.el ends here
