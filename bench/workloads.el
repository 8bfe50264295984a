;;; workloads.el --- The Emacs side of `make bench'  -*- lexical-binding: t; -*-

;;; Commentary:

;; Each `aio-bench-*' command runs one workload once, in this Emacs, and
;; prints one line of KEY=VALUE pairs; bench/run.py starts a fresh
;; `emacs -Q --batch' per run and takes medians.  Contenders that need
;; `aio' get it from the load path, which is this project's byte-compiled
;; lisp/ or, for the reference contender, AIO_REFERENCE_DIR.

;;; Code:

(require 'cl-lib)
(require 'seq)

(defvar aio-bench--gaps nil
  "Longest gap, in seconds, seen by the responsiveness probe.")

(defvar aio-bench--probe nil
  "The 10 ms repeating timer that measures responsiveness.")

(defun aio-bench--probe-start ()
  "Start a 10 ms repeating timer that records the longest gap between runs."
  (let ((last (float-time)))
    (setq aio-bench--gaps 0.0)
    (setq aio-bench--probe
          (run-at-time 0.01 0.01
                       (lambda ()
                         (let ((now (float-time)))
                           (setq aio-bench--gaps (max aio-bench--gaps (- now last)))
                           (setq last now)))))))

(defun aio-bench--probe-stop ()
  "Stop the probe and return the longest gap in milliseconds."
  (cancel-timer aio-bench--probe)
  (* 1000 aio-bench--gaps))

(defun aio-bench--percentile (values p)
  "Return the P-th percentile (0..1) of VALUES, a vector (sorted in place)."
  (if (zerop (length values))
      0
    (let ((sorted (sort values #'<)))
      (aref sorted (min (1- (length sorted)) (floor (* p (length sorted))))))))

(defun aio-bench--emit (&rest plist)
  "Print PLIST as one KEY=VALUE line."
  (princ (mapconcat (lambda (pair)
                      (format "%s=%s" (substring (symbol-name (car pair)) 1)
                              (let ((v (cadr pair)))
                                (if (floatp v) (format "%.6f" v) v))))
                    (seq-partition plist 2) " "))
  (terpri))

(defun aio-bench--param (name &optional default)
  "Return the environment variable AIO_BENCH_NAME, or DEFAULT."
  (or (getenv (concat "AIO_BENCH_" name)) default))

(defun aio-bench--number (name &optional default)
  "Return the environment variable AIO_BENCH_NAME as a number, or DEFAULT."
  (let ((v (aio-bench--param name)))
    (if v (string-to-number v) default)))

(defun aio-bench--random-delay ()
  "Return a random duration in [0, 1) seconds."
  (/ (random 1000000) 1e6))

(defun aio-bench--wait-until (predicate)
  "Process events until PREDICATE returns non-nil."
  (while (not (funcall predicate))
    (accept-process-output nil 0.002)))

;;;; 1. Timers at scale

(defun aio-bench--warm-loop ()
  "Load the module and start its loop: what a session pays once."
  (require 'aio)
  (aio-wait-for (aio-sleep 0.001)))

(defun aio-bench--timers (n make &optional deadlines)
  "Create N sleeps with MAKE (DELAY CALLBACK) and wait for all of them.
With DEADLINES, a vector of N, MAKE makes no sleep: each deadline is
stored there instead, and each sleep counts as run at its deadline or
once all are created, whichever is later."
  (let ((late (make-vector n 0.0))
        (done 0)
        (start (float-time))
        created)
    (aio-bench--probe-start)
    (dotimes (i n)
      (let* ((delay (aio-bench--random-delay))
             (deadline (+ (float-time) delay)))
        (when deadlines (aset deadlines i deadline))
        (funcall make delay (lambda (&rest _)
                              (aset late i (- (float-time) deadline))
                              (setq done (1+ done))))))
    (setq created (float-time))
    (if (not deadlines)
        (aio-bench--wait-until (lambda () (= done n)))
      (dotimes (i n)
        (aset late i (max 0.0 (- created (aref deadlines i)))))
      ;; The last deadline is still ahead: wait for it, as a sleep would.
      (let ((last (seq-reduce #'max deadlines created)))
        (while (< (float-time) last)
          (accept-process-output nil (- last (float-time))))))
    (let ((end (float-time)))
      (aio-bench--emit :create_s (- created start) :total_s (- end start)
                       :late_median_ms (* 1000 (aio-bench--percentile late 0.5))
                       :late_p99_ms (* 1000 (aio-bench--percentile late 0.99))
                       :max_gap_ms (aio-bench--probe-stop)))))

(defun aio-bench-timers-aio ()
  "Workload 1 with `aio-sleep' (from whichever `aio' is on the load path)."
  (aio-bench--warm-loop)
  (aio-bench--timers (aio-bench--number "N" 10000)
                     (lambda (delay callback)
                       (aio-listen (aio-sleep delay) callback))))

(defun aio-bench-timers-harness ()
  "Workload 1's own loop with no timer at all: the floor of any Emacs timer.
Each callback is made as for a sleep, and none is called: a sleep
counts as run at its deadline, or once the loop that creates them is
over, since no timer can run while Emacs runs that loop."
  ;; Loaded all the same: what each garbage collection marks grows with it.
  (aio-bench--warm-loop)
  (let ((n (aio-bench--number "N" 10000)))
    (aio-bench--timers n #'ignore (make-vector n 0.0))))

(defun aio-bench-timers-run-at-time ()
  "Workload 1 with one Emacs timer per sleep."
  (aio-bench--timers (aio-bench--number "N" 10000)
                     (lambda (delay callback) (run-at-time delay nil callback))))

;;;; 2. Await round trips

(defvar aio-bench--iterations 100000)

(defconst aio-bench--await-loops
  '(lambda (resolved n)
     (list
      (cons 'resolved_us (aio-lambda () (dotimes (_ n) (aio-await resolved))))
      (cons 'sleep0_us (aio-lambda () (dotimes (_ n) (aio-await (aio-sleep 0)))))
      (cons 'value_us (aio-lambda () (dotimes (_ n) (aio-await 1))))))
  "The three loops of workload 2, compiled when the workload runs.")

(defvar aio--lean-coroutines)

(defun aio-bench--await (lean)
  "Run workload 2, with async bodies compiled by aio-coroutine.el if LEAN.
Without LEAN they are compiled on generator.el, as emacs-aio does."
  (require 'aio)
  (let* ((n aio-bench--iterations)
         (resolved (let ((p (aio-promise))) (aio-resolve p (lambda () 1)) p))
         (loops (funcall (let ((aio--lean-coroutines lean)
                               (lexical-binding t))
                           (byte-compile aio-bench--await-loops))
                         resolved n))
         (out nil))
    (aio-wait-for resolved)
    (dolist (loop loops)
      (garbage-collect)
      (let ((start (float-time)))
        (aio-wait-for (funcall (cdr loop)))
        (push (intern (format ":%s" (car loop))) out)
        (push (/ (* 1e6 (- (float-time) start)) n) out)))
    (apply #'aio-bench--emit (nreverse out))))

(defun aio-bench-await ()
  "Workload 2: await loops over a resolved promise, a zero sleep, a value."
  (aio-bench--await t))

(defun aio-bench-await-generator-el ()
  "Workload 2 with the async bodies on generator.el instead."
  (aio-bench--await nil))

;;;; 3. Fan-out and fan-in

(defun aio-bench-fanout ()
  "Workload 3: 10,000 async functions sleeping 10 ms, joined with `aio-all'."
  (require 'aio)
  (let* ((n 10000)
         (child (aio-lambda (i) (aio-await (aio-sleep 0.01)) i))
         (start (float-time)))
    (aio-bench--probe-start)
    (let ((values (aio-wait-for (aio-all (cl-loop for i below n collect (funcall child i))))))
      (cl-assert (= (length values) n)))
    (aio-bench--emit :total_s (- (float-time) start) :max_gap_ms (aio-bench--probe-stop))))

(defun aio-bench-semaphore ()
  "Workload 3b: 10,000 waiters on one semaphore, then 10,000 posts."
  (require 'aio)
  (let* ((n 10000)
         (sem (aio-sem 0))
         (done 0)
         (waiter (aio-lambda () (aio-await (aio-sem-wait sem)) (setq done (1+ done))))
         (start (float-time)))
    (aio-bench--probe-start)
    (dotimes (_ n) (funcall waiter))
    (dotimes (_ n) (aio-sem-post sem))
    (aio-bench--wait-until (lambda () (= done n)))
    (aio-bench--emit :total_s (- (float-time) start) :max_gap_ms (aio-bench--probe-stop))))

;;;; 4 and 5. Wake latency and idle cost

(defun aio-bench-wake-latency ()
  "Workload 4: deadline-to-callback time of 1,000 native sleeps.
The wake method comes from AIO_BENCH_WAKE."
  (require 'aio)
  (customize-set-variable 'aio-native-wake-method (intern (aio-bench--param "WAKE" "channel")))
  (aio-wait-for (aio-sleep 0.01))
  (let ((late (make-vector 1000 0.0)) (done 0))
    (dotimes (i 1000)
      (let* ((delay (+ 0.05 (aio-bench--random-delay)))
             (deadline (+ (float-time) delay)))
        (aio-listen (aio-sleep delay)
                    (lambda (_)
                      (aset late i (- (float-time) deadline))
                      (setq done (1+ done))))))
    (aio-bench--wait-until (lambda () (= done 1000)))
    (aio-bench--emit :median_ms (* 1000 (aio-bench--percentile late 0.5))
                     :p99_ms (* 1000 (aio-bench--percentile late 0.99)))))

(defun aio-bench-idle ()
  "Workload 5: CPU seconds over 10 s with 1,000 hour-long sleeps pending.
The wake method comes from AIO_BENCH_WAKE, the seconds from AIO_BENCH_SECONDS."
  (require 'aio)
  (customize-set-variable 'aio-native-wake-method (intern (aio-bench--param "WAKE" "channel")))
  (let ((seconds (aio-bench--number "SECONDS" 10)))
    (dotimes (i 1000) (aio-sleep 3600 i))
    (garbage-collect)
    (let ((cpu (float-time (get-internal-run-time))))
      (sleep-for seconds)
      (aio-bench--emit :cpu_s (- (float-time (get-internal-run-time)) cpu)))))

;;;; 8. Streams

(defun aio-bench--allocated (before after)
  "Return the bytes allocated between two `memory-use-counts', roughly."
  (cl-loop for size in '(16 16 8 48 1 56 32)
           for b in before for a in after
           sum (* size (- a b))))

(defun aio-bench--lines (read-lines)
  "Run READ-LINES on the command printing AIO_BENCH_N lines; print its costs.
READ-LINES is called with the command and a function to call on each
line, and returns once the command has ended, or returns a promise
resolved then."
  (let* ((n (aio-bench--number "N" 1000000))
         (command (list "seq" (number-to-string n)))
         (count 0) (chars 0)
         ;; AIO_BENCH_NO_GC=1 leaves garbage collection out.
         (gc-cons-threshold (if (aio-bench--param "NO_GC")
                                (* 1024 1024 1024)
                              gc-cons-threshold)))
    (garbage-collect)
    (let ((counts (memory-use-counts)) (gc gc-elapsed) (start (float-time)))
      (aio-bench--probe-start)
      (let ((result (funcall read-lines command
                             (lambda (line)
                               (setq count (1+ count)
                                     chars (+ chars (length line)))))))
        (when (aio-promise-p result)
          (aio-wait-for result)))
      (let ((total (- (float-time) start))
            (gap (aio-bench--probe-stop))
            (allocated (aio-bench--allocated counts (memory-use-counts)))
            (gc-seconds (- gc-elapsed gc)))
        (cl-assert (= count n))
        (cl-assert (= chars (cl-loop for i from 1 to n sum (length (number-to-string i)))))
        (aio-bench--emit :total_s total :alloc_mb (/ allocated 1e6) :gc_s gc-seconds
                         :max_gap_ms gap)))))

(declare-function aio-process "aio-process")
(declare-function aio-process-stdout "aio-process")
(declare-function aio-process-exit "aio-process")
(declare-function aio-stream-lines "aio-stream")

(defun aio-bench-lines-aio ()
  "Workload 8a: lines through `aio-process', `aio-stream-lines', `aio-dostream'."
  (require 'aio)
  (aio-bench--lines
   (aio-lambda (command handle-line)
     (let ((process (aio-process :command command)))
       (aio-dostream (line (aio-stream-lines (aio-process-stdout process)))
         (funcall handle-line line))
       (aio-await (aio-process-exit process))))))

(defun aio-bench-lines-idiom ()
  "Workload 8a with the filter idiom of the first examples/process-lines.el."
  (require 'aio)
  (aio-bench--lines
   (aio-lambda (command handle-line)
     (let* ((callback (aio-make-callback))
            (next (cdr callback))
            (process (make-process
                      :name "lines" :command command :noquery t
                      :connection-type 'pipe
                      :filter (lambda (_process text) (funcall (car callback) 'output text))
                      :sentinel (lambda (_process event) (funcall (car callback) 'event event))))
            (pending "")
            (done nil))
       (while (not done)
         (pcase (aio-chain next)
           (`(output ,text)
            (setq pending (concat pending text))
            (while (string-match "\n" pending)
              (funcall handle-line (substring pending 0 (match-beginning 0)))
              (setq pending (substring pending (match-end 0)))))
           (`(event ,_)
            (setq done (not (process-live-p process))))))
       (when (> (length pending) 0)
         (funcall handle-line pending))))))

(defun aio-bench-lines-plain ()
  "Workload 8a with a plain `make-process' filter that splits lines itself."
  ;; Not used, but loaded as in the other contenders: every garbage
  ;; collection marks the code loaded, so the heaps must be alike.
  (require 'aio)
  (aio-bench--lines
   (lambda (command handle-line)
     (let* ((pending nil) (done nil)
            (process (make-process
                      :name "lines" :command command :noquery t
                      :connection-type 'pipe
                      :filter (lambda (_process text)
                                (let ((start 0) newline)
                                  (while (setq newline (string-search "\n" text start))
                                    (funcall handle-line
                                             (if pending
                                                 (prog1 (concat pending (substring text start newline))
                                                   (setq pending nil))
                                               (substring text start newline)))
                                    (setq start (1+ newline)))
                                  (when (< start (length text))
                                    (setq pending (concat pending (substring text start))))))
                      :sentinel (lambda (_process _event) (setq done t)))))
       (while (not done)
         (accept-process-output nil 0.05))
       (ignore process)
       (when pending (funcall handle-line pending))))))

(declare-function aio-stream-collect "aio-stream")
(declare-function aio-stream-map "aio-stream")
(declare-function aio-stream-filter "aio-stream")

(defun aio-bench-pipeline ()
  "Workload 8b: generator -> map -> filter -> collect, AIO_BENCH_N values."
  (require 'aio)
  (let* ((n (aio-bench--number "N" 100000))
         (generator (aio-stream-lambda (count)
                      (let ((i 0))
                        (while (< i count)
                          (aio-yield i)
                          (setq i (1+ i))))))
         (async-1+ (aio-lambda (x) (1+ x)))
         (out nil))
    (dolist (map (list (cons 'sync_us #'1+) (cons 'async_us async-1+)))
      (garbage-collect)
      (let* ((start (float-time))
             (result (aio-wait-for
                      (aio-stream-collect
                       (aio-stream-filter #'cl-evenp
                                          (aio-stream-map (cdr map)
                                                          (funcall generator n))))))
             (us (/ (* 1e6 (- (float-time) start)) n)))
        (cl-assert (= (length result) (/ n 2)))
        (push (intern (format ":%s" (car map))) out)
        (push us out)
        ;; Four stages: the generator, map, filter and collect.
        (push (intern (format ":%s_stage" (car map))) out)
        (push (/ us 4) out)))
    (apply #'aio-bench--emit (nreverse out))))

;;;; 7. HTTP

(defun aio-bench--http-drive (fetch)
  "Fetch AIO_BENCH_URL AIO_BENCH_N times, AIO_BENCH_CONCURRENCY at once.
FETCH is called with the URL and a function to call when that request
is over, with non-nil if it got a 200 response.  Prints wall time, CPU
time, the longest gap and how many requests failed."
  (let* ((url (aio-bench--param "URL"))
         (n (aio-bench--number "N" 100))
         (concurrency (aio-bench--number "CONCURRENCY" 10))
         (started 0) (finished 0) (failed 0)
         (start nil)
         (cpu nil)
         next)
    ;; One request first, out of the measure: what a contender loads on
    ;; its first use (url.el's url-http, the module) is paid once a
    ;; session, not per request.
    (let ((warm nil))
      (funcall fetch url (lambda (_) (setq warm t)))
      (aio-bench--wait-until (lambda () warm)))
    (setq start (float-time)
          cpu (float-time (get-internal-run-time)))
    (setq next (lambda (ok)
                 (setq finished (1+ finished))
                 (unless ok (setq failed (1+ failed)))
                 (when (< started n)
                   (setq started (1+ started))
                   (funcall fetch url next))))
    (aio-bench--probe-start)
    (while (< started (min n concurrency))
      (setq started (1+ started))
      (funcall fetch url next))
    (aio-bench--wait-until (lambda () (>= finished n)))
    (aio-bench--emit :total_s (- (float-time) start)
                     :cpu_s (- (float-time (get-internal-run-time)) cpu)
                     :max_gap_ms (aio-bench--probe-stop)
                     :failed failed)))

(defun aio-bench-http-request ()
  "Workload 7 with `aio-http-request'."
  (require 'aio)
  (aio-bench--http-drive
   (lambda (url done)
     (aio-listen (aio-http-request url :proxy "")
                 (lambda (value)
                   (funcall done (eql 200 (aio-http-response-status
                                           (funcall value)))))))))

(defun aio-bench-http-emacs-floor ()
  "Workload 7 without I/O: what Emacs's side alone costs.
Each request is a promise resolved from the ready queue with a fresh
unibyte string of AIO_BENCH_BODY bytes, as a response body would be."
  (require 'aio)
  (let ((size (aio-bench--number "BODY" 10240)))
    (aio-bench--http-drive
     (lambda (_url done)
       (let ((promise (aio-promise)))
         (aio-listen promise (lambda (value) (funcall done (= (length (funcall value)) size))))
         (aio--enqueue (lambda (_)
                         (aio-resolve promise (aio--value-fn (make-string size ?x))))
                       nil)
         (aio--schedule))))))

(defun aio-bench-http-aio-url-retrieve ()
  "Workload 7 with `aio-url-retrieve'."
  (require 'aio)
  (aio-bench--http-drive
   (lambda (url done)
     (aio-listen (aio-url-retrieve url t t)
                 (lambda (value)
                   (let ((result (funcall value)))
                     (kill-buffer (cdr result))
                     (funcall done (null (car result)))))))))

(defvar url-proxy-services)

(defun aio-bench-http-url-retrieve ()
  "Workload 7 with url.el's `url-retrieve'."
  (require 'url)
  (setq url-proxy-services nil)
  (aio-bench--http-drive
   (lambda (url done)
     (url-retrieve url (lambda (status)
                         (kill-buffer (current-buffer))
                         (funcall done (null status)))
                   nil t t))))

(declare-function plz "plz")
(declare-function aio-http-response-status "aio-http")

(defun aio-bench-http-plz ()
  "Workload 7 with plz (one curl process per request)."
  (require 'plz)
  (aio-bench--http-drive
   (lambda (url done)
     (plz 'get url :as 'string :noquery t
       :then (lambda (_) (funcall done t))
       :else (lambda (_) (funcall done nil))))))

;;;; 9. Streamed HTTP

(defun aio-bench-http-request-buffer ()
  "Workload 7 with `aio-http-request' and :as `buffer'."
  (require 'aio)
  (aio-bench--http-drive
   (lambda (url done)
     (aio-listen (aio-http-request url :proxy "" :as 'buffer)
                 (lambda (value)
                   (let ((response (funcall value)))
                     (kill-buffer (aio-http-response-body response))
                     (funcall done (eql 200 (aio-http-response-status response)))))))))

(defun aio-bench--sse (run)
  "Measure RUN, which reads the events at AIO_BENCH_URL; print the costs.
RUN is called with the URL and a function to call on each event, and
returns once all are read.  AIO_BENCH_NO_GC=1 leaves garbage
collection out."
  (let ((url (aio-bench--param "URL"))
        (events 0)
        (gc-cons-threshold (if (aio-bench--param "NO_GC")
                               (* 1024 1024 1024)
                             gc-cons-threshold)))
    (garbage-collect)
    (let ((gc gc-elapsed)
          (start (float-time)))
      (aio-bench--probe-start)
      (funcall run url (lambda () (setq events (1+ events))))
      (let ((seconds (- (float-time) start)))
        (aio-bench--emit :total_s seconds :events events
                         :rate (/ events seconds)
                         :gc_s (- gc-elapsed gc)
                         :max_gap_ms (aio-bench--probe-stop))))))

(defun aio-bench-sse-aio ()
  "Workload 8: server-sent events through `aio-http-sse'."
  (aio-bench--warm-loop)
  (aio-bench--sse
   (lambda (url count)
     (aio-wait-for
      (funcall (aio-lambda ()
                 (let ((response (aio-await (aio-http-request url :proxy "" :as 'stream))))
                   (aio-dostream (event (aio-http-sse (aio-http-response-body response)))
                     (ignore event)
                     (funcall count)))))
      600))))

(defun aio-bench--sse-parse-region (buffer count)
  "Parse the whole events in BUFFER as gptel does; call COUNT on each.
Return nothing; parsed text is deleted."
  (with-current-buffer buffer
    (goto-char (point-min))
    (while (search-forward "\n\n" nil t)
      (let ((end (point))
            (data nil))
        (goto-char (point-min))
        (while (re-search-forward "^data: ?\\(.*\\)$" end t)
          (push (match-string 1) data))
        (funcall count (mapconcat #'identity (nreverse data) "\n"))
        (delete-region (point-min) end)
        (goto-char (point-min))))))

(defun aio-bench-sse-curl-process ()
  "Workload 8: a curl process whose filter parses events in Lisp."
  (aio-bench--sse
   (lambda (url count)
     (let* ((buffer (generate-new-buffer " *sse*"))
            (process (make-process
                      :name "curl" :buffer nil :noquery t :coding 'utf-8
                      :connection-type 'pipe
                      :command (list "curl" "-sN" "--noproxy" "*" url)
                      :filter (lambda (_process text)
                                (with-current-buffer buffer
                                  (goto-char (point-max))
                                  (insert text))
                                (aio-bench--sse-parse-region
                                 buffer (lambda (_) (funcall count)))))))
       (aio-bench--wait-until (lambda () (not (process-live-p process))))
       ;; The last output may still be on its way to the filter.
       (while (accept-process-output process 0.01))))))

(defvar url-http-end-of-headers)

(defun aio-bench-sse-url-retrieve ()
  "Workload 8: url.el, which hands over the body only at the end."
  (require 'url)
  (require 'url-http)
  (setq url-proxy-services nil)
  (aio-bench--sse
   (lambda (url count)
     (let ((done nil))
       (url-retrieve url (lambda (_status)
                           (let ((buffer (current-buffer)))
                             (delete-region (point-min) (1+ url-http-end-of-headers))
                             (decode-coding-region (point-min) (point-max) 'utf-8)
                             (aio-bench--sse-parse-region buffer (lambda (_) (funcall count)))
                             (kill-buffer buffer)
                             (setq done t)))
                     nil t t)
       (aio-bench--wait-until (lambda () done))))))

(defun aio-bench-idle-gap ()
  "The 10 ms timer alone, for AIO_BENCH_SECONDS: the gap of an idle Emacs."
  (let ((end (+ (float-time) (aio-bench--number "SECONDS" 1.5))))
    (aio-bench--probe-start)
    (aio-bench--wait-until (lambda () (> (float-time) end)))
    (aio-bench--emit :max_gap_ms (aio-bench--probe-stop))))

(defun aio-bench--rss ()
  "Return this Emacs's resident size in bytes."
  (with-temp-buffer
    (insert-file-contents "/proc/self/status")
    (re-search-forward "^VmRSS:[ \t]+\\([0-9]+\\) kB")
    (* 1024 (string-to-number (match-string 1)))))

(defun aio-bench-download-aio ()
  "Workload 8: a big file to disk with :as (file PATH)."
  (aio-bench--warm-loop)
  (let ((url (aio-bench--param "URL"))
        (path (aio-bench--param "PATH"))
        (start (float-time))
        (rss (aio-bench--rss))
        (most 0))
    (aio-bench--probe-start)
    (let ((sampler (run-at-time 0.05 0.05 (lambda () (setq most (max most (aio-bench--rss)))))))
      (aio-wait-for (aio-http-request url :proxy "" :as (list 'file path)) 600)
      (cancel-timer sampler))
    (aio-bench--emit :total_s (- (float-time) start)
                     :rss_growth_mb (/ (max 0 (- (max most (aio-bench--rss)) rss)) 1048576.0)
                     :max_gap_ms (aio-bench--probe-stop))))

;;;; 10. Memory per operation

(defun aio-bench--allocated-bytes ()
  "Return the bytes of Lisp objects allocated so far, from `memory-use-counts'."
  (let ((m (memory-use-counts)))
    ;; conses, floats, vector cells, symbols, string chars, intervals, strings
    (+ (* 16 (nth 0 m)) (* 8 (nth 1 m)) (* 8 (nth 2 m)) (* 48 (nth 3 m))
       (nth 4 m) (* 56 (nth 5 m)) (* 32 (nth 6 m)))))

(defun aio-bench--live-bytes ()
  "Collect garbage and return the bytes of live Lisp objects."
  (let ((total 0))
    (dolist (entry (garbage-collect) total)
      (when (and (consp entry) (numberp (nth 1 entry)) (numberp (nth 2 entry)))
        (setq total (+ total (* (nth 1 entry) (nth 2 entry))))))))

(defun aio-bench--per-operation (n make)
  "Return (ALLOCATED LIVE) bytes per operation of N calls of MAKE.
MAKE is called with the index and returns what keeps the operation
going; the operations are pending while their live size is measured."
  (let* ((base (aio-bench--live-bytes))
         (before (aio-bench--allocated-bytes))
         (keep (let (l) (dotimes (i n) (push (funcall make i) l)) l))
         (allocated (/ (float (- (aio-bench--allocated-bytes) before)) n))
         (live (/ (float (- (aio-bench--live-bytes) base)) n)))
    (ignore keep)
    (list allocated live)))

(defun aio-bench-memory ()
  "Workload 10: bytes allocated and kept alive per pending operation.
AIO_BENCH_ROW names the one kind to measure (sleep, listened, task or
http); each kind is best measured in an Emacs of its own, since the
pending table grows for the first ones and stays grown."
  (aio-bench--warm-loop)
  (let* ((n (aio-bench--number "N" 10000))
         (url (aio-bench--param "URL"))
         (only (aio-bench--param "ROW"))
         (kinds
          `((sleep ,n ,(lambda (i) (aio-sleep 3600 i)))
            (listened ,n ,(lambda (_) (let ((p (aio-sleep 3600))) (aio-listen p #'ignore) p)))
            (task ,n ,(lambda (_) (funcall (aio-lambda () (aio-await (aio-sleep 3600))))))
            ,@(and url `((http ,(min n 200) ,(lambda (_) (aio-http-request url :proxy ""))))))))
    (let ((out nil))
      (dolist (kind kinds)
        (when (or (null only) (equal only (symbol-name (car kind))))
          (let ((r (aio-bench--per-operation (nth 1 kind) (nth 2 kind))))
            (setq out (append out (list (intern (format ":%s_alloc" (car kind))) (float (nth 0 r))
                                        (intern (format ":%s_live" (car kind))) (float (nth 1 r))))))))
      (aio-native-shutdown)
      (apply #'aio-bench--emit out))))

;;;; 11. Files

(defun aio-bench--probe-last ()
  "Let the probe's timer run once more, so that it sees the last gap.
A blocking call's gap ends only when the timer next runs."
  (accept-process-output nil 0.02))

(defun aio-bench--file-read (insert)
  "Read AIO_BENCH_PATH into a new buffer with INSERT, a function of the path.
INSERT returns a promise, or nil when it has read the file already."
  (require 'aio)
  ;; The module loaded before the clock starts, as in a running Emacs.
  (aio-native-init)
  (let* ((path (aio-bench--param "PATH"))
         (start (float-time))
         size)
    (aio-bench--probe-start)
    ;; A timer that runs once the read has begun: the probe sees how long
    ;; Emacs stays away while the file comes in.
    (let ((buffer (generate-new-buffer " *aio-bench-read*"))
          total gap)
      (with-current-buffer buffer
        (let ((promise (funcall insert path)))
          (when promise
            (kill-buffer buffer)
            (setq buffer (aio-wait-for promise 600)))))
      (setq size (with-current-buffer buffer (buffer-size)))
      (aio-bench--probe-last)
      (setq total (- (float-time) start)
            gap (aio-bench--probe-stop))
      ;; Killing a buffer of 1 GiB takes hundreds of milliseconds (its
      ;; memory is given back): the cleanup, not the read, and out of
      ;; the measure.
      (kill-buffer buffer)
      (aio-bench--emit :total_s total :bytes size :max_gap_ms gap))))

(defun aio-bench-file-read-aio ()
  "Workload 11: a big file into a buffer with `aio-file-read'."
  (aio-bench--file-read (lambda (path) (aio-file-read path :as 'buffer
                                                      :coding 'no-conversion))))

(defun aio-bench-file-read-literally ()
  "Workload 11: a big file into a buffer with `insert-file-contents-literally'."
  (aio-bench--file-read (lambda (path)
                          ;; The probe's timer must get its first turn
                          ;; before the blocking read, as it does above.
                          (sit-for 0.02)
                          (insert-file-contents-literally path)
                          nil)))

(defun aio-bench-walk-aio ()
  "Workload 11: every file under AIO_BENCH_PATH with `aio-directory-walk'."
  (require 'aio)
  (aio-native-init)
  (let ((start (float-time))
        (count 0))
    (aio-bench--probe-start)
    (aio-wait-for (aio-with-async
                    (aio-dostream (_name (aio-directory-walk (aio-bench--param "PATH")))
                      (setq count (1+ count))))
                  600)
    (aio-bench--probe-last)
    (aio-bench--emit :total_s (- (float-time) start) :files count
                     :max_gap_ms (aio-bench--probe-stop))))

(defun aio-bench-walk-dfr ()
  "Workload 11: every file under AIO_BENCH_PATH with `directory-files-recursively'."
  (let ((start (float-time)))
    (aio-bench--probe-start)
    (sit-for 0.02)
    (let ((files (directory-files-recursively (aio-bench--param "PATH") "")))
      (aio-bench--probe-last)
      (aio-bench--emit :total_s (- (float-time) start) :files (length files)
                       :max_gap_ms (aio-bench--probe-stop)))))

;;;; 12. HTTP server

(defun aio-bench--serve-forever ()
  "Process events until killed."
  (while t
    (accept-process-output nil 1)))

(defun aio-bench-serve-aio ()
  "Workload 12: serve \"hello\" with `aio-http-serve' and a plain handler."
  (require 'aio)
  (aio-http-serve (aio-bench--number "PORT") (lambda (_request) "hello"))
  (aio-bench--serve-forever))

(defun aio-bench-serve-aio-async ()
  "Workload 12: serve \"hello\" with `aio-http-serve' and an async handler."
  (require 'aio)
  (aio-http-serve (aio-bench--number "PORT") (aio-lambda (_request) "hello"))
  (aio-bench--serve-forever))

(defvar httpd-port)
(defvar httpd-host)
(declare-function httpd-start "simple-httpd" ())

(defun aio-bench-serve-simple-httpd ()
  "Workload 12: serve \"hello\" at /hello with a simple-httpd servlet.
simple-httpd as it ships: its log of each request in *httpd* included."
  (require 'simple-httpd)
  (setq httpd-host "127.0.0.1" httpd-port (aio-bench--number "PORT"))
  ;; `defservlet' defines httpd/hello, the servlet of /hello; compiled,
  ;; as the rest of this file (simple-httpd is not loaded when it is).
  (byte-compile (eval '(defservlet hello text/plain () (insert "hello")) t))
  (httpd-start)
  (aio-bench--serve-forever))

;;;; 13. TCP streams

(defvar gnutls-trustfiles)
(defvar gnutls-verify-error)
(defvar network-security-level)

(defun aio-bench--tcp-read (connection)
  "Read AIO_BENCH_BYTES from CONNECTION, an `aio-tcp-connection'; emit."
  (let* ((n (aio-bench--number "BYTES"))
         (start (float-time))
         (total 0)
         (input (aio-tcp-input connection)))
    (aio-wait-for (aio-with-async
                    (aio-dostream (chunk input)
                      (setq total (+ total (length chunk)))
                      (when (>= total n)
                        (aio-stream-close input))))
                  600)
    (aio-bench--tcp-emit start total)))

(defun aio-bench--tcp-emit (start total)
  "Emit the measures of TOTAL bytes received since START."
  (let ((seconds (- (float-time) start)))
    (aio-bench--probe-last)
    (aio-bench--emit :total_s seconds :mb_per_s (/ total seconds 1e6)
                     :max_gap_ms (aio-bench--probe-stop))))

(defun aio-bench-tcp-aio ()
  "Workload 13: the plain server's flood, with `aio-tcp-connect'."
  (require 'aio)
  (aio-native-init)
  (aio-bench--probe-start)
  (aio-bench--tcp-read (aio-wait-for (aio-tcp-connect "127.0.0.1" (aio-bench--number "PORT")) 10)))

(defun aio-bench-tls-aio ()
  "Workload 13: the TLS server's flood, with `aio-tcp-connect' :tls."
  (require 'aio)
  (aio-native-init)
  (aio-bench--probe-start)
  (let ((connection (aio-wait-for (aio-tcp-connect "localhost" (aio-bench--number "PORT")
                                                   :tls t :ca-file (aio-bench--param "CA"))
                                  10)))
    ;; Its greeting, "hello\n", then the request for the flood.
    (aio-wait-for (aio-stream-next (aio-tcp-input connection)) 10)
    (aio-wait-for (aio-tcp-write connection (format "flood %d\n" (aio-bench--number "BYTES"))) 10)
    (aio-bench--tcp-read connection)))

(defun aio-bench--tcp-emacs (process skip)
  "Count what PROCESS receives, until AIO_BENCH_BYTES more than SKIP.
PROCESS is a network process whose filter is set here.  The first
SKIP bytes are a greeting, after which the flood is asked for."
  (let ((n (+ skip (aio-bench--number "BYTES")))
        (total 0)
        (start (float-time)))
    (set-process-filter process (lambda (_ bytes) (setq total (+ total (length bytes)))))
    (when (> skip 0)
      (while (< total skip)
        (accept-process-output process 1))
      (process-send-string process (format "flood %d\n" (aio-bench--number "BYTES"))))
    (while (< total n)
      (accept-process-output process 1))
    (delete-process process)
    (aio-bench--tcp-emit start (- total skip))))

(defun aio-bench-tcp-emacs ()
  "Workload 13: the flood of the plain server, `make-network-process' and a filter."
  (aio-bench--probe-start)
  (aio-bench--tcp-emacs (make-network-process :name "bench" :host "127.0.0.1" :buffer nil
                                              :service (aio-bench--number "PORT")
                                              :coding 'binary :noquery t)
                        0))

(defun aio-bench-tls-emacs ()
  "Workload 13: the flood of the TLS server, `open-network-stream' :type tls.
GnuTLS in Emacs, the certificate trusted as :ca-file trusts it."
  (require 'gnutls)
  (aio-bench--probe-start)
  (let ((gnutls-trustfiles (list (aio-bench--param "CA")))
        (gnutls-verify-error t)
        (network-security-level 'low))
    (aio-bench--tcp-emacs (open-network-stream "bench" nil "localhost" (aio-bench--number "PORT")
                                               :type 'tls :coding 'binary)
                          (length "hello\n"))))

(provide 'workloads)
;;; workloads.el ends here
