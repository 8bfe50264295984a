;;; aio-probe-faults.el --- Probe: requests against a server injecting faults  -*- lexical-binding: t -*-

;;; Commentary:

;; Run in a child Emacs by aio-probe-test.el.  Thousands of requests,
;; a bounded number at a time, go to test/servers/fault_server.py, which
;; answers each path /r/N with a fault drawn from its seed and N:
;; correct, reset in the headers or the body, stall, garbage, truncated
;; chunked body, a 200 KB header line, an immediate close, or a status
;; code of 999999999999.  Most go
;; through `aio-http-request' with a timeout; every tenth through
;; `aio-url-retrieve', canceled when it runs late.
;;
;; The report says how each promise settled (and how often), per fault,
;; which outcomes break the rules below, and whether buffers,
;; descriptors and pending operations came back to where they were.
;;
;; The rules: a correct answer resolves with its body; a stall ends in
;; `aio-http-timeout'; every other fault rejects with an error under
;; `aio-http-error' (named aio-http-...), never with
;; `aio-http-protocol-error', which is for schemes, nor with an "out of
;; memory" message for a 200 KB header.  `aio-url-retrieve' resolves to
;; a buffer for a correct answer and to a :error status for the others.

;;; Code:

(require 'cl-lib)
(require 'aio)
(require 'aio-url)
(require 'aio-probe-child)

(defun aio-probe-faults--http-class (outcome)
  "Return the class of OUTCOME of an `aio-http-request': a short list.
\(ok STATUS BODY), or (ERROR-SYMBOL MESSAGE)."
  (if (eq (car outcome) 'ok)
      (let ((response (cdr outcome)))
        (list 'ok (aio-http-response-status response) (aio-http-response-body response)))
    (list (car outcome) (if (stringp (cadr outcome)) (cadr outcome) (format "%S" (cdr outcome))))))

(defun aio-probe-faults--url-class (outcome)
  "Return the class of OUTCOME of an `aio-url-retrieve'; kill its buffer.
\(url-ok BODY), (url-error KIND MESSAGE), or (ERROR-SYMBOL MESSAGE)."
  (if (eq (car outcome) 'ok)
      (let* ((status (cadr outcome))
             (buffer (cddr outcome))
             (text (and (buffer-live-p buffer)
                        (with-current-buffer buffer (buffer-string))))
             (error (plist-get status :error)))
        (when (buffer-live-p buffer) (kill-buffer buffer))
        (if error
            (list 'url-error (nth 1 error) (format "%s" (nth 2 error)))
          (list 'url-ok text)))
    (list (car outcome) (format "%S" (cdr outcome)))))

(defun aio-probe-faults--aio-http-error-p (symbol)
  "Return non-nil if SYMBOL is an error named aio-http-... under `aio-http-error'."
  (and (symbolp symbol)
       (string-prefix-p "aio-http-" (symbol-name symbol))
       (memq 'aio-http-error (get symbol 'error-conditions))))

(defun aio-probe-faults--rule-broken (fault via class path)
  "Return a string saying which rule CLASS breaks for FAULT, or nil.
VIA is `http' or `url'; PATH the request's path."
  (let ((what (car class))
        (message (and (stringp (car (last class))) (car (last class)))))
    (pcase via
      ('http
       (cond
        ((eq fault 'correct)
         (unless (equal class (list 'ok 200 (format "ok %s\n" path)))
           "a correct answer must resolve with its body"))
        ((eq fault 'stall)
         (unless (eq what 'aio-http-timeout) "a stall must end in aio-http-timeout"))
        ((and (eq fault 'huge-header) (eq what 'ok))
         (unless (eql (nth 1 class) 200) "a huge header answered must keep its status"))
        ((not (aio-probe-faults--aio-http-error-p what))
         "a fault must reject with an aio-http-... error under aio-http-error")
        ((eq what 'aio-http-protocol-error)
         "aio-http-protocol-error is for schemes, not for a malformed reply")
        ((and message (string-match-p "out of memory" message))
         "a fault that is no memory shortage must not be reported as one")))
      ('url
       (cond
        ((eq fault 'correct)
         (unless (and (eq what 'url-ok) (string-match-p (regexp-quote (format "ok %s" path))
                                                        (nth 1 class)))
           "a correct answer must give a buffer with its body"))
        ((eq fault 'stall)
         (unless (memq what '(aio-cancel aio-http-cancelled)) "a stall must be canceled by the probe"))
        ((and (eq fault 'huge-header) (eq what 'url-ok)) nil)
        ((not (eq what 'url-error))
         "a fault must give a buffer with an :error status")
        ((and message (string-match-p "out of memory" message))
         "a fault that is no memory shortage must not be reported as one"))))))

(defun aio-probe-faults--start (i server timeout url-every tracker on-settle)
  "Start request I to SERVER, tracked in TRACKER with ON-SETTLE.
Requests whose number is a multiple of URL-EVERY go through
`aio-url-retrieve', canceled after TIMEOUT seconds; the others
through `aio-http-request' with that TIMEOUT.  Return `url' or `http'."
  (let ((url (aio-probe-url server (format "/r/%d" i))))
    (if (zerop (% i url-every))
        (let* ((promise (aio-url-retrieve url t))
               (timer (run-at-time timeout nil #'aio-cancel promise)))
          (aio-probe-track tracker i promise
                           (lambda (index outcome)
                             (cancel-timer timer)
                             (funcall on-settle index outcome)))
          'url)
      (aio-probe-track tracker i (aio-http-request url :proxy "" :timeout timeout) on-settle)
      'http)))

(defun aio-probe-faults--tally-by-fault (faults vias classes n)
  "Return an alist (FAULT (OUTCOME-SYMBOL . COUNT)...) over N requests.
FAULTS, VIAS and CLASSES are vectors indexed by request."
  (let ((table nil))
    (dotimes (i n)
      (let* ((key (list (aref faults i) (aref vias i)))
             (entry (or (assoc key table) (car (push (list key) table))))
             (outcome (car (aref classes i)))
             (cell (assq outcome (cdr entry))))
        (if cell (setcdr cell (1+ (cdr cell))) (setcdr entry (cons (cons outcome 1) (cdr entry))))))
    (aio-probe-sorted table)))

(defun aio-probe-faults-main ()
  "Send the requests, then check every outcome and what is left behind."
  (aio-probe-quiet)
  (let* ((n (aio-probe-param :requests 2000))
         (concurrency (aio-probe-param :concurrency 64))
         (timeout (aio-probe-param :timeout 2))
         (url-every (aio-probe-param :url-every 10))
         (seed (aio-probe-param :seed 1))
         (kinds (aio-probe-param :faults '(correct reset-headers reset-body stall garbage
                                                   truncated huge-header close bad-status)))
         (server (aio-probe-start-server "--seed" (number-to-string seed)
                                         "--faults" (mapconcat #'symbol-name kinds ",")))
         (fds-before (aio-probe-fd-baseline server))
         (buffers-before (buffer-list))
         (pending-before (aio-probe-pending))
         (tracker (aio-probe-tracker n))
         (vias (make-vector n nil))
         (classes (make-vector n nil))
         (in-flight 0)
         (next 0)
         (start (float-time)))
    (cl-labels ((settle (index outcome)
                  (setq in-flight (1- in-flight))
                  (aset classes index
                        (if (eq (aref vias index) 'url)
                            (aio-probe-faults--url-class outcome)
                          (aio-probe-faults--http-class outcome)))))
      (while (and (< (aio-probe-settled-count tracker) n)
                  (< (float-time) (+ start 60 (* 2 timeout (/ n concurrency)))))
        (while (and (< next n) (< in-flight concurrency))
          (setq in-flight (1+ in-flight))
          (aset vias next (aio-probe-faults--start next server timeout url-every tracker #'settle))
          (setq next (1+ next)))
        (accept-process-output nil 0.002)))
    (let* ((seconds (- (float-time) start))
           (logged (aio-probe-server-faults server))
           (faults (let ((v (make-vector n nil)))
                     (dotimes (i n)
                       (aset v i (gethash (format "/r/%d" i) logged 'never-arrived)))
                     v))
           (broken nil))
      (dotimes (i n)
        (let ((rule (aio-probe-faults--rule-broken (aref faults i) (aref vias i)
                                                   (aref classes i) (format "/r/%d" i))))
          (when rule
            (push (list i (aref faults i) (aref vias i) rule
                        (let ((class (aref classes i)))
                          (list (car class) (truncate-string-to-width
                                             (format "%s" (car (last class))) 120))))
                  broken))))
      (setq broken (nreverse broken))
      (aio-probe-wait #'aio-probe-quiesced-p 10)
      (let* ((after (aio-probe-fd-settle server))
             (leaked (cl-remove-if (lambda (b) (memq b buffers-before)) (buffer-list))))
        (aio-probe-report
         (append
          (list :requests n :concurrency concurrency :timeout timeout :seed seed
                :url-requests (cl-count 'url vias)
                :seconds seconds
                :faults (aio-probe-tally (mapcar #'list faults))
                :by-fault (aio-probe-faults--tally-by-fault faults vias classes n)
                :broken-count (length broken)
                :broken-rules (aio-probe-tally (mapcar (lambda (b) (list (nth 3 b))) broken))
                :broken-first (cl-subseq broken 0 (min 12 (length broken)))
                :filter-errors (length aio-probe-filter-errors)
                :lisp-pending-before pending-before
                :lisp-pending-after (aio-probe-pending)
                :quiesced (aio-probe-quiesced-p)
                :fds-before fds-before
                :fds-after (plist-get after :fds)
                :last-request (plist-get after :last-request)
                :buffers-left (mapcar #'buffer-name leaked))
          (aio-probe-settle-figures tracker)))))
    (aio-probe-stop-servers)))

(provide 'aio-probe-faults)
;;; aio-probe-faults.el ends here
