;;; aio-probe-test.el --- The reliability probes, as ERT tests  -*- lexical-binding: t -*-

;;; Commentary:

;; Each test runs one probe in a child Emacs (see aio-probe.el) and
;; asserts the invariants of its report: nothing crashes or hangs, every
;; promise settles exactly once, errors are the documented ones, and
;; buffers, descriptors and pending operations come back to where they
;; were.  `make test' runs them with reduced sizes, `make
;; test-reliability' at full size (AIO_PROBE_SCALE=full); both print the
;; figures.
;;
;; One probe alone: load this file in a batch Emacs (with the
;; project's Lisp directory on the load path) and run
;; `ert-run-tests-batch-and-exit' with a part of the test's name as the
;; selector, such as "fault-server"; AIO_PROBE_SCALE=full in the
;; environment gives full sizes.
;;
;; The probes, and what each checks:
;;   aio-probe-bad-input-matrix      aio-probe-matrix.el (specs, values)
;;   aio-probe-fault-server          aio-probe-faults.el
;;   aio-probe-kill-emacs-..., aio-probe-shutdown-..., aio-probe-internal-
;;   shutdown, aio-probe-wake-channel-loss, aio-probe-cancellation-storm
;;                                   aio-probe-shutdown.el
;;   aio-probe-subprocess-inherits-no-descriptor  aio-probe-inherit.el
;;   aio-probe-descriptor-exhaustion aio-probe-fds.el
;;   aio-probe-memory-...            aio-probe-memory.el
;;   aio-probe-captured-names        aio-probe-capture.el

;;; Code:

(require 'cl-lib)
(require 'subr-x)
(require 'ert)

(add-to-list 'load-path (file-name-directory (or load-file-name buffer-file-name)))
(require 'aio-probe)
;; The error symbols the probes' outcomes are checked against.
(require 'aio-http)
(require 'aio-probe-matrix-driver)

(defun aio-probe-test--python ()
  "Skip the test unless python3 is there for the servers."
  (unless (executable-find "python3")
    (ert-skip "python3 is needed for the fault server")))

(defun aio-probe-test--prlimit ()
  "Skip the test unless prlimit(1) is there to set resource limits."
  (unless (executable-find "prlimit")
    (ert-skip "prlimit (util-linux) is needed to limit the child's resources")))

(defun aio-probe-test--run (file function params &optional timeout)
  "Run FUNCTION of probe FILE with PARAMS; return the run.
The child runs under -module-assertions when this Emacs does.  It is
killed after TIMEOUT seconds (default 300)."
  (aio-probe-run file function :params params :assertions 'inherit
                 :timeout (or timeout 300)))

;;; The bad-input matrix

(defun aio-probe-test--matrix-figures (title summary)
  "Print the figures of matrix SUMMARY under TITLE, every call that is not clean."
  (aio-probe-figures title
                     (list :calls (plist-get summary :total)
                           :functions (length (plist-get summary :functions))
                           :module-functions (cl-count 'module (plist-get summary :functions) :key #'cdr)
                           :settings (length (plist-get summary :settings))
                           :by-class (plist-get summary :counts)
                           :with-leaks (length (plist-get summary :flagged))
                           :unspecified (plist-get summary :unspecified)
                           :child-emacsen (plist-get summary :children)
                           :seconds (plist-get summary :seconds)))
  (let ((lines (mapcar (lambda (entry)
                         (pcase-let ((`(,i ,class ,flags ,describe ,detail . ,_) entry))
                           (format "  #%d %s %s -> %s%s" i class describe detail
                                   (if flags (format " %S" flags) ""))))
                       (cl-remove-duplicates (append (plist-get summary :non-clean)
                                                     (plist-get summary :flagged))
                                             :key #'car))))
    (when lines
      (aio-probe-figures (concat title ": calls not clean, or leaving something behind")
                         nil)
      (message "%s" (mapconcat #'identity lines "\n"))
      (let ((file (getenv "AIO_PROBE_FIGURES")))
        (when (and file (not (string-empty-p file)))
          (write-region (concat (mapconcat #'identity lines "\n") "\n") nil file t 0))))))

(defun aio-probe-test--matrix (assertions)
  "Run the matrix, ASSERTIONS as for `aio-probe-run'; check and print it."
  (let* ((summary (aio-probe-matrix-drive :fast (not (aio-probe-full-p))
                                          :assertions assertions))
         (counts (plist-get summary :counts))
         (title (format "bad-input matrix%s"
                        (if (if (eq assertions 'inherit) (aio-probe-module-assertions-p) assertions)
                            " (-module-assertions)" ""))))
    (aio-probe-test--matrix-figures title summary)
    ;; Thousands of calls, over every public and module function.
    (should (>= (plist-get summary :total) (aio-probe-size 2000 5000)))
    (should (>= (length (plist-get summary :functions)) 80))
    (should (>= (cl-count 'module (plist-get summary :functions) :key #'cdr) 10))
    (should-not (plist-get summary :unspecified))
    (dolist (class '(crash died hang dirty accepted-bad probe-error unsafe-skipped))
      (ert-info ((format "calls classed %s" class))
        (should-not (assq class counts))))
    (should-not (plist-get summary :flagged))))

(ert-deftest aio-probe-bad-input-matrix ()
  "Every public and module function refuses bad input cleanly, and leaves nothing."
  (aio-probe-test--prlimit)
  (aio-probe-test--matrix 'inherit))

(ert-deftest aio-probe-bad-input-matrix-module-assertions ()
  "The matrix again, under -module-assertions.
Run by `make test-reliability' only (`make test' leaves out the tests
tagged :full-size): `make test' runs every ERT test under
-module-assertions anyway."
  :tags '(:full-size)
  (aio-probe-test--prlimit)
  (aio-probe-test--matrix t))

;;; Names captured by a user's defvar

(ert-deftest aio-probe-captured-names ()
  "The library, loaded from source, works after a user's defvar of its local names."
  (let* ((control (aio-probe-result
                   (aio-probe-test--run "aio-probe-capture" 'aio-probe-capture-main
                                        (list :declare nil) 60)))
         (r (aio-probe-result
             (aio-probe-test--run "aio-probe-capture" 'aio-probe-capture-main nil 120)))
         (failed (cl-remove-if #'cadr (plist-get r :steps))))
    (aio-probe-figures "names captured by defvar"
                       (list :declared (plist-get r :declared)
                             :steps (length (plist-get r :steps))
                             :failed-steps failed
                             :failed-without-defvars (cl-remove-if #'cadr (plist-get control :steps))))
    ;; The probe means something: the library ran interpreted, the
    ;; workload passes without the declarations, and there were some.
    (should (plist-get r :interpreted))
    (should-not (cl-remove-if #'cadr (plist-get control :steps)))
    (should (> (plist-get r :declared) 20))
    (should-not failed)))

;;; Faults

(ert-deftest aio-probe-fault-server ()
  "Requests against a faulty server settle once, with the documented errors, and leave nothing."
  (aio-probe-test--python)
  (let* ((n (aio-probe-size 240 2000))
         (r (aio-probe-result
             (aio-probe-test--run "aio-probe-faults" 'aio-probe-faults-main
                                  (list :requests n :concurrency 64
                                        :timeout (aio-probe-size 3 5) :seed 11)
                                  600))))
    (aio-probe-figures "fault server" r)
    ;; Every fault was drawn, and every request reached the server.
    (should (= (length (plist-get r :faults)) 9))
    (should-not (assq 'never-arrived (plist-get r :faults)))
    (should (= (plist-get r :settled-once) n))
    (should (= (plist-get r :settled-twice) 0))
    (should (= (plist-get r :broken-count) 0))
    (should (= (plist-get r :filter-errors) 0))
    (should (= (plist-get r :lisp-pending-after) (plist-get r :lisp-pending-before)))
    (should (plist-get r :quiesced))
    (should (eql (plist-get r :last-request) 200))
    (should (<= (plist-get r :fds-after) (+ (plist-get r :fds-before) 2)))
    (should-not (plist-get r :buffers-left))))

;;; Shutdown

(ert-deftest aio-probe-kill-emacs-with-pending-work ()
  "`kill-emacs' with sleeps and stalled requests pending exits at once, cleanly."
  (aio-probe-test--python)
  (let* ((sleeps (aio-probe-size 2000 10000))
         (requests (aio-probe-size 20 100))
         (run (aio-probe-test--run "aio-probe-shutdown" 'aio-probe-kill-emacs-main
                                   (list :sleeps sleeps :requests requests) 120))
         (r (aio-probe-result run)))
    (aio-probe-figures "kill-emacs with pending work"
                       (list :sleeps sleeps :requests requests
                             :pending-at-exit (plist-get r :pending)
                             :http-pending-at-exit (plist-get r :http-pending)
                             :exit-seconds (- (plist-get run :ended) (plist-get r :exit-begins))
                             :end (aio-probe-describe-end run)))
    (should (= (plist-get r :pending) (+ sleeps requests)))
    (should (= (plist-get r :http-pending) requests))
    (should-not (plist-get run :killed))
    (should-not (plist-get run :signal))
    (should-not (plist-get run :core))
    (should (eql (plist-get run :exit) 0))))

(ert-deftest aio-probe-shutdown-with-pending-work ()
  "`aio-native-shutdown' rejects every pending operation once; sleeps work after."
  (aio-probe-test--python)
  (let* ((sleeps (aio-probe-size 2000 10000))
         (requests (aio-probe-size 20 100))
         (r (aio-probe-result
             (aio-probe-test--run "aio-probe-shutdown" 'aio-probe-shutdown-main
                                  (list :sleeps sleeps :requests requests)))))
    (aio-probe-figures "aio-native-shutdown with pending work" r)
    (should (= (plist-get r :pending-before) (+ sleeps requests)))
    (should (plist-get r :all-settled))
    (should (= (plist-get r :settled-once) (+ sleeps requests)))
    (should (= (plist-get r :settled-twice) 0))
    (should (equal (plist-get r :sleep-outcomes) `((aio-cancel . ,sleeps))))
    (should (equal (plist-get r :request-outcomes) `((aio-http-cancelled . ,requests))))
    (should (eq (plist-get r :later-sleep) 'slept))
    (should (= (plist-get r :lisp-pending-after) 0))
    (should (plist-get r :quiesced))
    (should (= (plist-get r :sockets-after) (plist-get r :sockets-before)))
    (should (eql (plist-get r :server-open-after) 0))))

(ert-deftest aio-probe-internal-shutdown ()
  "After the module's own shutdown, a pending sleep settles and new sleeps work."
  (let ((r (aio-probe-result
            (aio-probe-test--run "aio-probe-shutdown" 'aio-probe-internal-shutdown-main nil 60))))
    (aio-probe-figures "aio-native--shutdown alone" r)
    (should (plist-get r :pending-sleep-settled))
    (should (eq (plist-get r :later-sleep) 'later))
    (should (= (plist-get r :lisp-pending-after) 0))))

(ert-deftest aio-probe-wake-channel-loss ()
  "Deleting the wake process does not stall finished work."
  (aio-probe-test--python)
  (let ((r (aio-probe-result
            (aio-probe-test--run "aio-probe-shutdown" 'aio-probe-wake-loss-main nil 60))))
    (aio-probe-figures "wake channel lost" r)
    (dolist (case (plist-get r :cases))
      (ert-info ((format "%S" case))
        (should (= (plist-get case :settled) 2))
        (should (equal (plist-get case :sleep) '(ok . slept)))))))

(ert-deftest aio-probe-cancellation-storm ()
  "Thousands of tasks canceled at once each settle once; nothing stays pending."
  (let* ((n (aio-probe-size 2000 10000))
         (r (aio-probe-result
             (aio-probe-test--run "aio-probe-shutdown" 'aio-probe-storm-main (list :tasks n)))))
    (aio-probe-figures "cancellation storm" r)
    (should (= (plist-get r :settled-before-cancel) 0))
    (should (plist-get r :all-settled))
    (should (= (plist-get r :settled-once) n))
    (should (= (plist-get r :settled-twice) 0))
    (should (= (plist-get r :lisp-pending-after) (plist-get r :lisp-pending-before)))
    (should (plist-get r :quiesced))
    (should (= (plist-get r :timers-after) 0))
    (should (= (plist-get r :live-tasks) 0))))

;;; Descriptors

(ert-deftest aio-probe-subprocess-inherits-no-descriptor ()
  "A subprocess started while requests are in flight holds none of the loop's descriptors."
  (aio-probe-test--python)
  (let ((r (aio-probe-result
            (aio-probe-test--run "aio-probe-inherit" 'aio-probe-inherit-main
                                 (list :requests 5) 60))))
    (aio-probe-figures "descriptor inheritance" r)
    ;; The probe saw the module's descriptors: the requests' sockets at least.
    (should (>= (plist-get r :module-sockets) 5))
    (should (= (plist-get r :server-open-in-flight) 5))
    (should-not (plist-get r :held-while-in-flight))
    (should-not (plist-get r :held-after-cancel))
    (should-not (plist-get r :held-by-later-child))
    (should (eql (plist-get r :server-open-after-cancel) 0))))

(ert-deftest aio-probe-descriptor-exhaustion ()
  "Requests beyond the descriptor limit leave Emacs working, and end as the server answers."
  (aio-probe-test--python)
  ;; Issuing a thousand requests takes most of a second: the server's
  ;; delay keeps them all in flight at once.
  (let* ((n (aio-probe-size 1300 2000))
         (r (aio-probe-result
             (aio-probe-test--run "aio-probe-fds" 'aio-probe-fds-main
                                  (list :requests n :delay (aio-probe-size 1.0 2.0)
                                        :listeners 32 :timeout 300)
                                  420))))
    (aio-probe-figures "descriptor exhaustion" r)
    ;; The probe means something only above the limit.
    (should (> n (plist-get r :nofile-limit)))
    (should (= (plist-get r :settled-once) n))
    (should (= (plist-get r :settled-twice) 0))
    (should (equal (plist-get r :outcomes) `((ok-200 . ,n))))
    (should (= (plist-get r :emacs-work-failed) 0))
    (should (< (plist-get r :peak-fds) (plist-get r :nofile-limit)))
    (should (eql (plist-get r :last-request) 200))
    (should (<= (plist-get r :fds-after) (+ (plist-get r :fds-before) 2)))
    (should (= (plist-get r :lisp-pending-after) 0))))

;;; Memory

(defun aio-probe-test--error-under-p (condition parent)
  "Return non-nil if CONDITION is an error whose conditions include PARENT."
  (and (consp condition) (symbolp (car condition))
       (memq parent (get (car condition) 'error-conditions))))

(ert-deftest aio-probe-memory-endless-body ()
  "A 100 GB body under an address-space limit rejects the request; Emacs lives."
  (aio-probe-test--python)
  (aio-probe-test--prlimit)
  (let* ((run (aio-probe-test--run "aio-probe-memory" 'aio-probe-memory-endless-main
                                   (list :headroom (* 512 1024 1024)) 240))
         (r (aio-probe-result run)))
    (aio-probe-figures "memory: endless body" r)
    (should (eql (plist-get r :warm-up) 200))
    (should (aio-probe-test--error-under-p (plist-get r :outcome) 'aio-http-error))
    (should (eq (plist-get r :later-sleep) 'slept))
    (should (eql (plist-get r :later-string) 1000))
    (should (= (plist-get r :lisp-pending-after) 0))
    (should (eql (plist-get run :exit) 0))))

(ert-deftest aio-probe-memory-conversion-in-a-drain ()
  "A body Lisp cannot hold rejects its request only; the sleeps of its drain settle."
  (aio-probe-test--python)
  (aio-probe-test--prlimit)
  (let* ((sleeps 100)
         (run (aio-probe-test--run "aio-probe-memory" 'aio-probe-memory-conversion-main
                                   (list :size (* 200 1024 1024) :sleeps sleeps) 240))
         (r (aio-probe-result run)))
    (aio-probe-figures "memory: body too big for Lisp, in one drain with sleeps" r)
    (should (eql (plist-get r :warm-up) 200))
    (should (plist-get r :queued-in-one-drain))
    (should-not (plist-get r :filter-errors))
    (should (plist-get r :all-settled))
    (should (equal (plist-get r :sleep-outcomes) `((ok . ,sleeps))))
    (should (= (plist-get r :settled-twice) 0))
    (should (aio-probe-test--error-under-p (plist-get r :request-outcome) 'error))
    (should (eq (plist-get r :later-sleep) 'slept))
    (should (= (plist-get r :lisp-pending-after) 0))
    (should (eql (plist-get run :exit) 0))))

(provide 'aio-probe-test)
;;; aio-probe-test.el ends here
