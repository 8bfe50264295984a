;;; aio-probe-specs.el --- What each public and module function accepts  -*- lexical-binding: t -*-

;;; Commentary:

;; The argument types of every function the bad-input matrix calls.  A
;; type says which values are valid (so that a call with an invalid
;; one that returns normally is reported as accepted though it should
;; have been refused), gives a valid baseline value (the matrix changes
;; one argument at a time), and names the pools of values to try.
;;
;; The functions themselves are not listed by hand: the matrix collects
;; every `aio-' function and macro defined in lisp/ and every function
;; the module defines.  One without a spec here is still called, with
;; every argument of type `any', and reported as unspecified, which
;; fails the matrix test until it gets a spec.
;;
;; Macros are called through a template: a function that makes the form
;; to evaluate from the macro call.  A macro argument is `(:quote TYPE)'
;; when its value is evaluated at run time (it is passed quoted), or a
;; syntax type when it is code (it is passed as it is).

;;; Code:

(require 'cl-lib)
(require 'subr-x)
(require 'aio)
(require 'aio-probe-values)

(declare-function aio-native--running-p "aio-native-module" ())

;;; Predicates

(defun aio-probe-specs--seconds-p (v)
  "Return non-nil if V is a duration a timer takes: 0 to 1e9 seconds."
  (and (numberp v) (<= 0 v 1e9)))

(defun aio-probe-specs--token-p (v)
  "Return non-nil if V is an HTTP token (a method or header name)."
  (and (stringp v) (string-match-p "\\`[!#$%&'*+.^_`|~0-9A-Za-z-]+\\'" v)))

(defun aio-probe-specs--clean-string-p (v)
  "Return non-nil if V is a string without NUL, CR or LF."
  (and (stringp v) (not (string-match-p "[\0\r\n]" v))))

(defun aio-probe-specs--header-p (field)
  "Return non-nil if FIELD is a valid (NAME . VALUE) of `aio-http-request'."
  (and (consp field)
       (let ((name (car field)) (value (cdr field)))
         (and (or (aio-probe-specs--token-p name)
                  (and name (symbolp name) (aio-probe-specs--token-p (symbol-name name))))
              (or (numberp value) (aio-probe-specs--clean-string-p value))))))

(defun aio-probe-specs--headers-p (v)
  "Return non-nil if V is a valid :headers alist."
  (and (proper-list-p v) (cl-every #'aio-probe-specs--header-p v)))

(defun aio-probe-specs--header-lines-p (v)
  "Return non-nil if V is a proper list of header lines for the module."
  (and (proper-list-p v) (cl-every #'aio-probe-specs--clean-string-p v)))

(defun aio-probe-specs--name-p (v)
  "Return non-nil if V may name a function, as for `defun'."
  (and (symbolp v) v))

(defun aio-probe-specs--arglist-p (v)
  "Return non-nil if V is a lambda list."
  (and (proper-list-p v)
       (cl-every (lambda (a) (and (symbolp a) a (not (eq a t)) (not (keywordp a)))) v)))

(defun aio-probe-specs--native-options-p (v)
  "Return non-nil if V is a valid options plist of `aio-native--http-start'."
  (and (proper-list-p v) (cl-evenp (length v))
       (let ((ok t))
         (cl-loop for (key value) on v by #'cddr
                  do (pcase key
                       ((or :timeout :connect-timeout)
                        (unless (or (null value) (and (numberp value) (< 0 value) (<= value 1e9)))
                          (setq ok nil)))
                       (:max-size (unless (or (null value) (and (integerp value) (> value 0)
                                                                (< value (expt 2 63))))
                                    (setq ok nil)))
                       (:max-redirects (unless (or (null value) (and (natnump value) (<= value 1000)))
                                         (setq ok nil)))
                       (:proxy (unless (or (null value) (aio-probe-specs--clean-string-p value))
                                 (setq ok nil)))))
         ok)))

;; Streams, processes, files

(defun aio-probe-specs--file-form-p (v)
  "Return non-nil if V is a (file PATH) form, PATH a string a C string can hold."
  (and (consp v) (eq (car v) 'file) (consp (cdr v)) (null (cddr v))
       (aio-probe-specs--clean-string-p (cadr v))))

(defun aio-probe-specs--strings-p (v)
  "Return non-nil if V is a proper list of strings."
  (and (proper-list-p v) (cl-every #'stringp v)))

(defun aio-probe-specs--condition-p (v)
  "Return non-nil if V is an error condition: (ERROR-SYMBOL . DATA)."
  (and (consp v) (car v) (symbolp (car v)) (get (car v) 'error-conditions) t))

(defun aio-probe-specs--task-p (v)
  "Return non-nil if V is the record of a task of an async function."
  (eq (type-of v) 'aio--task))

;;; Types

(defconst aio-probe-types
  `(;; (TYPE VALID-P BASELINE POOLS), BASELINE a function of no arguments.
    (any ,(lambda (_) t) ,#'ignore (aio-probe-values))
    ;; A forged record passes `aio-promise-p' too, the library's own
    ;; test: it counts as a promise.
    (promise aio-promise-p ,(lambda () (aio-probe-values--resolved (lambda () 'value)))
             (aio-probe-values))
    (condition listp ,(lambda () (list 'error "Probe")) (aio-probe-values))
    (function functionp ,(lambda () #'ignore) (aio-probe-values))
    (seconds aio-probe-specs--seconds-p ,(lambda () 0.001) (aio-probe-values))
    (wait-timeout ,(lambda (v) (or (null v) (and (numberp v) (>= v 0))))
                  ,(lambda () 0.5) (aio-probe-values))
    (natnum natnump ,(lambda () 1) (aio-probe-values))
    (maxsize ,(lambda (v) (or (null v) (natnump v))) ,#'ignore (aio-probe-values))
    (values ,#'proper-list-p
            ,(lambda () (list (aio-probe-values--resolved (lambda () 1)) 2))
            (aio-probe-values))
    (values-nonempty ,(lambda (v) (and v (proper-list-p v)))
                     ,(lambda () (list (aio-probe-values--resolved (lambda () 1)) 2))
                     (aio-probe-values))
    (promises-opt ,(lambda (v) (and (proper-list-p v) (cl-every #'aio-promise-p v)))
                  ,#'ignore (aio-probe-values))
    (event aio-event-p aio-event (aio-probe-values))
    (lock aio-lock-p aio-lock (aio-probe-values))
    (queue aio-queue-p aio-queue (aio-probe-values))
    (sem aio-sem-p ,(lambda () (aio-sem 1)) (aio-probe-values))
    (select aio-select-p aio-make-select (aio-probe-values))
    (group aio-task-group-p ,#'ignore (aio-probe-values))
    (response aio-http-response-p
              ,(lambda () (aio-http--make-response :status 200 :headers (list (cons "a" "b"))))
              (aio-probe-values))
    (header-name ,(lambda (v) (or (stringp v) (symbolp v))) ,(lambda () "a") (aio-probe-values))
    (url stringp ,(lambda () (aio-probe-values--url "/"))
         (:no-strings aio-probe-values aio-probe-url-values))
    (proxy ,(lambda (v) (or (null v) (stringp v))) ,(lambda () "")
           (:no-strings aio-probe-values aio-probe-proxy-values))
    ;; Nil: the default method.
    (method ,(lambda (v) (or (null v) (aio-probe-specs--token-p v)
                             (and v (symbolp v) (aio-probe-specs--token-p (symbol-name v)))))
            ,(lambda () "GET") (aio-probe-values))
    (headers aio-probe-specs--headers-p ,#'ignore (aio-probe-values aio-probe-header-values))
    (body ,(lambda (v) (or (null v) (stringp v) (aio-probe-specs--file-form-p v))) ,#'ignore
          (aio-probe-values aio-probe-body-file-values))
    ;; As url.el takes them: names and values concatenated as they are.
    (url-headers ,(lambda (v) (and (proper-list-p v)
                                   (cl-every (lambda (field)
                                               (and (consp field)
                                                    (aio-probe-specs--clean-string-p (car field))
                                                    (or (null (cdr field))
                                                        (aio-probe-specs--clean-string-p (cdr field)))))
                                             v)))
                 ,#'ignore (aio-probe-values aio-probe-header-values))
    ;; url.el sends a string (trimmed), calls a function, and sends
    ;; nothing for other values.
    (user-agent ,(lambda (v) (or (not (stringp v))
                                 (aio-probe-specs--clean-string-p (string-trim v))))
                ,#'ignore (aio-probe-values))
    (http-seconds ,(lambda (v) (or (null v) (and (numberp v) (< 0 v) (<= v 1e9))))
                  ,#'ignore (aio-probe-values))
    (redirects ,(lambda (v) (or (null v) (and (natnump v) (<= v 1000)))) ,(lambda () 20) (aio-probe-values))
    (max-size ,(lambda (v) (or (null v) (and (integerp v) (> v 0)))) ,#'ignore (aio-probe-values))
    (as ,(lambda (v) (or (memq v '(nil string text buffer stream))
                         (aio-probe-specs--file-form-p v)))
        ,(lambda () 'string) (aio-probe-values aio-probe-as-values))
    ;; Refused whatever the value: `aio-http-download''s :as.
    (forbidden ,#'ignore ,#'ignore (aio-probe-values))
    (function-opt ,(lambda (v) (or (null v) (functionp v))) ,#'ignore (aio-probe-values))
    ;; Never outside a temporary directory: no strings of the general pool.
    (download-path aio-probe-specs--clean-string-p ,(lambda () (aio-probe-values--path "download"))
                   (:no-strings aio-probe-values aio-probe-path-values))
    ;; A readable file that is not a directory: its contents are for
    ;; the handshake to judge.
    (ca-file ,(lambda (v) (or (null v)
                              (and (stringp v)
                                   (ignore-errors
                                     (let ((path (expand-file-name v)))
                                       (and (not (file-remote-p path)) (file-readable-p path)
                                            (not (file-directory-p path))))))))
             ,#'ignore (aio-probe-values))
    (native-id ,(lambda (v) (and (natnump v) (<= v most-positive-fixnum)))
               aio-probe-specs--fresh-id (aio-probe-values))
    (native-seconds aio-probe-specs--seconds-p ,(lambda () 0.001) (aio-probe-values))
    (native-method ,(lambda (v) (and (aio-probe-specs--clean-string-p v) (not (string-empty-p v))
                                     (not (string-match-p "[ \t]" v))))
                   ,(lambda () "GET") (aio-probe-values))
    (header-lines aio-probe-specs--header-lines-p ,#'ignore
                  (aio-probe-values aio-probe-header-line-values))
    (native-options aio-probe-specs--native-options-p ,(lambda () (list :timeout 1))
                    (aio-probe-values aio-probe-option-values))
    (drain-max ,(lambda (v) (or (null v) (and (integerp v) (<= 1 v (1- (expt 2 31))))))
               ,#'ignore (aio-probe-values))
    (wake-process ,(lambda (v) (and (processp v) (eq v aio-native--process)))
                  ,#'ignore (aio-probe-values))
    (native-bytes ,(lambda (v) (and (integerp v) (<= 0 v (1- (expt 2 63)))))
                  ,(lambda () 1) (aio-probe-values))
    (native-ids ,(lambda (v) (and (proper-list-p v)
                                  (cl-every (lambda (id) (and (natnump id) (<= id most-positive-fixnum)))
                                            v)))
                ,(lambda () (list (aio-probe-specs--fresh-id))) (aio-probe-values))
    (connection-cap ,(lambda (v) (and (integerp v) (<= 1 v 100000))) ,(lambda () 256)
                    (aio-probe-values))
    (idle-cap ,(lambda (v) (and (integerp v) (<= 0 v 100000))) ,(lambda () 64) (aio-probe-values))
    ;; Streams: one with a value buffered, open; ended ones with values
    ;; for the functions that read them to their end.
    (stream aio-stream-p ,(lambda () (aio-probe-values--stream (list "a\n")))
            (aio-probe-values aio-probe-stream-values))
    (ended-stream aio-stream-p ,(lambda () (aio-probe-values--stream (list "a\n" "b\n") t))
                  (aio-probe-values aio-probe-stream-values))
    (json-stream aio-stream-p ,(lambda () (aio-probe-values--stream (list "{\"a\":1}\n" "[2]\n") t))
                 (aio-probe-values aio-probe-stream-values))
    (sse-stream aio-stream-p ,(lambda () (aio-probe-values--stream (list "data: 1\n\n") t))
                (aio-probe-values aio-probe-stream-values))
    (stream-size natnump ,(lambda () 4) (aio-probe-values))
    (byte-bound ,(lambda (v) (or (null v) (and (natnump v) (> v 0)))) ,#'ignore (aio-probe-values))
    (byte-size ,(lambda (v) (and (natnump v) (> v 0))) ,(lambda () 1024)
               (aio-probe-values aio-probe-size-values))
    (stream-error ,(lambda (v) (or (null v) (aio-probe-specs--condition-p v))) ,#'ignore
                  (aio-probe-values))
    (proper-list proper-list-p ,(lambda () (list 1 2)) (aio-probe-values))
    (coding ,(lambda (v) (or (null v) (coding-system-p v))) ,#'ignore
            (aio-probe-values aio-probe-coding-values))
    (json-object-type ,(lambda (v) (memq v '(hash-table alist plist))) ,(lambda () 'alist)
                      (aio-probe-values))
    (json-array-type ,(lambda (v) (memq v '(array list))) ,(lambda () 'list) (aio-probe-values))
    (sse-event aio-sse-event-p ,(lambda () (aio-sse--make-event "message" "x" nil nil))
               (aio-probe-values))
    (task ,(lambda (v) (or (null v) (aio-probe-specs--task-p v))) ,#'ignore
          (aio-probe-values aio-probe-task-values))
    (clock-seconds ,(lambda (v) (and (numberp v) (>= v 0))) ,(lambda () 1) (aio-probe-values))
    ;; Processes run cat, which the matrix kills after the call.
    (process aio-process-p aio-probe-values--process (aio-probe-values aio-probe-process-values))
    (command ,(lambda (v) (and (consp v) (aio-probe-specs--strings-p v))) ,(lambda () (list "cat"))
             (aio-probe-values aio-probe-command-values))
    (process-name ,(lambda (v) (or (null v) (stringp v))) ,#'ignore (aio-probe-values))
    (connection-type ,(lambda (v) (memq v '(pipe pty))) ,(lambda () 'pipe) (aio-probe-values))
    (process-coding ,(lambda (v) (or (null v) (coding-system-p v)
                                     (and (consp v) (coding-system-p (car v))
                                          (coding-system-p (cdr v)))))
                    ,#'ignore (aio-probe-values aio-probe-coding-values))
    (stderr-mode ,(lambda (v) (memq v '(stream merge discard))) ,(lambda () 'stream)
                 (aio-probe-values))
    ;; Never outside a temporary directory: no strings of the general pool.
    (directory ,(lambda (v) (or (null v) (and (aio-probe-specs--clean-string-p v)
                                              (file-directory-p v))))
               ,#'ignore (:no-strings aio-probe-values aio-probe-directory-values))
    (environment aio-probe-specs--strings-p ,#'ignore (aio-probe-values))
    (input ,(lambda (v) (or (null v) (stringp v))) ,#'ignore (aio-probe-values))
    (text stringp ,(lambda () "x\n") (aio-probe-values))
    ;; Macro syntax.
    ;; Never the name of a function: the call would redefine it.
    (name aio-probe-specs--name-p ,(lambda () 'aio-probe-defined)
          (:not-functions aio-probe-values))
    (arglist aio-probe-specs--arglist-p ,#'ignore (aio-probe-values))
    ;; Emacs's own `macroexpand-all' never returns on circular code
    ;; (try `defun' with a circular body): none is given.
    (code ,(lambda (_) t) ,(lambda () '(aio-await (aio-sleep 0.001)))
          (:not-circular aio-probe-values aio-probe-body-forms))
    (place ,(lambda (v) (and (symbolp v) v (not (eq v t)) (not (keywordp v))))
           ,(lambda () 'aio-probe-specs-place) (aio-probe-values))
    (group-spec ,(lambda (v) (and (consp v) (null (cdr v)) (aio-probe-specs--name-p (car v))))
                ,(lambda () '(group)) (aio-probe-values))
    (dostream-spec ,(lambda (v) (and (consp v) (aio-probe-specs--name-p (car v)) (consp (cdr v))
                                     (null (nthcdr 3 v))))
                   ,(lambda () '(aio-probe-value (aio-stream-from-list (list 1 2))))
                   (aio-probe-values aio-probe-dostream-specs)))
  "Argument types: (TYPE VALID-P BASELINE POOLS).
POOLS lists pool variables; (:no-strings aio-probe-values POOL...)
takes the general pool without its strings, and POOL's entries;
\(:not-functions aio-probe-values) the general pool without the names
of functions; (:not-circular aio-probe-values POOL...) without circular
lists.")

(defvar aio-probe-specs--last-id 1000000000000
  "The last operation id the matrix made up for a module call.")

(defun aio-probe-specs--fresh-id ()
  "Return an operation id Lisp will never use."
  (setq aio-probe-specs--last-id (1+ aio-probe-specs--last-id)))

(defvar aio-probe-specs-place nil
  "The place `aio-chain' reads in the matrix's baseline.")

;;; Templates for macros

(defun aio-probe-specs--define (form)
  "Return a form evaluating FORM, a definition, then undoing it.
A name the matrix defines would be a function for the calls after."
  `(unwind-protect ,form
     (when (and ',(cadr form) (symbolp ',(cadr form)))
       (ignore-errors (fmakunbound ',(cadr form))))))

(defun aio-probe-specs--in-async (form)
  "Return a form running FORM in an async function and waiting for it."
  `(aio-wait-for (funcall (aio-lambda () ,form)) 0.5))

(defun aio-probe-specs--chain (form)
  "Return a form running the `aio-chain' FORM on a prepared place."
  `(progn
     (setq aio-probe-specs-place
           (aio-probe-values--resolved (lambda () (cons (aio-promise) 'chained))))
     ,(aio-probe-specs--in-async form)))

(defun aio-probe-specs--lambda (form)
  "Return a form calling the function made by the `aio-lambda' FORM."
  `(aio-wait-for (funcall ,form) 0.5))

(defun aio-probe-specs--promise (form)
  "Return a form waiting for the promise returned by FORM."
  `(aio-wait-for ,form 0.5))

(defun aio-probe-specs--generator (form)
  "Return a form collecting the stream of the generator of FORM to its end."
  `(aio-wait-for (aio-stream-collect (funcall ,form)) 0.5))

(defun aio-probe-specs--in-generator (form)
  "Return a form running FORM in a generator and reading its stream."
  (aio-probe-specs--generator `(aio-stream-lambda () ,form)))

(defun aio-probe-specs--test-clock (form)
  "Return the `aio-with-test-clock' FORM with its body in an async function."
  `(aio-with-test-clock (aio-wait-for (aio-with-async ,@(cdr form)) 1)))

(defun aio-probe-specs--on-test-clock (form)
  "Return a form running FORM under `aio-with-test-clock'."
  `(aio-with-test-clock ,form))

;;; What to do with a value

(defun aio-probe-specs--read (value)
  "Return the values of VALUE, if it is a stream, read to its end; else VALUE.
The lazy work of a stream, and its errors, happen as it is read."
  (if (aio-stream-p value)
      (aio-wait-for (aio-stream-collect value) 0.5)
    value))

(defun aio-probe-specs--http-limits ()
  "Give the running loop the connection caps of the settings again."
  (when (aio-native--running-p)
    (aio-http--apply-limits)))

;;; Specs

(defconst aio-probe-specs
  `((aio-all :args (values))
    (aio-all-settled :args (values))
    (aio-any :args (values) :keys ((:cancel-losers any)))
    (aio-race :args (values-nonempty) :keys ((:cancel-losers any)))
    (aio-await :macro ,#'aio-probe-specs--in-async :args ((:quote any)))
    (aio-backtrace :args ())
    (aio-cancel :args (promise any))
    (aio-catch :args (promise))
    (aio-chain :macro ,#'aio-probe-specs--chain :args (place))
    (aio-defstream :macro ,#'aio-probe-specs--define :args (name arglist) :rest code)
    (aio-defun :macro ,#'aio-probe-specs--define :args (name arglist) :rest code)
    (aio-dostream :macro ,#'aio-probe-specs--in-async :args (dostream-spec) :rest code)
    (aio-lambda :macro ,#'aio-probe-specs--lambda :args (arglist) :rest code)
    (aio-with-async :macro ,#'aio-probe-specs--promise :rest code)
    (aio-with-lock :macro ,#'aio-probe-specs--in-async :args ((:quote lock)) :rest code)
    (aio-with-promise :macro identity :args ((:quote promise)) :rest code)
    (aio-with-timeout :macro ,#'aio-probe-specs--in-async :args ((:quote wait-timeout)) :rest code)
    (aio-task-group :macro ,#'aio-probe-specs--in-async :args (group-spec) :rest code)
    (aio-event :args ())
    (aio-event-clear :args (event))
    (aio-event-is-set :args (event))
    (aio-event-p :args (any))
    (aio-event-set :args (event))
    (aio-event-wait :args (event))
    (aio-http-download :args (url download-path)
                       :keys ((:method method) (:headers headers) (:body body)
                              (:timeout http-seconds) (:idle-timeout http-seconds)
                              (:connect-timeout http-seconds)
                              (:follow-redirects any) (:max-redirects redirects)
                              (:verify-tls any) (:ca-file ca-file) (:max-size max-size)
                              (:proxy proxy) (:on-progress function-opt)
                              (:fail-on-error-status any) (:as forbidden))
                       ;; Documented: a :ca-file that cannot be read.
                       :errors (file-error)
                       :network 2)
    (aio-http-request :args (url)
                      :keys ((:method method) (:headers headers) (:body body)
                             (:timeout http-seconds) (:idle-timeout http-seconds)
                             (:connect-timeout http-seconds)
                             (:follow-redirects any) (:max-redirects redirects)
                             (:verify-tls any) (:ca-file ca-file) (:max-size max-size)
                             (:proxy proxy) (:as as) (:on-progress function-opt)
                             (:fail-on-error-status any))
                      :errors (file-error)
                      :network t)
    (aio-http-response-body :args (response))
    (aio-http-response-header :args (response header-name))
    (aio-http-response-headers :args (response))
    (aio-http-response-p :args (any))
    (aio-http-response-redirects :args (response))
    (aio-http-response-status :args (response))
    (aio-http-response-timings :args (response))
    (aio-http-response-url :args (response))
    (aio-http-response-version :args (response))
    (aio-http-sse :args (sse-stream) :then aio-probe-specs--read)
    (aio-idle :args (seconds any))
    (aio-list-tasks :args ())
    (aio-listen :args (promise function))
    (aio-lock :args ())
    (aio-lock-acquire :args (lock))
    (aio-lock-locked-p :args (lock))
    (aio-lock-p :args (any))
    (aio-lock-release :args (lock))
    (aio-locals :args (task))
    (aio-make-autoload :args (any any any))
    (aio-make-callback :keys ((:tag any) (:once any)))
    (aio-make-select :args (promises-opt))
    (aio-native-compile-module :args () :never-call t)
    (aio-native-init :args ())
    (aio-native-load-module :args ())
    (aio-native-shutdown :args ())
    (aio-native-stats :args ())
    (aio-promise :args ())
    (aio-promise-callbacks :args (promise))
    (aio-promise-release :args (promise))
    (aio-promise-p :args (any))
    (aio-promise-result :args (promise))
    (aio-promise-task :args (promise))
    ;; Documented: `file-missing' (a `file-error') for a program or
    ;; directory that is not there; an unknown coding system is
    ;; refused by Emacs's `check-coding-system'.
    (aio-process :base-keys ((:command command)) :errors (file-error coding-system-error)
                 :keys ((:command command) (:name process-name) (:connection-type connection-type)
                        (:coding process-coding) (:stderr stderr-mode) (:directory directory)
                        (:environment environment) (:noquery any) (:max-bytes byte-size)))
    (aio-process-exit :args (process))
    (aio-process-output :args (command) :errors (file-error coding-system-error)
                        :keys ((:input input) (:directory directory) (:coding process-coding)
                               (:timeout wait-timeout) (:check any)))
    (aio-process-p :args (any))
    (aio-process-process :args (process))
    (aio-process-send :args (process text))
    (aio-process-send-eof :args (process))
    (aio-process-stderr :args (process))
    (aio-process-stdout :args (process))
    (aio-queue :args (maxsize))
    (aio-queue-close :args (queue))
    (aio-queue-closed-p :args (queue))
    (aio-queue-get :args (queue))
    (aio-queue-length :args (queue))
    (aio-queue-p :args (any))
    (aio-queue-put :args (queue any))
    (aio-report-unhandled-error :args (condition any))
    (aio-resolve :args (promise function))
    (aio-result :args (promise))
    (aio-select :args (select))
    (aio-select-add :args (select promise))
    (aio-select-p :args (any))
    (aio-select-promises :args (select))
    (aio-select-ready :args (select))
    (aio-select-remove :args (select promise))
    (aio-select-waiters :args (select))
    (aio-sem :args (natnum))
    (aio-sem-p :args (any))
    (aio-sem-post :args (sem))
    (aio-sem-value :args (sem))
    (aio-sem-wait :args (sem))
    (aio-sem-waiters :args (sem))
    (aio-shield :args (promise))
    (aio-sleep :args (seconds any))
    (aio-sse-event-data :args (sse-event))
    (aio-sse-event-id :args (sse-event))
    (aio-sse-event-p :args (any))
    (aio-sse-event-retry :args (sse-event))
    (aio-sse-event-type :args (sse-event))
    (aio-stream :args (stream-size)
                :keys ((:max-bytes byte-bound) (:on-room function-opt) (:on-close function-opt)))
    (aio-stream-close :args (stream stream-error))
    (aio-stream-closed-p :args (stream))
    (aio-stream-collect :args (ended-stream))
    (aio-stream-filter :args (function ended-stream) :then aio-probe-specs--read)
    (aio-stream-from-list :args (proper-list) :then aio-probe-specs--read)
    ;; Documented: a line that is no JSON fails it with a `json-error'.
    (aio-stream-json :args (json-stream) :errors (json-error)
                     :keys ((:object-type json-object-type) (:array-type json-array-type)
                            (:null-object any) (:false-object any))
                     :then aio-probe-specs--read)
    (aio-stream-lambda :macro ,#'aio-probe-specs--generator :args (arglist) :rest code)
    (aio-stream-length :args (stream))
    (aio-stream-lines :args (ended-stream coding) :then aio-probe-specs--read
                      :errors (coding-system-error))
    (aio-stream-map :args (function ended-stream) :then aio-probe-specs--read)
    (aio-stream-merge :rest ended-stream :then aio-probe-specs--read)
    (aio-stream-next :args (stream))
    (aio-stream-p :args (any))
    (aio-stream-push :args (stream any))
    (aio-stream-take :args (ended-stream natnum) :then aio-probe-specs--read)
    (aio-stream-write :args (stream any))
    (aio-task-group-other-errors :args (any))
    (aio-task-group-p :args (any))
    (aio-task-group-spawn :args (group function))
    (aio-tasks-cancel :args ())
    (aio-tasks-mode :args ())
    (aio-test-clock-advance :macro ,#'aio-probe-specs--on-test-clock :args ((:quote clock-seconds)))
    (aio-test-clock-now :macro ,#'aio-probe-specs--on-test-clock :args ())
    (aio-timeout :args (seconds))
    (aio-trace-log-mode :args ())
    (aio-trace-mode :args (any))
    (aio-url-retrieve :args (url any any) :network t
                      :vars ((url-request-method . method)
                             (url-request-data . body)
                             (url-request-extra-headers . url-headers)
                             (url-user-agent . user-agent)
                             (url-max-redirections . any)))
    (aio-wait-for :args (promise wait-timeout))
    (aio-with-test-clock :macro ,#'aio-probe-specs--test-clock :rest code)
    (aio-yield :macro ,#'aio-probe-specs--in-generator :args ((:quote any)))
    ;; Module functions.
    (aio-native--init :args (wake-process))
    (aio-native--shutdown :args ())
    (aio-native--running-p :args ())
    (aio-native--set-wake-enabled :args (any))
    (aio-native--drain :args (drain-max))
    (aio-native--stats :args ())
    (aio-native--timer-start :args (native-id native-seconds) :native timer)
    (aio-native--timer-stage :args (native-id native-seconds) :native timer)
    (aio-native--timer-cancel :args (native-id))
    (aio-native--http-start :args (native-id url native-method header-lines body native-options)
                            :native http :network t)
    (aio-native--http-cancel :args (native-id))
    (aio-native--http-ack :args (native-id native-bytes))
    (aio-native--http-stream-start :args (native-id any))
    (aio-native--http-limits :args (connection-cap connection-cap idle-cap)
                             :after aio-probe-specs--http-limits)
    (aio-native--timer-times :args (native-ids)))
  "Function specs: (FUNCTION . PLIST).
:args lists the types of the positional arguments, required then
optional; :rest the type of the rest arguments; :keys ((KEYWORD TYPE)...)
the keyword arguments that follow :args; :base-keys ((KEYWORD
TYPE)...) keyword arguments every call passes, with their baselines
\(unless it changes that keyword); :macro the template that makes the
form to evaluate; :vars ((VARIABLE . TYPE)...) the dynamic variables
the function reads; :network non-nil if a URL or proxy argument may
reach the network: the URL is the first argument, and the options
plist follows the first argument, or the first N if it is a number
N; :native `timer' or `http' if the function starts a native
operation whose id is its first argument; :then a function the value
of each call is passed through (it runs in the call's time limit);
:after a function called after each call, to undo what a valid one
changed; :errors the error symbols the function is documented to
signal besides the usual ones, which refuse properly; :never-call
non-nil if no valid call may be made (it would build the module).")

(defconst aio-probe-settings-context
  '((aio-native-poll-interval (aio-native-wake-method . timer)))
  "Settings that matter only with others set: (VARIABLE (OTHER . VALUE)...).")

(defconst aio-probe-settings-values
  `((wake-channel t . ,(lambda () 'channel))
    (wake-timer t . ,(lambda () 'timer))
    (unknown-symbol t . ,(lambda () 'aio-probe-bogus)))
  "Values tried for every setting besides the general pool.")

(defun aio-probe-type (type)
  "Return the definition (TYPE VALID-P BASELINE POOLS) of TYPE."
  (or (assq type aio-probe-types)
      (error "No argument type %S" type)))

(defun aio-probe-type-valid-p (type value)
  "Return non-nil if VALUE is valid for TYPE (a type or (:quote TYPE))."
  (funcall (nth 1 (aio-probe-type (if (consp type) (cadr type) type))) value))

(defun aio-probe-type-baseline (type)
  "Return a fresh valid value of TYPE (a type or (:quote TYPE))."
  (funcall (nth 2 (aio-probe-type (if (consp type) (cadr type) type)))))

(defun aio-probe-type-pool (type fast)
  "Return the pool entries to try for TYPE; only core ones if FAST."
  (let* ((pools (nth 3 (aio-probe-type (if (consp type) (cadr type) type))))
         (filter (pcase (car pools)
                   (:no-strings (lambda (entry) (stringp (aio-probe-values-make entry))))
                   (:not-functions (lambda (entry)
                                     (let ((v (aio-probe-values-make entry)))
                                       (and (symbolp v) (fboundp v)))))
                   (:not-circular (lambda (entry)
                                    (string-match-p "circular" (symbol-name (car entry))))))))
    (if filter
        (append (cl-remove-if filter (aio-probe-values-pool '(aio-probe-values) fast))
                (aio-probe-values-pool (cddr pools) fast))
      (aio-probe-values-pool pools fast))))

;; The file and DNS functions: aio-probe-specs-files.el.
(require 'aio-probe-specs-files)
(setq aio-probe-types (append aio-probe-types aio-probe-specs-files-types))
(setq aio-probe-specs (append aio-probe-specs aio-probe-specs-files-specs))

;; The TCP functions: aio-probe-specs-tcp.el.
(require 'aio-probe-specs-tcp)
(setq aio-probe-types (append aio-probe-types aio-probe-specs-tcp-types))
(setq aio-probe-specs (append aio-probe-specs aio-probe-specs-tcp-specs))

;; The HTTP server's functions: aio-probe-specs-server.el.
(require 'aio-probe-specs-server)
(setq aio-probe-types (append aio-probe-types aio-probe-specs-server-types))
(setq aio-probe-specs (append aio-probe-specs aio-probe-specs-server-specs))

(provide 'aio-probe-specs)
;;; aio-probe-specs.el ends here
