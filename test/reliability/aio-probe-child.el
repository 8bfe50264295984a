;;; aio-probe-child.el --- What every reliability probe runs on  -*- lexical-binding: t -*-

;;; Commentary:

;; Loaded by the child Emacs in which each probe runs (see aio-probe.el
;; for the side that starts it): the probe's parameters, its report, the
;; process's descriptors and memory, the fault server, and waiting.
;;
;; A probe reads its parameters with `aio-probe-param' and ends with
;; `aio-probe-report', which writes a plist for the parent to read.

;;; Code:

(require 'cl-lib)
;; No `require' of aio, not even `eval-when-compile' (which loads it
;; when this file runs from source): the probe of captured names
;; (aio-probe-capture.el) must load aio itself, after it has defined
;; variables.

(declare-function aio-listen "aio-promise" (promise callback))
(declare-function aio-wait-for "aio-promise" (promise &optional timeout))
(declare-function aio-native-stats "aio-native" ())
(declare-function aio-http-request "aio-http" (url &rest args))
(declare-function aio-http-response-status "aio-http" (response))
(defvar aio-unhandled-error-function)

(defconst aio-probe-child--directory
  (file-name-directory (or load-file-name buffer-file-name))
  "The directory of the probes.")

(defconst aio-probe-fault-server
  (expand-file-name "../servers/fault_server.py" aio-probe-child--directory)
  "The fault-injecting HTTP server.")

;;; Parameters and report

(defvar aio-probe-child--params
  (let ((text (getenv "AIO_PROBE_ARGS")))
    (and text (car (read-from-string text))))
  "The plist of parameters the parent gave this probe.")

(defun aio-probe-param (key default)
  "Return parameter KEY of this probe, or DEFAULT if it was not given."
  (if (plist-member aio-probe-child--params key)
      (plist-get aio-probe-child--params key)
    default))

