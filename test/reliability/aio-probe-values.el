;;; aio-probe-values.el --- The values the bad-input matrix passes  -*- lexical-binding: t -*-

;;; Commentary:

;; Named values for aio-probe-matrix.el.  Each is made afresh for each
;; call by a function of no arguments (a function may keep or change
;; what it is given), except a few that cost much to make and cannot
;; change (a dead process, a killed buffer, huge strings).  Values
;; marked core are the ones `make test' uses; `make test-reliability'
;; uses them all.
;;
;; Strings that a URL or proxy option would send to a resolver are
;; kept out of the general pool: a call must never touch an address
;; off this machine.  `aio-probe-url-values' holds the strings for
;; URL positions, all of them on 127.0.0.1, ::1, or under .invalid
;; (which the library refuses without asking a resolver);
;; `aio-probe-proxy-values' those for proxies, never under .invalid
;; (a proxy's name is looked up).

;;; Code:

(require 'cl-lib)
(require 'aio)
(require 'aio-probe-values-io)

(defvar aio-probe-values--cache (make-hash-table :test #'eq)
  "Values made once: the expensive ones that cannot change.")

(defmacro aio-probe-values--once (name &rest body)
  "Return the value of BODY, computed once and kept under NAME."
  (declare (indent 1))
  `(or (gethash ',name aio-probe-values--cache)
       (puthash ',name (progn ,@body) aio-probe-values--cache)))

(defvar aio-probe-refused-port nil
  "A port on 127.0.0.1 nobody listens on; set by the matrix before it runs.")

(defun aio-probe-values--url (path)
  "Return the URL of PATH on 127.0.0.1's refused port."
  (format "http://127.0.0.1:%d%s" (or aio-probe-refused-port 9) path))

(defun aio-probe-values--circular ()
  "Return a list whose last cdr is the list itself."
  (let ((list (list 1 2 3)))
    (setcdr (cddr list) list)
    list))

(defun aio-probe-values--deep (depth)
  "Return a list nested DEPTH levels deep."
  (let ((value nil))
    (dotimes (_ depth) (setq value (list value)))
    value))

(defun aio-probe-values--resolved (value-function)
  "Return a promise resolved with VALUE-FUNCTION."
  (let ((promise (aio-promise)))
    (aio-resolve promise value-function)
    promise))

(defun aio-probe-values--dead-process ()
  "Return a process that has exited."
  (aio-probe-values--once dead-process
    (let ((process (make-process :name "aio-probe-dead" :command '("true")
                                 :buffer nil :noquery t :connection-type 'pipe)))
      (while (process-live-p process) (accept-process-output process 0.01))
      process)))

(defun aio-probe-values--killed-buffer ()
  "Return a killed buffer."
  (aio-probe-values--once killed-buffer
    (let ((buffer (generate-new-buffer " *aio-probe-killed*")))
      (kill-buffer buffer)
      buffer)))

(defun aio-probe-values--queue (closed)
  "Return a new queue; CLOSED non-nil to close it."
  (let ((queue (aio-queue)))
    (when closed (aio-queue-close queue))
    queue))

(defconst aio-probe-values
  `(;; (NAME CORE . MAKER)
    (nil t . ,(lambda () nil))
    (t nil . ,(lambda () t))
    (zero nil . ,(lambda () 0))
    (one nil . ,(lambda () 1))
    (minus-one t . ,(lambda () -1))
    (forty-two nil . ,(lambda () 42))
    (most-positive-fixnum nil . ,(lambda () most-positive-fixnum))
    (most-negative-fixnum nil . ,(lambda () most-negative-fixnum))
    (bignum t . ,(lambda () (expt 2 100)))
    (negative-bignum nil . ,(lambda () (- (expt 2 100))))
    (zero-float nil . ,(lambda () 0.0))
    (minus-zero-float nil . ,(lambda () -0.0))
    (half nil . ,(lambda () 0.5))
    (minus-half nil . ,(lambda () -0.5))
    (billion-and-one nil . ,(lambda () 1000000001.0))
    (float-1e308 nil . ,(lambda () 1e308))
    (float-minus-1e308 nil . ,(lambda () -1e308))
    (float-minus-1e100 nil . ,(lambda () -1e100))
    (infinity t . ,(lambda () 1.0e+INF))
    (minus-infinity nil . ,(lambda () -1.0e+INF))
    (nan t . ,(lambda () 0.0e+NaN))
    (minus-nan nil . ,(lambda () -0.0e+NaN))
    (denormal nil . ,(lambda () 1e-320))
    (empty-string nil . ,(lambda () ""))
    (string nil . ,(lambda () "x"))
    (string-nul t . ,(lambda () "a\0b"))
    (string-cr nil . ,(lambda () "a\rb"))
    (string-lf nil . ,(lambda () "a\nb"))
    (string-crlf-header t . ,(lambda () "a\r\nX-Injected: 1"))
    (string-multibyte t . ,(lambda () "é ✓ 日本"))
    (string-raw-bytes nil . ,(lambda () (unibyte-string 255 254 0 128)))
    (string-number nil . ,(lambda () "-1"))
    (string-propertized nil . ,(lambda () (propertize "x" 'face 'bold)))
    (string-1mb t . ,(lambda () (aio-probe-values--once s1mb (make-string (* 1024 1024) ?x))))
    (string-10mb nil . ,(lambda () (aio-probe-values--once s10mb (make-string (* 10 1024 1024) ?y))))
    (string-1m-multibyte nil . ,(lambda () (aio-probe-values--once s1mm (make-string (* 1024 1024) ?é))))
    (symbol nil . ,(lambda () 'aio-probe-some-symbol))
    (keyword nil . ,(lambda () :method))
    (unknown-keyword t . ,(lambda () :aio-probe-unknown))
    (list nil . ,(lambda () (list 1 2 3)))
    (improper-list t . ,(lambda () (cons 1 (cons 2 3))))
    (circular-list t . ,#'aio-probe-values--circular)
    (circular-car nil . ,(lambda () (let ((cell (list nil))) (setcar cell cell) cell)))
    (deep-list nil . ,(lambda () (aio-probe-values--deep 10000)))
    (dotted-plist nil . ,(lambda () (cons :method "GET")))
    (odd-plist nil . ,(lambda () (list :method)))
    (alist-of-numbers nil . ,(lambda () (list (cons 1 2))))
    (vector nil . ,(lambda () (vector 1 2 3)))
    (empty-vector nil . ,(lambda () (vector)))
    (bool-vector nil . ,(lambda () (make-bool-vector 3 t)))
    (char-table nil . ,(lambda () (make-char-table 'aio-probe)))
    (hash-table nil . ,(lambda () (make-hash-table)))
    (record nil . ,(lambda () (record 'aio-probe-record 1 2)))
    (forged-promise t . ,(lambda () (record 'aio-promise)))
    (marker nil . ,(lambda () (point-marker)))
    (dead-marker nil . ,(lambda () (make-marker)))
    (deleted-overlay nil . ,(lambda () (let ((o (make-overlay 1 1))) (delete-overlay o) o)))
    (killed-buffer t . ,#'aio-probe-values--killed-buffer)
    (dead-process t . ,#'aio-probe-values--dead-process)
    (frame nil . ,(lambda () (selected-frame)))
    (window nil . ,(lambda () (selected-window)))
    (obarray nil . ,(lambda () (obarray-make 1)))
    (thread nil . ,(lambda () main-thread))
    (mutex nil . ,(lambda () (make-mutex)))
    (finalizer nil . ,(lambda () (make-finalizer #'ignore)))
    (function-ignore nil . ,(lambda () #'ignore))
    (function-signals t . ,(lambda () (lambda (&rest _) (error "Probe callback fails"))))
    (function-throws nil . ,(lambda () (lambda (&rest _) (throw 'aio-probe-nowhere 1))))
    (function-no-args nil . ,(lambda () (lambda () 1)))
    (function-symbol nil . ,(lambda () 'car))
    (macro-symbol nil . ,(lambda () 'when))
    (special-form nil . ,(lambda () 'if))
    (lambda-list nil . ,(lambda () '(lambda (x) x)))
    (promise-pending t . ,(lambda () (aio-promise)))
    (promise-resolved nil . ,(lambda () (aio-probe-values--resolved (lambda () 'value))))
    (promise-rejected nil . ,(lambda () (aio-probe-values--resolved (lambda () (error "Rejected")))))
    (promise-canceled t . ,(lambda () (let ((p (aio-promise))) (aio-cancel p) p)))
    (sem nil . ,(lambda () (aio-sem 1)))
    (lock nil . ,(lambda () (aio-lock)))
    (queue nil . ,(lambda () (aio-probe-values--queue nil)))
    (closed-queue nil . ,(lambda () (aio-probe-values--queue t)))
    (event nil . ,(lambda () (aio-event)))
    (select nil . ,(lambda () (aio-make-select)))
    (http-response nil . ,(lambda () (aio-http--make-response :status 200 :headers '(("a" . "b"))))))
  "The general pool: (NAME CORE . MAKER), MAKER a function of no arguments.")

(defconst aio-probe-url-values
  `((url-refused t . ,(lambda () (aio-probe-values--url "/")))
    (url-empty t . ,(lambda () ""))
    (url-port-zero nil . ,(lambda () "http://127.0.0.1:0/"))
    (url-port-too-big t . ,(lambda () "http://127.0.0.1:99999/"))
    (url-nul t . ,(lambda () (aio-probe-values--url "/a\0b")))
    (url-crlf t . ,(lambda () (aio-probe-values--url "/a\r\nX-Injected: 1")))
    (url-space nil . ,(lambda () (aio-probe-values--url "/a b")))
    (url-multibyte t . ,(lambda () (aio-probe-values--url "/é✓")))
    (url-ftp t . ,(lambda () (format "ftp://127.0.0.1:%d/" (or aio-probe-refused-port 9))))
    (url-file t . ,(lambda () "file:///dev/null"))
    (url-gopher nil . ,(lambda () (format "gopher://127.0.0.1:%d/" (or aio-probe-refused-port 9))))
    (url-invalid-host t . ,(lambda () "http://probe.invalid/"))
    (url-invalid-host-tls nil . ,(lambda () "https://probe.invalid/"))
    (url-invalid-host-multibyte nil . ,(lambda () "http://é.invalid/"))
    (url-ipv6-loopback nil . ,(lambda () (format "http://[::1]:%d/" (or aio-probe-refused-port 9))))
    (url-no-scheme nil . ,(lambda () (format "127.0.0.1:%d/" (or aio-probe-refused-port 9))))
    (url-upper-case nil . ,(lambda () (format "HTTP://127.0.0.1:%d/" (or aio-probe-refused-port 9))))
    (url-no-host nil . ,(lambda () "http:///"))
    (url-empty-host nil . ,(lambda () "http://:80/"))
    (url-1mb-path t . ,(lambda () (aio-probe-values--url
                                   (concat "/" (aio-probe-values--once u1mb (make-string (* 1024 1024) ?p)))))))
  "Strings for URL positions: none leads off this machine.")

(defconst aio-probe-proxy-values
  `((proxy-none t . ,(lambda () ""))
    (proxy-refused t . ,(lambda () (aio-probe-values--url "")))
    (proxy-no-scheme nil . ,(lambda () (format "127.0.0.1:%d" (or aio-probe-refused-port 9))))
    (proxy-socks nil . ,(lambda () (format "socks5://127.0.0.1:%d" (or aio-probe-refused-port 9))))
    (proxy-nul t . ,(lambda () (concat (aio-probe-values--url "") "\0x")))
    (proxy-crlf t . ,(lambda () (concat (aio-probe-values--url "") "\r\nX-Injected: 1")))
    (proxy-multibyte nil . ,(lambda () (aio-probe-values--url "/é")))
    (proxy-ipv6-loopback nil . ,(lambda () (format "http://[::1]:%d" (or aio-probe-refused-port 9)))))
  "Strings for proxy positions: all on this machine's loopback.")

(defconst aio-probe-header-values
  `((headers-valid t . ,(lambda () (list (cons "X-A" "1"))))
    (headers-symbol-number nil . ,(lambda () (list (cons 'X-Sym 5))))
    (headers-crlf t . ,(lambda () (list (cons "X-A" "a\r\nX-B: b"))))
    (headers-nul nil . ,(lambda () (list (cons "X-A" "a\0b"))))
    (headers-name-space t . ,(lambda () (list (cons "Bad Name" "v"))))
    (headers-name-empty nil . ,(lambda () (list (cons "" "v"))))
    (headers-name-nil nil . ,(lambda () (list (cons nil "v"))))
    (headers-value-nil t . ,(lambda () (list (cons "X-A" nil))))
    (headers-value-multibyte nil . ,(lambda () (list (cons "X-A" "é"))))
    (headers-value-10mb nil . ,(lambda () (list (cons "X-Big" (aio-probe-values--once s10mb
                                                                 (make-string (* 10 1024 1024) ?y))))))
    (headers-content-length t . ,(lambda () (list (cons "Content-Length" "1"))))
    (headers-host nil . ,(lambda () (list (cons "Host" "probe.invalid"))))
    (headers-transfer-encoding nil . ,(lambda () (list (cons "Transfer-Encoding" "chunked"))))
    (headers-circular t . ,(lambda () (let ((l (list (cons "X-A" "1")))) (setcdr l l) l)))
    (headers-improper t . ,(lambda () (cons (cons "X-A" "1") "tail")))
    (headers-strings nil . ,(lambda () (list "X-A: 1"))))
  "Alists for header positions.")

(defconst aio-probe-header-line-values
  `((lines-valid t . ,(lambda () (list "X-A: 1")))
    (lines-crlf t . ,(lambda () (list "X-A: 1\r\nX-B: 2")))
    (lines-circular t . ,(lambda () (let ((l (list "X-A: 1"))) (setcdr l l) l)))
    (lines-not-strings nil . ,(lambda () (list 1 2))))
  "Lists of header lines for `aio-native--http-start'.")

(defconst aio-probe-option-values
  `((options-valid t . ,(lambda () (list :timeout 1)))
    (options-negative-timeout t . ,(lambda () (list :timeout -1)))
    (options-nan-timeout t . ,(lambda () (list :timeout 0.0e+NaN)))
    (options-huge-timeout nil . ,(lambda () (list :timeout 1e308)))
    (options-zero-max-size nil . ,(lambda () (list :max-size 0)))
    (options-bignum-max-size nil . ,(lambda () (list :max-size (expt 2 70))))
    (options-many-redirects nil . ,(lambda () (list :max-redirects 5000)))
    (options-proxy-nul t . ,(lambda () (list :proxy (concat (aio-probe-values--url "") "\0x"))))
    (options-proxy-number nil . ,(lambda () (list :proxy 5)))
    (options-proxy-refused nil . ,(lambda () (list :proxy (aio-probe-values--url ""))))
    (options-circular t . ,(lambda () (let ((l (list :timeout 1))) (setcdr (cdr l) l) l)))
    (options-dotted nil . ,(lambda () (cons :timeout 1))))
  "Plists for the options of `aio-native--http-start'.")

(defconst aio-probe-body-forms
  `((form-await t . ,(lambda () '(aio-await (aio-sleep 0.001))))
    (form-error nil . ,(lambda () '(error "Probe body fails")))
    (form-cancel nil . ,(lambda () '(signal 'aio-cancel nil)))
    (form-throw nil . ,(lambda () '(throw 'aio-probe-nowhere 1)))
    (form-nested-await nil . ,(lambda () '(progn (aio-await (aio-sleep 0)) (aio-await 5))))
    (form-await-in-lambda nil . ,(lambda () '(funcall (lambda () (aio-await 1)))))
    (form-yield nil . ,(lambda () '(aio-yield 1))))
  "Forms for body positions of macros, besides the general pool.")

(defconst aio-probe-values-pools
  '(aio-probe-values aio-probe-url-values aio-probe-proxy-values
    aio-probe-header-values aio-probe-header-line-values aio-probe-option-values
    aio-probe-body-forms aio-probe-stream-values aio-probe-process-values
    aio-probe-command-values aio-probe-directory-values aio-probe-path-values
    aio-probe-as-values aio-probe-body-file-values aio-probe-coding-values
    aio-probe-size-values aio-probe-task-values aio-probe-dostream-specs)
  "Every pool of values: their entries' names are unique across them.")

(defun aio-probe-values-pool (pools fast)
  "Return the entries of POOLS, a list of pool symbols; only core ones if FAST."
  (cl-loop for pool in pools
           append (cl-remove-if-not (lambda (entry) (or (not fast) (cadr entry)))
                                    (symbol-value pool))))

(defun aio-probe-values-make (entry)
  "Make a fresh value for pool ENTRY."
  (funcall (cddr entry)))

(provide 'aio-probe-values)
;;; aio-probe-values.el ends here
