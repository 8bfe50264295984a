;;; aio-probe-matrix.el --- Probe: every public and module function with bad arguments  -*- lexical-binding: t -*-

;;; Commentary:

;; The bad-input matrix.  The functions are collected, not listed: every
;; `aio-' function and macro defined in lisp/ (no `--' in its name) and
;; every function the module defines.  Each is called with its valid
;; baseline arguments but one, which takes every value of the pools of
;; its type (aio-probe-values.el, aio-probe-specs.el); with too few and
;; too many arguments; with unknown and malformed keyword arguments;
;; with the url.el variables it reads bound to bad values.  Every
;; setting (`aio-' variable) is set to bad values, with `setq' and with
;; `customize-set-variable', and a small workload then runs.
;;
;; Each call is classified:
;;   clean        refused with a proper error: `wrong-type-argument',
;;                `args-out-of-range', `wrong-number-of-arguments',
;;                `circular-list', `error' or `user-error' with a
;;                message, or one of the project's errors
;;   dirty        refused with any other error (`void-function',
;;                `setting-constant', "Memory exhausted"...)
;;   accepted     returned, all its arguments valid or of no type
;;   accepted-bad returned, though an argument was invalid
;;   hang         still running after a few seconds (the child's
;;                timer), or, seen by the parent, no progress at all
;;   crash / died the child Emacs died during the call
;; and flagged with what it left behind: promises that neither settled
;; nor could be canceled, native operations still pending, buffers,
;; processes, timers, descriptors, or files in the temporary directories
;; of its values.  What the values of a call own (a subprocess, say:
;; aio-probe-values-io.el) is released after it, as is a subprocess it
;; returns, by canceling the promise of its exit.
;;
;; `aio-probe-matrix-main' runs in the child; it appends a line to the
;; progress file before ("(S INDEX CALL)") and after ("(R INDEX ...)") each
;; call.  `aio-probe-matrix-drive' (aio-probe-matrix-driver.el) runs in
;; the parent.

;;; Code:

(require 'cl-lib)
(require 'subr-x)
(require 'aio)
(require 'aio-probe-child)
(require 'aio-probe-values)
(require 'aio-probe-specs)

(declare-function aio-native--running-p "aio-native-module" ())
(declare-function aio-native--timer-cancel "aio-native-module" (id))
(declare-function aio-native--http-cancel "aio-native-module" (id))
(declare-function aio-native--tls-close "aio-native-module" (id))

(defvar aio-native--process)
(defvar aio-native--trackers)
(defvar aio-native--poll-timer)
(defvar aio--drain-timer)
(defvar aio-tasks-buffer-name)
(defvar aio-trace-buffer-name)
(defvar aio-trace-mode)
(defvar aio-wait-for-grace-seconds)

;;;; The child: which calls

(defconst aio-probe-matrix--lisp-directory
  (file-name-directory (expand-file-name (locate-library "aio")))
  "The library's directory, as the parent found it.
Its definitions are the public ones.")

(defun aio-probe-matrix--ours-p (symbol kind)
  "Return non-nil if SYMBOL's definition of KIND (`defun' or `defvar') is in lisp/."
  (let ((file (symbol-file symbol kind)))
    (and file (file-in-directory-p file aio-probe-matrix--lisp-directory))))

(defun aio-probe-matrix--load-autoloads ()
  "Load the files behind the autoloaded `aio-' functions.
An autoload, such as `aio-url-retrieve''s, names no file of its
definition until it is loaded."
  (let ((autoloads nil))
    (mapatoms (lambda (symbol)
                (when (and (string-prefix-p "aio-" (symbol-name symbol))
                           (autoloadp (symbol-function symbol)))
                  (push symbol autoloads))))
    (dolist (symbol autoloads)
      (autoload-do-load (symbol-function symbol) symbol))))

(defun aio-probe-matrix-functions ()
  "Return the functions to probe: ((SYMBOL . KIND)...), sorted.
KIND is `public' for an `aio-' function or macro of lisp/ without `--'
in its name, `module' for a function the module defines."
  (aio-probe-matrix--load-autoloads)
  (let ((found nil))
    (mapatoms
     (lambda (symbol)
       (when (fboundp symbol)
         (let ((name (symbol-name symbol)))
           (cond ((module-function-p (indirect-function symbol))
                  (push (cons symbol 'module) found))
                 ((and (string-prefix-p "aio-" name)
                       (not (string-match-p "--" name))
                       (aio-probe-matrix--ours-p symbol 'defun))
                  (push (cons symbol 'public) found)))))))
    (sort found (lambda (a b) (string< (car a) (car b))))))

(defun aio-probe-matrix-settings ()
  "Return the settings to probe: `aio-' variables of lisp/, sorted.
Hooks, keymaps, mode tables and the variables of modes are left out:
setting them is not how they are used."
  (let ((found nil))
    (mapatoms
     (lambda (symbol)
       (let ((name (symbol-name symbol)))
         (when (and (boundp symbol)
                    (string-prefix-p "aio-" name)
                    (not (string-match-p "--" name))
                    (not (string-match-p "-\\(?:hook\\|map\\|syntax-table\\|abbrev-table\\)\\'" name))
                    (not (fboundp symbol))
                    (aio-probe-matrix--ours-p symbol 'defvar))
           (push symbol found)))))
    (sort found #'string<)))

(defun aio-probe-matrix--spec (function)
  "Return FUNCTION's spec plist, or one of type `any' and the flag :unspecified."
  (or (cdr (assq function aio-probe-specs))
      (let* ((arity (func-arity function))
             (max (cdr arity)))
        (list :args (make-list (if (numberp max) max (car arity)) 'any)
              :rest (and (not (numberp max)) 'any)
              :unspecified t))))

(defun aio-probe-matrix-calls (fast)
  "Return the vector of descriptors of every call of the matrix.
FAST non-nil takes only the core values.  A descriptor is one of
\(FUNCTION baseline), (FUNCTION arity N), (FUNCTION arg POSITION NAME),
\(FUNCTION rest NAME), (FUNCTION key KEYWORD NAME), (FUNCTION raw-keys
LIST), (FUNCTION var VARIABLE NAME), (VARIABLE setting WAY NAME)."
  (let ((calls nil))
    (dolist (entry (aio-probe-matrix-functions))
      (let* ((function (car entry))
             (spec (aio-probe-matrix--spec function))
             (types (plist-get spec :args))
             (arity (func-arity function))
             (required (car arity)))
        (unless (plist-get spec :never-call)
          (push (list function 'baseline) calls))
        (when (> required 0)
          (push (list function 'arity (1- required)) calls))
        (when (numberp (cdr arity))
          (push (list function 'arity (1+ (cdr arity))) calls))
        (unless (plist-get spec :never-call)
          (cl-loop for type in types for position from 0
                   do (dolist (value (aio-probe-type-pool type fast))
                        (push (list function 'arg position (car value)) calls)))
          (when (plist-get spec :rest)
            (dolist (value (aio-probe-type-pool (plist-get spec :rest) fast))
              (push (list function 'rest (car value)) calls)))
          (dolist (key (plist-get spec :keys))
            (dolist (value (aio-probe-type-pool (cadr key) fast))
              (push (list function 'key (car key) (car value)) calls)))
          (when (plist-get spec :keys)
            (dolist (raw '((:aio-probe-unknown 1) (:aio-probe-odd) (1 2) ("a" "b")))
              (push (list function 'raw-keys raw) calls)))
          (dolist (var (plist-get spec :vars))
            (dolist (value (aio-probe-type-pool (cdr var) fast))
              (push (list function 'var (car var) (car value)) calls))))))
    (dolist (variable (aio-probe-matrix-settings))
      (dolist (way '(setq customize))
        ;; Settings are scalars: the core values cover their types.
        (dolist (value (append (aio-probe-values-pool '(aio-probe-settings-values) nil)
                               (if fast
                                   (mapcar #'aio-probe-matrix--entry '(nil minus-one string-nul))
                                 (aio-probe-values-pool '(aio-probe-values) t))))
          (push (list variable 'setting way (car value)) calls))))
    (vconcat (nreverse calls))))

;;;; The child: building a call

(defun aio-probe-matrix--entry (name)
  "Return the pool entry called NAME."
  (or (cl-loop for pool in (append aio-probe-values-pools '(aio-probe-settings-values))
               thereis (assq name (symbol-value pool)))
      (error "No value named %S" name)))

(defun aio-probe-matrix--arg-form (type value macro)
  "Return VALUE as an argument of TYPE, quoted for a MACRO if TYPE is (:quote ...)."
  (if (and macro (consp type) (eq (car type) :quote))
      (list 'quote value)
    value))

(defun aio-probe-matrix--build (call)
  "Return the plist of CALL: :function, :args, :valid, :describe, :bindings.
:valid is nil if an argument is invalid for its type; :bindings the
dynamic bindings (VARIABLE . VALUE) to make around the call.  The
:base-keys of the spec follow the positional arguments, with their
baselines, but in calls of the wrong arity and for the keyword changed."
  (pcase-let* ((`(,function ,via . ,more) call)
               (spec (aio-probe-matrix--spec function))
               (macro (plist-get spec :macro))
               (types (plist-get spec :args))
               (valid t)
               (args nil)
               (words nil)
               (bindings nil))
    (cl-labels ((baseline (type)
                (let ((value (aio-probe-type-baseline type)))
                  (unless (aio-probe-type-valid-p type value) (setq valid nil))
                  (push (aio-probe-matrix--arg-form type value macro) args)
                  (push "·" words)))
              (mutated (type name)
                (let ((value (aio-probe-values-make (aio-probe-matrix--entry name))))
                  (unless (aio-probe-type-valid-p type value) (setq valid nil))
                  (push (aio-probe-matrix--arg-form type value macro) args)
                  (push (format "<%s>" name) words)))
              (base-keys (&optional except)
                (dolist (key (plist-get spec :base-keys))
                  (unless (eq (car key) except)
                    (push (car key) args)
                    (push (symbol-name (car key)) words)
                    (baseline (cadr key))))))
      (pcase via
        ('baseline
         (dolist (type types) (baseline type))
         (base-keys)
         (when (and macro (plist-get spec :rest)) (baseline (plist-get spec :rest))))
        ('arity
         (setq valid nil)
         (dotimes (i (car more))
           (let ((type (or (nth i types) (plist-get spec :rest) 'any)))
             (baseline type))))
        ('arg
         ;; Optional arguments too: `aio-wait-for' without its timeout
         ;; would wait for ever, as it should.
         (let ((position (car more)))
           (cl-loop for type in types for i from 0
                    do (if (= i position) (mutated type (cadr more)) (baseline type)))
           (base-keys)
           (when (and macro (plist-get spec :rest)) (baseline (plist-get spec :rest)))))
        ('rest
         (dolist (type types) (baseline type))
         (mutated (plist-get spec :rest) (car more)))
        ('key
         (dolist (type types) (baseline type))
         (base-keys (car more))
         (push (car more) args)
         (push (symbol-name (car more)) words)
         (mutated (cadr (assq (car more) (plist-get spec :keys))) (cadr more)))
        ('raw-keys
         (dolist (type types) (baseline type))
         (base-keys)
         (setq valid nil)
         (dolist (item (car more)) (push item args) (push (format "%S" item) words)))
        ('var
         (dolist (type types) (baseline type))
         (base-keys)
         (let* ((variable (car more))
                (type (cdr (assq variable (plist-get spec :vars))))
                (value (aio-probe-values-make (aio-probe-matrix--entry (cadr more)))))
           (unless (aio-probe-type-valid-p type value) (setq valid nil))
           (push (cons variable value) bindings)
           (push (format "[%s=<%s>]" variable (cadr more)) words)))))
    (list :function function :args (nreverse args) :valid valid :macro macro
          :bindings bindings :spec spec
          :describe (format "(%s%s)" function
                            (mapconcat (lambda (w) (concat " " w)) (nreverse words) "")))))

(defun aio-probe-matrix--safe-url-p (value &optional proxy)
  "Return non-nil if VALUE, as curl would read it, names no host off this machine.
Only what comes before a NUL, CR or LF counts: a C string ends there.
A host under .invalid is refused without a lookup, but not as a PROXY."
  (or (not (stringp value))
      (let* ((text (car (split-string value "[\0\r\n]")))
             (host (concat "\\(?:127\\.0\\.0\\.1\\|\\[::1\\]"
                           (if proxy "" "\\|[^][/:?#]*\\.invalid\\.?")
                           "\\)"))
             (rest "\\(?::[0-9]*\\)?\\(?:[/?#].*\\)?\\'"))
        (and (not (string-match-p "[@\\]" text))
             (or (string-empty-p text)
                 ;; With a scheme, the host may be empty (file:///...).
                 (string-match-p (concat "\\`[A-Za-z0-9+.-]+://" host "?" rest) text)
                 (string-match-p (concat "\\`" host rest) text))))))

(defun aio-probe-matrix--safe-p (built)
  "Return non-nil if the call BUILT cannot reach the network off this machine.
The URL is the first argument, the options plist follows the :network
positional arguments of the spec (one if it is t); those of
`aio-native--http-start' are its URL and OPTIONS arguments."
  (let* ((spec (plist-get built :spec))
         (args (plist-get built :args))
         (native (eq (plist-get built :function) 'aio-native--http-start))
         (network (plist-get spec :network))
         (options (if native (nth 5 args) (nthcdr (if (natnump network) network 1) args))))
    (or (not (plist-get spec :network))
        (and (aio-probe-matrix--safe-url-p (nth (if native 1 0) args))
             (aio-probe-matrix--safe-url-p
              (and (proper-list-p options) (plist-get options :proxy)) t)))))

;;;; The child: making a call and classifying it

(defvar aio-probe-matrix-hang-seconds 10
  "Seconds a call may run before it counts as a hang.
A hang never ends, so a longer limit finds the same calls; it costs
time only when one is found.  A short one misreads a call slowed by
a loaded machine (the tests run four Emacsen on two cores) as hung.")

(defvar aio-probe-matrix-settle-seconds 5
  "Seconds the promises of a call have to settle once canceled.")

(defvar aio-probe-matrix--refused nil
  "A URL on 127.0.0.1 nobody listens at.")

(defun aio-probe-matrix--warm-up ()
  "Make the loop open the descriptors kept for its whole life.
A timer and a request make libuv and libcurl open their descriptors;
they are no call's leak."
  (ignore-errors (aio-wait-for (aio-sleep 0.001) 2))
  (ignore-errors (aio-wait-for (aio-http-request aio-probe-matrix--refused :proxy "" :timeout 2) 3))
  ;; TLS connections have a libcurl multi handle of their own, and its
  ;; wake-up socket pair.
  (when (and (fboundp 'aio-tcp-connect)
             (string-match ":\\([0-9]+\\)/" aio-probe-matrix--refused))
    (ignore-errors
      (aio-wait-for (aio-tcp-connect "127.0.0.1" (string-to-number (match-string 1 aio-probe-matrix--refused))
                                     :tls t :timeout 2)
                    3)))
  ;; libuv keeps one descriptor (close-on-exec) in reserve from its
  ;; first stream handle on, to refuse connections when they run out.
  (when (fboundp 'aio-http-serve)
    (ignore-errors (aio-http-server-stop (aio-http-serve 0 #'ignore))))
  ;; Jobs side by side start every thread of libuv's pool, each with
  ;; its stack and malloc arena: address space taken once, which the
  ;; memory limit must not count against the calls.
  (when (fboundp 'aio-file-stat)
    (ignore-errors
      (aio-wait-for (aio-all (cl-loop repeat 16 collect (aio-file-stat temporary-file-directory)))
                    5))))

(defun aio-probe-matrix--restart ()
  "Shut the loop down and start it again, warmed up."
  (aio-native-shutdown)
  (aio-native-init)
  (aio-probe-matrix--warm-up))

(defconst aio-probe-matrix--clean-errors
  '(wrong-type-argument args-out-of-range wrong-number-of-arguments circular-list user-error
    ;; A function given as an argument that throws to no catch: the
    ;; error is that function's own, passed on.
    no-catch)
  "Error symbols that refuse bad input properly.")

(defun aio-probe-matrix--memory-error-p (err)
  "Return non-nil if ERR, a condition, reports exhausted memory."
  (and (proper-list-p err)
       (cl-some (lambda (x) (and (stringp x)
                                 (string-match-p "out of memory\\|memory exhausted" (downcase x))))
                err)))

(defun aio-probe-matrix--clean-error-p (err &optional documented)
  "Return non-nil if ERR, a condition, is a proper refusal.
Running out of memory on a bad argument is none, whatever the symbol.
DOCUMENTED lists more error symbols that are proper, with their
children: those the function's documentation names."
  (let ((symbol (car err)))
    (cond ((aio-probe-matrix--memory-error-p err) nil)
          ((memq symbol aio-probe-matrix--clean-errors) t)
          ((and (symbolp symbol)
                (cl-intersection documented (get symbol 'error-conditions)))
           t)
          ((eq symbol 'error)
           (and (stringp (cadr err))
                (not (string-match-p "\\`Memory exhausted" (cadr err)))))
          ((and (symbolp symbol) (string-prefix-p "aio-" (symbol-name symbol))
                (get symbol 'error-conditions))
           t))))

(defun aio-probe-matrix--short (object)
  "Return a short printed form of OBJECT."
  (let ((print-circle t) (print-length 6) (print-level 3)
        (print-escape-newlines t) (print-escape-control-characters t))
    (truncate-string-to-width
     (prin1-to-string (if (stringp object) (truncate-string-to-width object 80) object))
     200)))

(defun aio-probe-matrix--find (object predicate)
  "Return the parts of OBJECT satisfying PREDICATE, searching a little way in."
  (let ((found nil) (budget 200) (seen nil))
    (cl-labels ((walk (x depth)
                  (when (and (> budget 0) (<= depth 3) (not (memq x seen)))
                    (setq budget (1- budget))
                    (cond ((funcall predicate x) (push x found))
                          ((consp x) (push x seen) (walk (car x) (1+ depth)) (walk (cdr x) depth))
                          ((and (vectorp x) (not (aio-promise-p x)))
                           (mapc (lambda (e) (walk e (1+ depth))) x))))))
      (walk object 0))
    found))

(defun aio-probe-matrix--promise-p (object)
  "Return non-nil if OBJECT is a promise with all its slots, not a forged record."
  (and (aio-promise-p object)
       ;; A promise has four slots; a forged record may have none.
       (condition-case nil (or (aref object 4) t) (error nil))))

(defun aio-probe-matrix--invoke (built)
  "Make the call BUILT; return its value, passed through the spec's :then."
  (let ((function (plist-get built :function))
        (args (plist-get built :args))
        (macro (plist-get built :macro))
        (then (or (plist-get (plist-get built :spec) :then) #'identity)))
    (cl-progv (mapcar #'car (plist-get built :bindings)) (mapcar #'cdr (plist-get built :bindings))
      (funcall then (if macro
                        (eval (funcall macro (cons function args)) t)
                      (apply function args))))))

(defun aio-probe-matrix--restore ()
  "Put the library back in the state the matrix needs."
  (when (and (boundp 'aio-trace-mode) aio-trace-mode) (aio-trace-mode -1))
  (setq aio-native--trackers nil)
  (unless (and (aio-native--running-p) aio-native--process (process-live-p aio-native--process))
    (aio-probe-matrix--restart))
  (aio-native--apply-wake-method))

(defun aio-probe-matrix--cancel-native (built)
  "Cancel the native operation a module call BUILT may have started."
  (let ((kind (plist-get (plist-get built :spec) :native))
        (id (car (plist-get built :args))))
    (when (and kind (natnump id) (fixnump id) (aio-native--running-p))
      (ignore-errors
        (pcase kind
          ('timer (aio-native--timer-cancel id))
          ('server (aio-native--server-stop id))
          ('tls (aio-native--tls-close id))
          (_ (aio-native--http-cancel id)))))))

(defun aio-probe-matrix--outcome (thunk)
  "Call THUNK in a temporary buffer with a time limit; return its outcome.
The outcome is (returned VALUE), (signaled CONDITION) or (hang)."
  (with-temp-buffer
    (with-timeout (aio-probe-matrix-hang-seconds '(hang))
      (condition-case err
          (list 'returned (funcall thunk))
        ((error aio-cancel) (list 'signaled err))))))

(defun aio-probe-matrix--cleanup (value before)
  "Settle the promises in VALUE and sweep what the call left; return leak flags.
BEFORE is the plist of buffers, processes, timers, pending count and
descriptors taken before the call."
  (let* ((flags nil)
         (promises (append (aio-probe-matrix--find value #'aio-probe-matrix--promise-p)
                           ;; A process is canceled through its exit.
                           (cl-remove-if-not
                            #'aio-probe-matrix--promise-p
                            (mapcar (lambda (process) (ignore-errors (aio-process-exit process)))
                                    (aio-probe-matrix--find value #'aio-process-p)))
                           ;; What the values of the call hold.
                           (aio-probe-values-take-owned)))
         (owned (aio-probe-matrix--find value #'bufferp)))
    (dolist (promise promises)
      (ignore-errors (aio-cancel promise 'aio-probe)))
    ;; A buffer a promise resolved with is its caller's to kill.
    (dolist (promise promises)
      (let ((result (condition-case nil
                        (funcall (aio-promise-result promise))
                      ((error aio-cancel) nil))))
        (setq owned (append (aio-probe-matrix--find result #'bufferp) owned))))
    (unless (aio-probe-wait (lambda ()
                              (and (cl-every #'aio-promise-result promises)
                                   (<= (aio-probe-pending) (plist-get before :pending))
                                   (aio-probe-quiesced-p)))
                            aio-probe-matrix-settle-seconds)
      (when (cl-notevery #'aio-promise-result promises)
        (push 'unsettled flags))
      (when (> (aio-probe-pending) (plist-get before :pending))
        (push (list 'pending-leak (aio-probe-pending)) flags))
      (unless (aio-probe-quiesced-p) (push 'native-leak flags))
      ;; Start again from a clean loop.
      (aio-probe-matrix--restart))
    (let ((wake (and aio-native--process (process-buffer aio-native--process))))
      (dolist (buffer (buffer-list))
        (unless (or (memq buffer (plist-get before :buffers)) (eq buffer wake))
          (unless (or (memq buffer owned)
                      (member (buffer-name buffer) (append (list aio-tasks-buffer-name
                                                                 aio-trace-buffer-name
                                                                 "*Warnings*")
                                                           (plist-get before :named))))
            (push (list 'buffer-leak (aio-probe-matrix--short (buffer-name buffer))) flags))
          (let ((kill-buffer-query-functions nil)) (kill-buffer buffer)))))
    (dolist (process (process-list))
      (unless (or (memq process (plist-get before :processes)) (eq process aio-native--process))
        (push (list 'process-leak (aio-probe-matrix--short (process-name process))) flags)
        (delete-process process)))
    (dolist (timer (append timer-list timer-idle-list))
      (unless (or (memq timer (plist-get before :timers))
                  (eq timer aio--drain-timer) (eq timer aio-native--poll-timer)
                  ;; Emacs's own, started once by the first buffer
                  ;; change and the first use of url.el's cookies.
                  (memq (timer--function timer)
                        '(undo-auto--boundary-timer url-cookie-write-file)))
        (push (list 'timer-leak (aio-probe-matrix--short (timer--function timer))) flags)
        (cancel-timer timer)))
    (let ((left (aio-probe-values-sweep-files)))
      (when left
        (push (list 'file-leak (aio-probe-matrix--short left)) flags)))
    (aio-probe-wait #'aio-probe-quiesced-p 5)
    (let* ((fds (aio-probe-fd-table))
           (old (plist-get before :fds))
           (new (cl-remove-if (lambda (entry) (member entry old)) fds)))
      (when (> (length fds) (length old))
        (push (list 'fd-leak (- (length fds) (length old))
                    (aio-probe-matrix--short (mapcar #'cdr new)))
              flags)))
    flags))

(defun aio-probe-matrix--snapshot ()
  "Return what `aio-probe-matrix--cleanup' compares against."
  (list :buffers (buffer-list) :processes (process-list)
        :timers (append timer-list timer-idle-list)
        :pending (aio-probe-pending) :fds (aio-probe-fd-table)))

(defun aio-probe-matrix--rejection (value)
  "Return the error VALUE, a promise, is already rejected with, or nil.
A cancellation is not a rejection."
  (when (and (aio-probe-matrix--promise-p value) (functionp (aio-promise-result value)))
    (condition-case err
        (progn (funcall (aio-promise-result value)) nil)
      (error err)
      (aio-cancel nil))))

(defun aio-probe-matrix--classify (outcome valid exempt &optional documented)
  "Return (CLASS DETAIL) for OUTCOME of a call whose arguments are VALID.
EXEMPT non-nil means that the argument changed is code: any error is
that code's own, and accepting it is no fault.  DOCUMENTED lists the
errors the function is documented to signal, as for
`aio-probe-matrix--clean-error-p'."
  (pcase outcome
    (`(hang) (list 'hang nil))
    (`(returned ,value)
     (let ((refusal (aio-probe-matrix--rejection value)))
       (cond (refusal
              ;; Refused through the promise it returned, as an async
              ;; API may: judged as if signaled.
              (aio-probe-matrix--classify (list 'signaled refusal) valid exempt documented))
             ;; Code is checked when it runs, as Emacs's own `defun'
             ;; and `lambda' do: accepting it is no fault.
             (t (list (if (or valid exempt) 'accepted 'accepted-bad)
                      (aio-probe-matrix--short (type-of value)))))))
    (`(signaled ,err)
     (list (if (and (or exempt (aio-probe-matrix--clean-error-p err documented))
                    (not (aio-probe-matrix--memory-error-p err)))
               'clean 'dirty)
           (aio-probe-matrix--short err)))))

(defconst aio-probe-matrix--code-types '(name arglist place group-spec code dostream-spec)
  "Types of macro arguments that are code.
An error such code raises is the code's own (`void-variable',
`setting-constant', `gv-invalid-place'...), as it would be in any
macro of Emacs: only a hang, a crash or a leak counts against them.")

(defun aio-probe-matrix--code-position-p (call)
  "Return non-nil if CALL puts its value in a macro argument that is code."
  (let* ((spec (aio-probe-matrix--spec (car call)))
         (type (pcase (nth 1 call)
                 ('arg (nth (nth 2 call) (plist-get spec :args)))
                 ('rest (plist-get spec :rest)))))
    (and (plist-get spec :macro) (memq type aio-probe-matrix--code-types))))

(defun aio-probe-matrix--run-function-call (call)
  "Make CALL of a function or macro; return (CLASS FLAGS DESCRIPTION DETAIL)."
  (let* ((before (aio-probe-matrix--snapshot))
         (built (aio-probe-matrix--build call))
         (exempt (aio-probe-matrix--code-position-p call))
         (outcome (if (aio-probe-matrix--safe-p built)
                      (aio-probe-matrix--outcome (lambda () (aio-probe-matrix--invoke built)))
                    '(unsafe))))
    (if (equal outcome '(unsafe))
        (list 'unsafe-skipped nil (plist-get built :describe) nil)
      (aio-probe-matrix--cancel-native built)
      (let* ((class (aio-probe-matrix--classify outcome (plist-get built :valid) exempt
                                                (plist-get (plist-get built :spec) :errors)))
             (flags (aio-probe-matrix--cleanup (cadr outcome) before)))
        (aio-probe-matrix--restore)
        (let ((after (plist-get (plist-get built :spec) :after)))
          (when after (funcall after)))
        (when (and (eq (car class) 'clean) (plist-get built :valid) (not exempt))
          (push 'valid-refused flags))
        (list (car class) flags (plist-get built :describe) (cadr class))))))

;;;; The child: settings

(defun aio-probe-matrix--set (variable value way)
  "Set VARIABLE to VALUE with WAY: `setq' or `customize'."
  (if (and (eq way 'customize) (custom-variable-p variable))
      (customize-set-variable variable value)
    (set-default variable value)))

(defun aio-probe-matrix--workload (refused)
  "Run what the settings affect; return the list of step outcomes.
REFUSED is a URL nobody listens at.  A step that times out is
`stalled', and the steps after it are not run."
  (let ((aio-wait-for-grace-seconds 0.2)
        (outcomes nil))
    (cl-loop
     for step in
     ;; Limits far above the steps' own times: a step stalls when
     ;; delivery stopped, not when the machine is slow.
     (list (lambda () (aio-wait-for (aio-sleep 0.01 'slept) 5))
           (lambda () (aio-wait-for (aio-http-request refused :proxy "" :timeout 4) 6))
           (lambda () (aio-wait-for (funcall (aio-lambda () (aio-await (aio-sleep 0.001)) 'async)) 5))
           (lambda () (kill-buffer (aio-list-tasks)) 'listed)
           (lambda ()
             (unwind-protect
                 (progn (aio-trace-mode 1)
                        (aio-wait-for (funcall (aio-lambda () (aio-await (aio-sleep 0.001)) 'traced)) 5))
               (aio-trace-mode -1))))
     for outcome = (condition-case err
                       (funcall step)
                     (aio-timeout 'stalled)
                     (aio-http-connect-error 'refused)
                     ((error aio-cancel) err))
     do (push outcome outcomes)
     until (eq outcome 'stalled))
    (nreverse outcomes)))

(defun aio-probe-matrix--run-setting (call refused)
  "Set a variable as told by CALL, run the workload, restore; return the record.
REFUSED is a URL nobody listens at."
  (pcase-let* ((`(,variable setting ,way ,name) call)
               (context (cdr (assq variable aio-probe-settings-context)))
               (saved (mapcar (lambda (v) (cons v (default-value v)))
                              (cons variable (mapcar #'car context))))
               (value (aio-probe-values-make (aio-probe-matrix--entry name)))
               ;; A buffer named by the setting is the setting's.
               (before (append (list :named (list value)) (aio-probe-matrix--snapshot)))
               (describe (format "(%s %s <%s>)" way variable name))
               (outcome
                (aio-probe-matrix--outcome
                 (lambda ()
                   (dolist (pair context) (aio-probe-matrix--set (car pair) (cdr pair) 'customize))
                   (aio-probe-matrix--set variable value way)
                   (aio-probe-matrix--workload refused))))
               (flags nil))
    (dolist (pair saved)
      (condition-case err
          (aio-probe-matrix--set (car pair) (cdr pair) 'customize)
        (error (push (list 'restore-failed (aio-probe-matrix--short err)) flags))))
    (aio-probe-matrix--restore)
    (setq flags (append (aio-probe-matrix--cleanup nil before) flags))
    (unless (eq 'slept (ignore-errors (aio-wait-for (aio-sleep 0.001 'slept) 5)))
      (push 'loop-broken flags)
      (aio-probe-matrix--restart))
    (let ((steps (and (eq (car outcome) 'returned) (cadr outcome))))
      (cond ((memq 'stalled steps)
             (list 'hang (cons 'delivery-stopped flags) describe (aio-probe-matrix--short steps)))
            ((eq (car outcome) 'returned)
             (let ((errors (cl-remove-if-not #'consp steps)))
               (if errors
                   (list (if (cl-every #'aio-probe-matrix--clean-error-p errors) 'clean 'dirty)
                         flags describe (aio-probe-matrix--short errors))
                 (list 'accepted flags describe (aio-probe-matrix--short steps)))))
            (t (let ((class (aio-probe-matrix--classify outcome nil nil)))
                 (list (car class) flags describe (cadr class))))))))

;;;; The child: the run

(defun aio-probe-matrix--timed (thunk)
  "Return the record made by THUNK, with the milliseconds it took appended."
  (let* ((start (float-time))
         (record (funcall thunk)))
    (append record (list (round (* 1000 (- (float-time) start)))))))

(defun aio-probe-matrix-main ()
  "Run every call of the matrix from parameter :start on; log to :progress."
  (aio-probe-quiet)
  (let* ((progress (aio-probe-param :progress nil))
         (start (aio-probe-param :start 0))
         (fast (aio-probe-param :fast nil))
         (refused (aio-probe-refused-url))
         (inhibit-message t)
         (calls nil))
    (setq aio-probe-matrix-hang-seconds (aio-probe-param :hang-seconds aio-probe-matrix-hang-seconds))
    (setq aio-probe-matrix-settle-seconds (aio-probe-param :settle-seconds aio-probe-matrix-settle-seconds))
    (setq aio-probe-matrix--refused refused)
    (setq aio-probe-refused-port (string-to-number (car (last (split-string refused ":")))))
    (aio-native-init)
    (aio-probe-matrix--warm-up)
    ;; Runaway memory becomes an error here instead of the machine's
    ;; problem: a limit above what the warmed-up loop takes.
    (aio-probe-limit-memory (aio-probe-param :headroom (* 1024 1024 1024)))
    (setq calls (aio-probe-matrix-calls fast))
    (when (zerop start)
      (aio-probe-write progress
                       (list 'total (length calls)
                             :functions (aio-probe-matrix-functions)
                             :settings (aio-probe-matrix-settings)
                             :unspecified (cl-loop for (f . _) in (aio-probe-matrix-functions)
                                                   unless (assq f aio-probe-specs) collect f))
                       t))
    (let ((i start)
          (exhausted nil))
      ;; After memory ran out, every collection crawls near the limit:
      ;; the next child goes on from the next call.
      (while (and (< i (length calls)) (not exhausted))
        (let* ((call (aref calls i))
               (record (progn
                         (aio-probe-write progress (list 'S i (format "%S" call)) t)
                         (aio-probe-matrix--timed
                          (lambda ()
                            (condition-case err
                                (if (eq (nth 1 call) 'setting)
                                    (aio-probe-matrix--run-setting call refused)
                                  (aio-probe-matrix--run-function-call call))
                              ;; The probe's own failure: say so, go on.
                              ((error aio-cancel)
                               (aio-probe-matrix--restore)
                               (list 'probe-error nil (format "%S" call)
                                     (aio-probe-matrix--short err)))))))))
          (aio-probe-write progress (cons 'R (cons i record)) t)
          (setq exhausted (or memory-full
                              (string-match-p "out of memory\\|memory exhausted"
                                              (downcase (format "%s" (nth 3 record))))))
          (setq i (1+ i))))
      (unless exhausted
        (aio-probe-write progress '(done) t)))
    (kill-emacs 0)))

(provide 'aio-probe-matrix)
;;; aio-probe-matrix.el ends here