(defun aio-probe-write (file object &optional append)
  "Write OBJECT's printed form and a newline to FILE; APPEND if non-nil.
Newlines and control characters are escaped, so that one object is one
line, and shared structure is printed with labels."
  (let ((print-circle t)
        (print-escape-newlines t)
        (print-escape-control-characters t)
        (print-length nil)
        (print-level nil)
        (coding-system-for-write 'utf-8-emacs-unix))
    (write-region (concat (prin1-to-string object) "\n") nil file append 0)))

(defun aio-probe-report (result)
  "Hand RESULT, a plist, to the parent; also print it."
  (let ((file (getenv "AIO_PROBE_OUT")))
    (when file
      (aio-probe-write file result)))
  (princ (format "RESULT %S\n" result)))

(defun aio-probe-note (format-string &rest args)
  "Print a progress line made by FORMAT-STRING and ARGS on standard output."
  (princ (concat (apply #'format format-string args) "\n")))

;;; Descriptors and memory

(defun aio-probe-fd-table (&optional pid)
  "Return the open descriptors of process PID (default Emacs) as an alist.
Each element is (FD . TARGET), TARGET what /proc says the descriptor
is, such as \"socket:[1234]\" or \"pipe:[99]\"."
  (let ((dir (format "/proc/%s/fd" (or pid "self")))
        (table nil))
    (dolist (name (ignore-errors (directory-files dir nil "\\`[0-9]+\\'" t)))
      (let ((target (ignore-errors (file-symlink-p (expand-file-name name dir)))))
        (when target
          (push (cons (string-to-number name) target) table))))
    ;; The directory listing itself held one descriptor, now closed.
    (sort table (lambda (a b) (< (car a) (car b))))))

(defun aio-probe-fd-count (&optional pid)
  "Return the number of open descriptors of process PID (default Emacs)."
  (length (aio-probe-fd-table pid)))

(defun aio-probe-sockets (&optional pid)
  "Return the number of sockets held by process PID (default Emacs)."
  (cl-count-if (lambda (entry) (string-prefix-p "socket:" (cdr entry)))
               (aio-probe-fd-table pid)))

(defun aio-probe-status-field (field &optional pid)
  "Return FIELD of /proc/PID/status (default Emacs) as a number, or nil.
Sizes there are in kB."
  (with-temp-buffer
    (when (ignore-errors
            (insert-file-contents-literally (format "/proc/%s/status" (or pid "self")))
            t)
      (when (re-search-forward (concat "^" (regexp-quote field) ":[ \t]*\\([0-9]+\\)") nil t)
        (string-to-number (match-string 1))))))

(defun aio-probe-vmsize ()
  "Return Emacs's virtual memory size in bytes."
  (* 1024 (aio-probe-status-field "VmSize")))

(defun aio-probe-prlimit (resource value)
  "Set RESOURCE of this Emacs to VALUE with prlimit(1); return non-nil if done.
RESOURCE is prlimit's option name, such as \"as\" or \"nofile\"; VALUE
a string such as \"1000000\" or \"256:20000\"."
  (and (executable-find "prlimit")
       (eql 0 (call-process "prlimit" nil nil nil
                            (format "--pid=%d" (emacs-pid))
                            (format "--%s=%s" resource value)))))

(defun aio-probe-limit-memory (headroom)
  "Limit Emacs's address space to its present size plus HEADROOM bytes.
Return the limit, in bytes."
  (let ((limit (+ (aio-probe-vmsize) headroom)))
    (unless (aio-probe-prlimit "as" (number-to-string limit))
      (error "Could not limit the address space with prlimit"))
    limit))

(defun aio-probe-rlimit (field)
  "Return the soft limit FIELD (\"Max open files\"...) of Emacs, or nil."
  (with-temp-buffer
    (insert-file-contents-literally "/proc/self/limits")
    (when (re-search-forward (concat "^" (regexp-quote field) " +\\([0-9]+\\|unlimited\\)") nil t)
      (string-to-number (match-string 1)))))

;;; Waiting

(defun aio-probe-wait (predicate seconds)
  "Process events until PREDICATE is non-nil or SECONDS pass; return its value."
  (let ((deadline (+ (float-time) seconds)))
    (while (and (not (funcall predicate)) (< (float-time) deadline))
      (accept-process-output nil 0.005))
    (funcall predicate)))

(defun aio-probe-busy-wait (predicate seconds)
  "Wait until PREDICATE is non-nil or SECONDS pass, processing no events.
Completions pile up in the native loop's outbox meanwhile, as they do
while Lisp is busy; return PREDICATE's value."
  (let ((deadline (+ (float-time) seconds)))
    (while (and (not (funcall predicate)) (< (float-time) deadline))
      (let ((until (+ (float-time) 0.002)))
        (while (< (float-time) until))))
    (funcall predicate)))

(defun aio-probe-stat (key)
  "Return KEY of `aio-native-stats'."
  (plist-get (aio-native-stats) key))

(defun aio-probe-pending ()
  "Return the number of native operations Lisp waits for."
  (aio-probe-stat :lisp-pending))

(defun aio-probe-quiesced-p ()
  "Return non-nil once the loop has nothing pending that Lisp does not know."
  (let ((stats (aio-native-stats)))
    (or (not (plist-get stats :running))
        (= (+ (or (plist-get stats :timers-pending) 0)
              (or (plist-get stats :http-pending) 0)
              (or (plist-get stats :files-pending) 0)
              (or (plist-get stats :dns-pending) 0))
           (plist-get stats :lisp-pending)))))

;;; Settlement bookkeeping

(defun aio-probe-tracker (n)
  "Return a tracker of N promises: a vector of settle counts and outcomes.
Use `aio-probe-track' to watch a promise under an index."
  (list :counts (make-vector n 0) :outcomes (make-vector n nil)))

(defun aio-probe-outcome (value-function)
  "Return the outcome of VALUE-FUNCTION: (ok . VALUE) or (ERROR-SYMBOL . DATA)."
  (condition-case err
      (cons 'ok (funcall value-function))
    ((error aio-cancel) err)))

(defun aio-probe-track (tracker index promise &optional on-settle)
  "Count each settlement of PROMISE under INDEX of TRACKER.
ON-SETTLE, if non-nil, is called with INDEX and the outcome."
  (let ((counts (plist-get tracker :counts))
        (outcomes (plist-get tracker :outcomes)))
    (aio-listen promise
                (lambda (value-function)
                  (aset counts index (1+ (aref counts index)))
                  (let ((outcome (aio-probe-outcome value-function)))
                    (aset outcomes index outcome)
                    (when on-settle (funcall on-settle index outcome)))))
    promise))

(defun aio-probe-settled-count (tracker)
  "Return how many promises of TRACKER settled at least once."
  (cl-count-if-not #'zerop (plist-get tracker :counts)))

(defun aio-probe-settle-figures (tracker)
  "Return (:settled-once N :unsettled N :settled-twice N) for TRACKER."
  (let ((counts (plist-get tracker :counts)))
    (list :settled-once (cl-count 1 counts)
          :unsettled (cl-count 0 counts)
          :settled-twice (cl-count-if (lambda (n) (> n 1)) counts))))

(defun aio-probe-sorted (alist)
  "Return ALIST sorted by the printed form of its keys."
  (sort alist (lambda (a b) (string< (format "%s" (car a)) (format "%s" (car b))))))

(defun aio-probe-tally (outcomes)
  "Return an alist (SYMBOL . COUNT) of the outcome symbols in OUTCOMES."
  (let ((tally nil))
    (mapc (lambda (outcome)
            (let* ((key (if outcome (car outcome) 'unsettled))
                   (cell (assoc key tally)))
              (if cell (setcdr cell (1+ (cdr cell))) (push (cons key 1) tally))))
          outcomes)
    (sort tally (lambda (a b) (> (cdr a) (cdr b))))))

;;; The fault server

(defvar aio-probe-servers nil
  "The fault servers this Emacs started, a list of processes.")

(defun aio-probe-start-server (&rest args)
  "Start the fault server with command line ARGS; return its process.
The process's `port' property is the port it serves on, its `ports'
property the list of them when ARGS ask for several listeners."
  (let* ((buffer (generate-new-buffer " *aio-probe-server*"))
         (process (make-process
                   :name "aio-probe-server" :buffer buffer
                   :command (append (list "python3" aio-probe-fault-server) args)
                   :connection-type 'pipe :noquery t
                   :stderr (get-buffer-create " *aio-probe-server-stderr*")))
         (line (if (member "--listeners" args) "^PORTS \\([0-9 ]+\\)\n" "^PORT \\([0-9]+\\)\n"))
         (ports nil))
    (push process aio-probe-servers)
    (aio-probe-wait (lambda ()
                      (with-current-buffer buffer
                        (goto-char (point-min))
                        (when (re-search-forward line nil t)
                          (setq ports (mapcar #'string-to-number
                                              (split-string (match-string 1)))))))
                    20)
    (unless ports
      (error "The fault server did not start: %s"
             (with-current-buffer " *aio-probe-server-stderr*" (buffer-string))))
    (process-put process 'port (car ports))
    (process-put process 'ports ports)
    process))

(defun aio-probe-url (server path &optional port)
  "Return the URL of PATH on SERVER, a process from `aio-probe-start-server'.
PORT, if non-nil, is the port to use instead of SERVER's first."
  (format "http://127.0.0.1:%d%s" (or port (process-get server 'port)) path))

(defun aio-probe-server-faults (server)
  "Return a hash table mapping each path SERVER logged to its fault symbol."
  (let ((table (make-hash-table :test #'equal)))
    (with-current-buffer (process-buffer server)
      (goto-char (point-min))
      (while (re-search-forward "^F \\([^ \n]+\\) \\([a-z-]+\\)$" nil t)
        (puthash (match-string 1) (intern (match-string 2)) table)))
    table))

(defun aio-probe-server-stats (server)
  "Ask SERVER for its counters; return them as a plist."
  (with-current-buffer (process-buffer server)
    (let ((start (point-max)))
      (process-send-string server "stats\n")
      (aio-probe-wait (lambda ()
                        (save-excursion
                          (goto-char start)
                          (re-search-forward "^STATS .*\n" nil t)))
                      10)
      (goto-char start)
      (let ((plist nil))
        (when (re-search-forward "^STATS \\(.*\\)$" nil t)
          (dolist (field (split-string (match-string 1)))
            (let ((pair (split-string field "=")))
              (setq plist (plist-put plist (intern (concat ":" (car pair)))
                                     (string-to-number (cadr pair)))))))
        plist))))

(defun aio-probe-stop-servers ()
  "Stop every fault server; closing its standard input ends it."
  (dolist (process aio-probe-servers)
    (when (process-live-p process)
      (ignore-errors (process-send-eof process))
      (delete-process process))
    (when (buffer-live-p (process-buffer process))
      (kill-buffer (process-buffer process))))
  (setq aio-probe-servers nil))

(add-hook 'kill-emacs-hook #'aio-probe-stop-servers)

(defun aio-probe-refused-port ()
  "Return a port of 127.0.0.1 nobody listens on."
  (let* ((server (make-network-process :name "aio-probe-port" :server t
                                       :host "127.0.0.1" :service t :noquery t))
         (port (process-contact server :service)))
    (delete-process server)
    port))

(defun aio-probe-refused-url ()
  "Return a URL on 127.0.0.1 whose port nobody listens on."
  (format "http://127.0.0.1:%d/" (aio-probe-refused-port)))

;;; Descriptor baselines

(defun aio-probe-get (url)
  "Request URL and wait for it (10 s at most); return the status or the error."
  (condition-case err
      (aio-http-response-status
       (aio-wait-for (aio-http-request url :proxy "" :timeout 10) 15))
    ((error aio-cancel) err)))

(defun aio-probe-fd-baseline (server)
  "Make one request to SERVER; return Emacs's descriptor count afterwards.
The count then includes what the loop and libcurl keep for their whole
life, and one cached connection, as it will after any later request."
  (aio-probe-get (aio-probe-url server "/kind/correct"))
  (aio-probe-fd-count))

(defun aio-probe-fd-settle (server)
  "Let dead cached connections to SERVER go; return the descriptor count.
The server closes idle connections after a second; the next request
lets the client prune them.  Three seconds: the server's close must
have happened even on a loaded machine."
  (aio-probe-wait #'ignore 3)
  (let ((status (aio-probe-get (aio-probe-url server "/kind/correct"))))
    (aio-probe-wait #'ignore 0.2)
    (list :fds (aio-probe-fd-count) :last-request status)))

;;; Errors that escape filters

(defvar aio-probe-filter-errors nil
  "Errors that escaped a process filter or sentinel, newest first.")

(defun aio-probe--command-error (data context signal)
  "Record DATA, an error that escaped a filter, as an interactive Emacs would.
An interactive Emacs reports an error in a filter and goes on; a batch
Emacs kills itself, which would end the probe.  Other errors (CONTEXT
says where from, SIGNAL what signaled) are fatal, as in batch."
  (if (string-prefix-p "error in process" context)
      (progn (push data aio-probe-filter-errors)
             (message "%s%s" context (error-message-string data)))
    (command-error-default-function data context signal)
    (kill-emacs 255)))

(setq command-error-function #'aio-probe--command-error)
(setq backtrace-on-error-noninteractive nil)

;;; Quiet

(defvar aio-probe-unhandled-errors 0
  "How many errors `aio-unhandled-error-function' was given.")

(defun aio-probe-quiet ()
  "Count unhandled async errors instead of warning about each."
  (setq aio-unhandled-error-function
        (lambda (_error _where)
          (setq aio-probe-unhandled-errors (1+ aio-probe-unhandled-errors)))))

(provide 'aio-probe-child)
;;; aio-probe-child.el ends here
