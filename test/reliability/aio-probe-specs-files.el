;;; aio-probe-specs-files.el --- Matrix specs of the file and DNS functions  -*- lexical-binding: t -*-

;;; Commentary:

;; The argument types, value pools and specs of the bad-input matrix
;; for the functions of aio-file.el, aio-file-read.el, aio-file-walk.el
;; and aio-dns.el, and for the module functions behind them.
;; aio-probe-specs.el appends them to its own.
;;
;; Files.  Every path a value names is inside a fresh temporary
;; directory made for that call alone, under the child's scratch
;; directory: no string of the general pool is ever a file name (a
;; relative name would be resolved against the child's directory, and
;; the module resolves one against the process's).  After the call the
;; directories are searched for what no value made or named (a
;; temporary file an atomic write left, a partial copy), reported as a
;; file leak, and deleted.  A call of a public function waits for its
;; promise (a walk: its stream read to the end), so that completions
;; are checked as well as refusals; a call of a module function is
;; given a moment and then canceled, as the matrix does for timers.
;; A FIFO is among the paths: opening it blocks until a writer comes.
;; A call still blocked on one is released by a process that holds the
;; FIFO open for a moment, so that a blocked thread of libuv's pool does
;; not hang the rest of the run (and the child's exit), and it is
;; reported as stalled.
;;
;; DNS.  Only the strings of the DNS pools ever reach a resolver, and
;; none of them can make the resolver send a query: they are numeric
;; loopback addresses (getaddrinfo parses them without any lookup),
;; names under "invalid" (the module refuses them without a lookup),
;; strings refused before any lookup (empty, with NUL, CR or LF), and,
;; for reverse lookups, 127.0.0.1 (in /etc/hosts) and strings that are
;; no address (refused by the module's parser).  "localhost" and ::1 are
;; left out of reverse lookups and "localhost" out of forward ones: an
;; /etc/hosts without them would send the query to the name server.
;; This is checked when the file is loaded.  The matrix's own check of
;; :network functions runs too, on the public functions' first argument.
;;
;; In fast mode (make test) only the values of these pools marked core
;; are tried, a few per argument; the general pool, which the specs of
;; aio-probe-specs.el try whole, is tried here only in full mode (make
;; test-reliability): the file and DNS functions share their checks,
;; and twenty-three functions with the whole core pool at every
;; argument would double the matrix's time.

;;; Code:

(require 'cl-lib)
(require 'subr-x)
(require 'aio)
(require 'aio-file)
(require 'aio-file-read)
(require 'aio-file-walk)
(require 'aio-dns)
(require 'aio-stream)
(require 'aio-probe-values)

(declare-function aio-native--file-cancel "aio-native-module" (id))
(declare-function aio-native--dns-cancel "aio-native-module" (id))
(declare-function aio-native--running-p "aio-native-module" ())
(declare-function aio-probe-specs--fresh-id "aio-probe-specs" ())
(declare-function aio-probe-wait "aio-probe-child" (predicate seconds))

(defvar aio-probe-matrix-hang-seconds)

;;;; Temporary directories

(defvar aio-probe-specs-files--root nil
  "The directory under which the calls' temporary directories are made.")

(defvar aio-probe-specs-files--made nil
  "Temporary directories of the current call: ((DIRECTORY NAME...)...).
NAMES are the relative names its values made or named there.")

(defvar aio-probe-specs-files--fifos nil
  "The FIFOs the values of the current call made.")

(defun aio-probe-specs-files--root ()
  "Return the directory for temporary directories, made once.
It is in the child's scratch directory, which the parent deletes."
  (unless (and aio-probe-specs-files--root (file-directory-p aio-probe-specs-files--root))
    (let ((out (getenv "AIO_PROBE_OUT")))
      (setq aio-probe-specs-files--root
            (file-name-as-directory
             (make-temp-file (expand-file-name "aio-probe-fs-"
                                               (if (and out (not (string-empty-p out)))
                                                   (file-name-directory out)
                                                 temporary-file-directory))
                             t)))))
  aio-probe-specs-files--root)

(defun aio-probe-specs-files--dir (&rest names)
  "Return a new temporary directory of the current call, as a directory name.
NAMES, relative names, may exist there after the call."
  (let ((directory (file-name-as-directory
                    (make-temp-file (expand-file-name "call-" (aio-probe-specs-files--root)) t))))
    (push (cons directory names) aio-probe-specs-files--made)
    directory))

(defun aio-probe-specs-files--path (name &optional kind)
  "Return the path of NAME, relative, in a new temporary directory.
KIND says what to make there: nil nothing, `file' a file, `dir' a
directory, `fifo' a FIFO, `loop' a symbolic link to itself."
  (let* ((parts (split-string name "/" t))
         (names (cl-loop for i from 1 to (length parts)
                         collect (string-join (cl-subseq parts 0 i) "/")))
         (path (expand-file-name name (apply #'aio-probe-specs-files--dir names))))
    (pcase kind
      ('file (let ((coding-system-for-write 'no-conversion))
               (write-region "hello\n" nil path nil 0)))
      ('dir (make-directory path))
      ('fifo (unless (zerop (call-process "mkfifo" nil nil nil path))
               (error "No mkfifo"))
             (push path aio-probe-specs-files--fifos))
      ('loop (make-symbolic-link (file-name-nondirectory path) path)))
    path))

(defun aio-probe-specs-files--tree ()
  "Return a new temporary directory holding a.txt and sub/b.el."
  (let ((root (aio-probe-specs-files--dir "a.txt" "sub" "sub/b.el"))
        (coding-system-for-write 'no-conversion))
    (make-directory (expand-file-name "sub" root))
    (write-region "a\n" nil (expand-file-name "a.txt" root) nil 0)
    (write-region "b\n" nil (expand-file-name "sub/b.el" root) nil 0)
    root))

(defun aio-probe-specs-files--delete (directory)
  "Delete DIRECTORY, giving back the permissions a call may have taken."
  (condition-case nil
      (delete-directory directory t)
    (file-error
     (call-process "chmod" nil nil nil "-R" "u+rwx" directory)
     (delete-directory directory t))))

(defun aio-probe-specs-files--sweep (left)
  "Return LEFT and what the current call left in its directories; delete them.
A file is left over unless a value named it or it bears the name of
a file a value named (a copy or a rename into a directory)."
  (let ((bases (mapcar #'file-name-nondirectory
                       (apply #'append (mapcar #'cdr aio-probe-specs-files--made)))))
    (dolist (entry aio-probe-specs-files--made)
      (let ((directory (car entry)))
        (when (file-directory-p directory)
          (dolist (file (ignore-errors (directory-files-recursively directory "" t)))
            (let ((name (file-relative-name file directory)))
              (unless (or (member name (cdr entry))
                          (member (file-name-nondirectory name) bases))
                (push name left))))
          (aio-probe-specs-files--delete directory)))))
  (setq aio-probe-specs-files--made nil
        aio-probe-specs-files--fifos nil)
  left)

(advice-add 'aio-probe-values-sweep-files :filter-return #'aio-probe-specs-files--sweep)

;;;; Waiting for a call

(define-error 'probe-files-stalled "File or DNS operation stalled")
;; Not an `aio-' symbol: the matrix counts those as proper refusals.

(defun aio-probe-specs-files--idle-p ()
  "Return non-nil if the loop has no file or DNS operation pending."
  (let ((stats (aio-native-stats)))
    (and (memql (plist-get stats :files-pending) '(nil 0))
         (memql (plist-get stats :dns-pending) '(nil 0))
         t)))

(defun aio-probe-specs-files--budget ()
  "Return the seconds a call may wait for its operation, within the hang limit."
  (max 0.5 (- (if (boundp 'aio-probe-matrix-hang-seconds) aio-probe-matrix-hang-seconds 2)
              0.8)))

(defun aio-probe-specs-files--release-fifos (done-p)
  "Hold the FIFOs of the current call open a moment; wait for DONE-P.
A process opens each for reading and writing (which never blocks),
so that an open of it for reading or writing returns; return non-nil
if there was a FIFO to hold."
  (when aio-probe-specs-files--fifos
    (let ((holders
           (mapcar (lambda (fifo)
                     (make-process :name "aio-probe-fifo" :noquery t :connection-type 'pipe
                                   :buffer nil
                                   :command (list "sh" "-c" "exec 3<>\"$0\"; sleep 0.4" fifo)))
                   aio-probe-specs-files--fifos)))
      (aio-probe-wait done-p 0.6)
      (aio-probe-wait (lambda () (cl-notany #'process-live-p holders)) 1)
      (mapc #'delete-process holders)
      t)))

(defun aio-probe-specs-files--settle (value)
  "Wait for VALUE, a promise or a stream, to settle; return its promise.
A stream is read to its end: the promise returned is that of its
values.  The matrix judges a rejected promise as a refusal.  An
operation that has not settled in time, or only once a FIFO it opened
had a writer, is canceled and signals `probe-files-stalled'."
  (let* ((promise (cond ((aio-stream-p value) (aio-stream-collect value))
                        ((aio-promise-p value) value)))
         (done-p (lambda () (and (aio-promise-result promise) (aio-probe-specs-files--idle-p)))))
    (cond
     ((null promise) value)
     ((aio-probe-wait done-p 0.3) promise)
     (t
      (let ((blocked (aio-probe-specs-files--release-fifos done-p)))
        (unless (aio-probe-wait done-p (aio-probe-specs-files--budget))
          (setq blocked (or blocked 'not-settled)))
        (if (not blocked)
            promise
          (ignore-errors (aio-cancel promise 'aio-probe))
          (when (aio-stream-p value) (ignore-errors (aio-stream-close value)))
          (signal 'probe-files-stalled
                  (list (if (eq blocked 'not-settled)
                            "not settled in time"
                          "blocked until a process opened its FIFO")))))))))

(defun aio-probe-specs-files--native (cancel id)
  "Give the native operation ID a moment, then cancel it with CANCEL; return ID.
A module call starts an operation Lisp does not know: nothing else
would end one that waits (a read into a buffer waits for
acknowledgments).  An operation that a cancel does not end is
released from its FIFOs, and signals `probe-files-stalled'."
  (unless (aio-probe-wait #'aio-probe-specs-files--idle-p 0.2)
    ;; Before the cancel: a canceled operation no longer counts as
    ;; pending, even while a thread of the pool is still blocked in it.
    (when (and (aio-probe-specs-files--release-fifos #'aio-probe-specs-files--idle-p)
               (aio-probe-specs-files--idle-p))
      (signal 'probe-files-stalled (list "blocked until a process opened its FIFO")))
    (when (and (natnump id) (aio-native--running-p))
      (ignore-errors (funcall cancel id)))
    (unless (aio-probe-wait #'aio-probe-specs-files--idle-p (aio-probe-specs-files--budget))
      (signal 'probe-files-stalled
              (list "canceled operation still pending" (aio-native-stats)))))
  id)

(defun aio-probe-specs-files--native-file (id)
  "Finish the module's file operation ID, as `aio-probe-specs-files--native'."
  (aio-probe-specs-files--native #'aio-native--file-cancel id))

(defun aio-probe-specs-files--native-dns (id)
  "Finish the module's name lookup ID, as `aio-probe-specs-files--native'."
  (aio-probe-specs-files--native #'aio-native--dns-cancel id))

;;;; DNS strings that cannot leave this machine

(defun aio-probe-specs-files--refused-early-p (v)
  "Return non-nil if V is refused before any resolver.
That is, if it is empty or holds a NUL, CR or LF."
  (or (string-empty-p v) (string-match-p "[\0\r\n]" v)))

(defun aio-probe-specs-files--ipv4-p (v)
  "Return non-nil if V may parse as an IPv4 address."
  (string-match-p "\\`[0-9]+\\(?:\\.[0-9]+\\)\\{0,3\\}\\'" v))

(defun aio-probe-specs-files--ipv6-p (v)
  "Return non-nil if V may parse as an IPv6 address."
  (and (string-match-p "\\`[0-9A-Fa-f:.]+\\(?:%.*\\)?\\'" v) (string-search ":" v)))

(defun aio-probe-specs-files--lookup-local-p (host)
  "Return non-nil if looking HOST up forward can send no query."
  (let ((case-fold-search t))
    (or (aio-probe-specs-files--refused-early-p host)
        (equal host "127.0.0.1")
        (equal host "::1")
        (string-match-p "\\(?:\\`\\|\\.\\)invalid\\.?\\'" host))))

(defun aio-probe-specs-files--reverse-local-p (address)
  "Return non-nil if looking ADDRESS up in reverse can send no query."
  (or (aio-probe-specs-files--refused-early-p address)
      (equal address "127.0.0.1")
      (not (or (aio-probe-specs-files--ipv4-p address)
               (aio-probe-specs-files--ipv6-p address)))))

;;;; Predicates

(defun aio-probe-specs-files--name-p (v)
  "Return non-nil if V is a file name: a string without NUL."
  (and (stringp v) (not (string-search "\0" v))))

(defun aio-probe-specs-files--native-name-p (v)
  "Return non-nil if V is a file name for the module: not empty either."
  (and (aio-probe-specs-files--name-p v) (not (string-empty-p v))))

(defun aio-probe-specs-files--native-host-p (v)
  "Return non-nil if V is a host for the module: a string without NUL, CR or LF.
An empty one fails through the operation's completion."
  (and (stringp v) (not (string-match-p "[\0\r\n]" v))))

(defun aio-probe-specs-files--host-p (v)
  "Return non-nil if V is a host name or address string."
  (and (stringp v) (not (aio-probe-specs-files--refused-early-p v))))

(defun aio-probe-specs-files--offset-p (v)
  "Return non-nil if V is a byte offset the module can hold."
  (and (natnump v) (< v (expt 2 63))))

(defun aio-probe-specs-files--mode-p (v)
  "Return non-nil if V is nil or permission bits."
  (or (null v) (and (natnump v) (<= v #o7777))))

(defun aio-probe-specs-files--patterns-p (v)
  "Return non-nil if V is a list of glob patterns the module takes."
  (and (proper-list-p v) (cl-every #'aio-probe-specs-files--native-name-p v)))

(defun aio-probe-specs-files--plist-p (v keys)
  "Return non-nil if V is an options list of the module with valid values at KEYS.
KEYS is ((KEY . VALID-P)...).  As for every module function, a proper
list is read with `plist-get': what it does not find is no option."
  (and (proper-list-p v)
       (cl-every (lambda (key) (funcall (cdr key) (plist-get v (car key)))) keys)))

(defun aio-probe-specs-files--window-p (limit)
  "Return a predicate of a window option: nil or 1 to LIMIT."
  (lambda (v) (or (null v) (and (integerp v) (<= 1 v limit)))))

;;;; Pools

(defun aio-probe-specs-files--general (core no-strings)
  "Return the entries of the general pool, core only if named in CORE.
NO-STRINGS non-nil leaves its strings out.  The names are the general
pool's own, so that the matrix finds their makers there."
  (cl-loop for (name _ . maker) in aio-probe-values
           unless (and no-strings (stringp (funcall maker)))
           collect (cons name (cons (and (memq name core) t) maker))))

(defconst aio-probe-specs-files-general-names (aio-probe-specs-files--general '(nil) t)
  "The general pool without strings, nil its only core value.
For file names and hosts.")

(defconst aio-probe-specs-files-general-numbers
  (aio-probe-specs-files--general '(minus-one bignum nan) nil)
  "The general pool, with core values for numbers.")

(defconst aio-probe-specs-files-general-ids
  (aio-probe-specs-files--general '(minus-one bignum) t)
  "The general pool without strings, with core values for numbers: for ids.
No id is a string: the matrix takes the first argument of a :network
function for the name it would look up.")

(defconst aio-probe-specs-files-general-values
  (aio-probe-specs-files--general '(killed-buffer circular-list) nil)
  "The general pool, with two core values for the rest.")

(defconst aio-probe-specs-files-path-values
  `((fs-missing t . ,(lambda () (aio-probe-specs-files--path "missing")))
    (fs-file t . ,(lambda () (aio-probe-specs-files--path "file" 'file)))
    (fs-directory t . ,#'aio-probe-specs-files--dir)
    (fs-nul t . ,(lambda () (concat (aio-probe-specs-files--path "file" 'file) "\0x")))
    (fs-fifo t . ,(lambda () (aio-probe-specs-files--path "fifo" 'fifo)))
    (fs-missing-parent nil . ,(lambda () (aio-probe-specs-files--path "missing/file")))
    (fs-multibyte nil . ,(lambda () (aio-probe-specs-files--path "é✓" 'file)))
    (fs-long-name nil . ,(lambda () (aio-probe-specs-files--path (make-string 300 ?n))))
    (fs-symlink-loop nil . ,(lambda () (aio-probe-specs-files--path "loop" 'loop)))
    (fs-directory-file-name nil . ,(lambda () (directory-file-name (aio-probe-specs-files--dir))))
    (fs-file-as-directory nil . ,(lambda () (concat (aio-probe-specs-files--path "file" 'file) "/")))
    (fs-under-file nil . ,(lambda () (concat (aio-probe-specs-files--path "file" 'file) "/under"))))
  "File names, every one in a new temporary directory.")

(defconst aio-probe-specs-files-offset-values
  `((fs-offset-past-end nil . ,(lambda () 1000000))
    (fs-offset-2^63 nil . ,(lambda () (expt 2 63))))
  "Byte offsets, besides the general pool.")

(defconst aio-probe-specs-files-symbol-values
  `((fs-unknown-symbol t . ,(lambda () 'aio-probe-no-such-choice))
    (fs-string-symbol-name nil . ,(lambda () "text")))
  "Symbols no enumeration takes, besides the general pool.")

(defconst aio-probe-specs-files-coding-values
  `((fs-coding-unknown t . ,(lambda () 'aio-probe-no-such-coding))
    (fs-coding-no-conversion nil . ,(lambda () 'no-conversion))
    (fs-coding-utf-16 nil . ,(lambda () 'utf-16)))
  "Coding systems, known and not.")

(defconst aio-probe-specs-files-mode-values
  `((fs-mode-too-big t . ,(lambda () #o10000))
    (fs-mode-none nil . ,(lambda () 0))
    (fs-mode-all nil . ,(lambda () #o7777)))
  "Permission bits, besides the general pool.")

(defconst aio-probe-specs-files-flag-values
  `((fs-flag-t t . ,(lambda () t))
    (fs-flag-symbol nil . ,(lambda () 'no))
    (fs-flag-circular nil . ,#'aio-probe-values--circular)
    (fs-flag-forged-promise nil . ,(lambda () (record 'aio-promise))))
  "Non-nil values of flags: any value is one, and only its truth counts.")

(defconst aio-probe-specs-files-data-values
  `((fs-data-raw-bytes t . ,(lambda () (unibyte-string 255 0 13 10))))
  "Data to write, besides the general pool.")

(defconst aio-probe-specs-files-match-values
  `((fs-match-macro t . ,(lambda () 'when))
    (fs-match-regexp nil . ,(lambda () "\\.el\\'")))
  "Values for the :match of a walk, besides the general pool.")

(defconst aio-probe-specs-files-ignore-values
  `((fs-ignore-nul t . ,(lambda () (list "a\0b")))
    (fs-ignore-empty t . ,(lambda () (list "")))
    (fs-ignore-circular t . ,(lambda () (let ((l (list "*.o"))) (setcdr l l) l)))
    (fs-ignore-not-strings nil . ,(lambda () (list 1)))
    (fs-ignore-slash nil . ,(lambda () (list "/")))
    (fs-ignore-directory nil . ,(lambda () (list "sub/")))
    (fs-ignore-everything nil . ,(lambda () (list "*"))))
  "Ignore lists of a walk, besides the general pool.")

(defconst aio-probe-specs-files-read-option-values
  `((fs-options-insert nil . ,(lambda () (list :insert t :lines t :window 16)))
    (fs-options-window-zero t . ,(lambda () (list :insert t :window 0)))
    (fs-options-window-huge nil . ,(lambda () (list :insert t :window (expt 2 41))))
    (fs-options-dotted t . ,(lambda () (cons :insert t)))
    (fs-options-circular nil . ,(lambda () (let ((l (list :insert t))) (setcdr (cdr l) l) l))))
  "Options of the module's file read.")

(defconst aio-probe-specs-files-write-option-values
  `((fs-options-append-atomic t . ,(lambda () (list :append t :atomic t)))
    (fs-options-mode-too-big t . ,(lambda () (list :mode #o10000)))
    (fs-options-atomic nil . ,(lambda () (list :atomic t :mode #o600)))
    (fs-options-mode-string nil . ,(lambda () (list :mode "600"))))
  "Options of the module's file write.")

(defconst aio-probe-specs-files-walk-option-values
  `((fs-options-batch-zero t . ,(lambda () (list :batch 0)))
    (fs-options-window-negative nil . ,(lambda () (list :window -1)))
    (fs-options-follow nil . ,(lambda () (list :follow-symlinks t :include-directories t :window 1))))
  "Options of the module's walk.")

(defconst aio-probe-specs-files-count-values
  `((fs-count-2^63 nil . ,(lambda () (expt 2 63))))
  "Counts for acknowledgments, besides the general pool.")

(defconst aio-probe-specs-files-dns-host-values
  `((dns-host-empty t . ,(lambda () ""))
    (dns-host-nul t . ,(lambda () "127.0.0.1\0x"))
    (dns-host-invalid t . ,(lambda () "probe.invalid"))
    (dns-host-crlf nil . ,(lambda () "127.0.0.1\r\nx"))
    (dns-host-invalid-upper nil . ,(lambda () "PROBE.INVALID."))
    (dns-host-invalid-multibyte nil . ,(lambda () "é.invalid")))
  "Hosts for forward lookups: none leads to a query (see the commentary).
Every one passes the matrix's check of names for :network functions.")

(defconst aio-probe-specs-files-dns-native-host-values
  `((dns-host-ipv6-loopback nil . ,(lambda () "::1")))
  "Hosts for the module's forward lookups, besides those of the functions.")

(defconst aio-probe-specs-files-dns-address-values
  `((dns-address-empty t . ,(lambda () ""))
    (dns-address-nul t . ,(lambda () "127.0.0.1\0x"))
    (dns-address-name t . ,(lambda () "probe.invalid"))
    (dns-address-bracketed nil . ,(lambda () "[::1]"))
    (dns-address-prefix nil . ,(lambda () "127.0.0.1/8")))
  "Strings for reverse lookups: none is an address but 127.0.0.1's.")

(defconst aio-probe-specs-files-dns-family-values
  `((dns-family-number t . ,(lambda () 4))
    (dns-family-five nil . ,(lambda () 5)))
  "Families, besides the general pool and symbols.")

(defconst aio-probe-specs-files-pools
  '(aio-probe-specs-files-path-values aio-probe-specs-files-offset-values
    aio-probe-specs-files-symbol-values aio-probe-specs-files-coding-values
    aio-probe-specs-files-mode-values aio-probe-specs-files-flag-values
    aio-probe-specs-files-data-values aio-probe-specs-files-match-values
    aio-probe-specs-files-ignore-values aio-probe-specs-files-read-option-values
    aio-probe-specs-files-write-option-values aio-probe-specs-files-walk-option-values
    aio-probe-specs-files-count-values aio-probe-specs-files-dns-host-values
    aio-probe-specs-files-dns-native-host-values aio-probe-specs-files-dns-address-values
    aio-probe-specs-files-dns-family-values)
  "The pools of this file, whose entries' names are their own.")

(dolist (pool aio-probe-specs-files-pools)
  (add-to-list 'aio-probe-values-pools pool t))

;; No string of the DNS pools may send a query off this machine.
(dolist (entry (append aio-probe-specs-files-dns-host-values
                       aio-probe-specs-files-dns-native-host-values))
  (unless (aio-probe-specs-files--lookup-local-p (funcall (cddr entry)))
    (error "DNS pool entry %s could be looked up off this machine" (car entry))))
(dolist (entry aio-probe-specs-files-dns-address-values)
  (unless (aio-probe-specs-files--reverse-local-p (funcall (cddr entry)))
    (error "DNS pool entry %s could be looked up off this machine" (car entry))))

;;;; Types

(defconst aio-probe-specs-files-types
  `(;; (TYPE VALID-P BASELINE POOLS), as in `aio-probe-types'.
    (fs-path aio-probe-specs-files--name-p ,(lambda () (aio-probe-specs-files--path "file" 'file))
             (aio-probe-specs-files-general-names aio-probe-specs-files-path-values))
    (fs-target aio-probe-specs-files--name-p ,(lambda () (aio-probe-specs-files--path "new"))
               (aio-probe-specs-files-general-names aio-probe-specs-files-path-values))
    (fs-root aio-probe-specs-files--name-p aio-probe-specs-files--tree
             (aio-probe-specs-files-general-names aio-probe-specs-files-path-values))
    (fs-offset ,(lambda (v) (or (null v) (aio-probe-specs-files--offset-p v))) ,#'ignore
               (aio-probe-specs-files-general-numbers aio-probe-specs-files-offset-values))
    (fs-read-as ,(lambda (v) (memq v '(text bytes buffer))) ,(lambda () 'text)
                (aio-probe-specs-files-general-values aio-probe-specs-files-symbol-values))
    (fs-coding ,(lambda (v) (or (null v) (coding-system-p v))) ,#'ignore
               (aio-probe-specs-files-general-values aio-probe-specs-files-coding-values))
    ;; A live buffer is valid only with :as `buffer', which the
    ;; baseline is not: none is tried.
    (fs-buffer ,(lambda (v) (or (null v) (buffer-live-p v))) ,#'ignore
               (aio-probe-specs-files-general-values))
    (fs-data ,(lambda (v) (or (stringp v) (buffer-live-p v))) ,(lambda () "data\n")
             (aio-probe-specs-files-general-values aio-probe-specs-files-data-values))
    (fs-mode aio-probe-specs-files--mode-p ,#'ignore
             (aio-probe-specs-files-general-numbers aio-probe-specs-files-mode-values))
    (fs-flag ,(lambda (_) t) ,#'ignore (aio-probe-specs-files-flag-values))
    (fs-id-format ,(lambda (v) (memq v '(nil integer string))) ,#'ignore
                  (aio-probe-specs-files-general-values aio-probe-specs-files-symbol-values))
    (fs-match ,(lambda (v) (or (null v) (stringp v) (functionp v))) ,#'ignore
              (aio-probe-specs-files-general-values aio-probe-specs-files-match-values))
    (fs-ignore aio-probe-specs-files--patterns-p ,#'ignore
               (aio-probe-specs-files-general-values aio-probe-specs-files-ignore-values))
    (dns-host aio-probe-specs-files--host-p ,(lambda () "127.0.0.1")
              (aio-probe-specs-files-general-names aio-probe-specs-files-dns-host-values))
    (dns-family ,(lambda (v) (memq v '(nil ipv4 ipv6))) ,#'ignore
                (aio-probe-specs-files-general-values aio-probe-specs-files-symbol-values
                                                      aio-probe-specs-files-dns-family-values))
    (dns-address aio-probe-specs-files--host-p ,(lambda () "127.0.0.1")
                 (aio-probe-specs-files-general-names aio-probe-specs-files-dns-address-values))
    ;; The module's arguments.
    (fs-native-id ,(lambda (v) (and (natnump v) (<= v most-positive-fixnum)))
                  aio-probe-specs--fresh-id (aio-probe-specs-files-general-ids))
    (fs-native-path aio-probe-specs-files--native-name-p
                    ,(lambda () (aio-probe-specs-files--path "file" 'file))
                    (aio-probe-specs-files-general-names aio-probe-specs-files-path-values))
    (fs-native-target aio-probe-specs-files--native-name-p
                      ,(lambda () (aio-probe-specs-files--path "new"))
                      (aio-probe-specs-files-general-names aio-probe-specs-files-path-values))
    (fs-native-root aio-probe-specs-files--native-name-p aio-probe-specs-files--tree
                    (aio-probe-specs-files-general-names aio-probe-specs-files-path-values))
    (fs-native-offset ,(lambda (v) (or (null v) (aio-probe-specs-files--offset-p v))) ,#'ignore
                      (aio-probe-specs-files-general-numbers aio-probe-specs-files-offset-values))
    (fs-native-data stringp ,(lambda () "data\n")
                    (aio-probe-specs-files-general-values aio-probe-specs-files-data-values))
    (fs-native-mode aio-probe-specs-files--mode-p ,#'ignore
                    (aio-probe-specs-files-general-numbers aio-probe-specs-files-mode-values))
    (fs-native-flag ,(lambda (_) t) ,#'ignore (aio-probe-specs-files-flag-values))
    (fs-native-count ,(lambda (v) (and (integerp v) (<= 0 v (1- (expt 2 63))))) ,(lambda () 1)
                     (aio-probe-specs-files-general-numbers aio-probe-specs-files-count-values))
    (fs-read-options ,(lambda (v) (aio-probe-specs-files--plist-p
                                   v `((:window . ,(aio-probe-specs-files--window-p (expt 2 40))))))
                     ,#'ignore
                     (aio-probe-specs-files-general-values aio-probe-specs-files-read-option-values))
    (fs-write-options ,(lambda (v) (and (aio-probe-specs-files--plist-p
                                         v '((:mode . aio-probe-specs-files--mode-p)))
                                        (not (and (plist-get v :append) (plist-get v :atomic)))))
                      ,#'ignore
                      (aio-probe-specs-files-general-values aio-probe-specs-files-write-option-values))
    (fs-walk-options ,(lambda (v) (aio-probe-specs-files--plist-p
                                   v `((:window . ,(aio-probe-specs-files--window-p (expt 2 32)))
                                       (:batch . ,(aio-probe-specs-files--window-p (expt 2 20))))))
                     ,#'ignore
                     (aio-probe-specs-files-general-values aio-probe-specs-files-walk-option-values))
    (dns-native-host aio-probe-specs-files--native-host-p ,(lambda () "127.0.0.1")
                     (aio-probe-specs-files-general-names aio-probe-specs-files-dns-host-values
                                                          aio-probe-specs-files-dns-native-host-values))
    (dns-native-family ,(lambda (v) (memql v '(nil 4 6))) ,#'ignore
                       (aio-probe-specs-files-general-numbers aio-probe-specs-files-dns-family-values))
    (dns-native-address aio-probe-specs-files--native-host-p ,(lambda () "127.0.0.1")
                        (aio-probe-specs-files-general-names aio-probe-specs-files-dns-address-values)))
  "Argument types of the file and DNS functions, for `aio-probe-types'.")

;;;; Specs

(defconst aio-probe-specs-files-specs
  `(;; Documented: the errors of Emacs's file functions (the `file-error'
    ;; family), and `check-coding-system''s for an unknown coding system.
    (aio-file-read :args (fs-path) :errors (file-error coding-system-error)
                   :keys ((:start fs-offset) (:end fs-offset) (:as fs-read-as)
                          (:coding fs-coding) (:buffer fs-buffer))
                   :then aio-probe-specs-files--settle)
    (aio-file-write :args (fs-target fs-data) :errors (file-error coding-system-error)
                    :keys ((:append fs-flag) (:atomic fs-flag) (:mode fs-mode) (:coding fs-coding))
                    :then aio-probe-specs-files--settle)
    (aio-file-stat :args (fs-path) :errors (file-error)
                   :keys ((:id-format fs-id-format) (:follow-symlinks fs-flag))
                   :then aio-probe-specs-files--settle)
    (aio-file-copy :args (fs-path fs-target) :errors (file-error)
                   :keys ((:ok-if-already-exists fs-flag) (:keep-time fs-flag))
                   :then aio-probe-specs-files--settle)
    (aio-file-rename :args (fs-path fs-target) :errors (file-error)
                     :keys ((:ok-if-already-exists fs-flag))
                     :then aio-probe-specs-files--settle)
    (aio-file-delete :args (fs-path) :errors (file-error) :keys ((:recursive fs-flag))
                     :then aio-probe-specs-files--settle)
    (aio-make-directory :args (fs-target fs-flag) :errors (file-error)
                        :then aio-probe-specs-files--settle)
    ;; And the errors of Emacs's regexps: MATCH is one.
    (aio-directory-walk :args (fs-root) :errors (file-error invalid-regexp)
                        :keys ((:match fs-match) (:ignore fs-ignore)
                               (:follow-symlinks fs-flag) (:include-directories fs-flag))
                        :then aio-probe-specs-files--settle)
    (aio-dns-lookup :args (dns-host) :keys ((:family dns-family)) :network t
                    :then aio-probe-specs-files--settle)
    (aio-dns-reverse :args (dns-address) :network t :then aio-probe-specs-files--settle)
    ;; Module functions.
    (aio-native--file-read :args (fs-native-id fs-native-path fs-native-offset fs-native-offset
                                               fs-read-options)
                           :then aio-probe-specs-files--native-file)
    (aio-native--file-write :args (fs-native-id fs-native-target fs-native-data fs-write-options)
                            :then aio-probe-specs-files--native-file)
    (aio-native--file-stat :args (fs-native-id fs-native-path fs-native-flag fs-native-flag)
                           :then aio-probe-specs-files--native-file)
    (aio-native--file-copy :args (fs-native-id fs-native-path fs-native-target fs-native-flag
                                               fs-native-flag)
                           :then aio-probe-specs-files--native-file)
    (aio-native--file-rename :args (fs-native-id fs-native-path fs-native-target fs-native-flag)
                             :then aio-probe-specs-files--native-file)
    (aio-native--file-delete :args (fs-native-id fs-native-path fs-native-flag)
                             :then aio-probe-specs-files--native-file)
    (aio-native--file-mkdir :args (fs-native-id fs-native-target fs-native-flag fs-native-mode)
                            :then aio-probe-specs-files--native-file)
    (aio-native--file-walk :args (fs-native-id fs-native-root fs-ignore fs-walk-options)
                           :then aio-probe-specs-files--native-file)
    (aio-native--file-ack :args (fs-native-id fs-native-count))
    (aio-native--file-cancel :args (fs-native-id))
    ;; The matrix's check of :network looks at the first argument, the
    ;; id: the DNS pools are what keep these calls on this machine.
    (aio-native--dns-lookup :args (fs-native-id dns-native-host dns-native-family) :network t
                            :then aio-probe-specs-files--native-dns)
    (aio-native--dns-reverse :args (fs-native-id dns-native-address) :network t
                             :then aio-probe-specs-files--native-dns)
    (aio-native--dns-cancel :args (fs-native-id)))
  "Specs of the file and DNS functions, for `aio-probe-specs'.")

(provide 'aio-probe-specs-files)
;;; aio-probe-specs-files.el ends here
