;;; aio-stream.el --- Async streams: values that arrive over time  -*- lexical-binding: t -*-

;;; Commentary:

;; An `aio-stream' is a source of values read one at a time by
;; awaiting, with a bounded buffer between its producer and its
;; readers: a producer that gets ahead waits, a reader that gets ahead
;; waits for the next value.
;;
;; Conventions.
;;
;; - `aio-stream-next' returns a promise of the next value.  At the end
;;   of the stream the promise is rejected with `aio-stream-end' (an
;;   `error'); when the producer failed, with the producer's error.  So
;;   nil is a value like any other.  Every reader sees the end, and
;;   every read after it sees it again.
;; - `aio-stream-close' closes a stream, with an optional error.  Values
;;   already buffered are still read; then readers see the end (or the
;;   error).  Writes fail with `aio-stream-closed'.  Whoever produces
;;   the values is stopped: a generator is canceled at its pause, a
;;   combinator closes the streams it reads, a native producer is told
;;   through its ON-CLOSE hook.  A consumer that stops early closes what
;;   it reads; `aio-dostream' does so however its body exits.
;; - A stream is bounded by a number of values, MAX, and optionally by
;;   a number of bytes of string values, MAX-BYTES.  A writer waits
;;   while the stream is full; once the readers have taken it down to
;;   half of its bounds, waiting writers go in again (the hysteresis
;;   spares a producer from waking up for every value).  MAX 0 makes a
;;   rendezvous: a write waits for a reader to take it.
;;
;; Producers.
;;
;; - Async functions write with `aio-stream-write'.
;; - Async generators (`aio-defstream', `aio-stream-lambda') yield with
;;   `aio-yield'.  A generator starts when its stream is first read,
;;   runs ahead of its readers by at most the stream's bound, and is
;;   canceled at its pause (its `unwind-protect' cleanups run once)
;;   when its stream is closed.
;; - A producer that cannot wait (a process filter, or a native
;;   operation reporting chunks from the loop thread) uses
;;   `aio-stream-push', which always puts the value in and returns nil
;;   once the stream is full; the producer then stops producing until
;;   the stream's ON-ROOM hook is called (the readers have taken the
;;   buffer down to half its bounds).  The ON-CLOSE hook tells it that
;;   the stream was closed, for instance by a reader that wants no more.
;;
;; Combinators (`aio-stream-map', `aio-stream-filter', `aio-stream-take',
;; `aio-stream-lines') are streams that pull from the stream they
;; transform when read, in batches of what is available at once, so a
;; pipeline costs no task per stage.  They close what they read when
;; they end early, fail, or are closed.
;;
;; The internal readers used by `aio-dostream' and the combinators get
;; a value without a promise when one is buffered, and the marker
;; `aio--stream-eos' at the end.

;;; Code:

(require 'cl-lib)
(require 'macroexp)
(require 'aio-promise)
(require 'aio-waiters)
(require 'aio-async)

(define-error 'aio-stream-end "End of stream")
(define-error 'aio-stream-closed "Stream is closed")

(defvar aio-stream-default-size 32
  "The bound, in values, of streams made without one.
Generators (`aio-defstream', `aio-stream-lambda') and combinators
use the value this has when they are called.")

(cl-defstruct (aio-stream (:constructor aio--make-stream)
                          (:conc-name aio--stream-)
                          (:copier nil))
  "A stream of values; see `aio-stream'.
MAX is nil or the most values the buffer holds, MAX-BYTES nil or the
most bytes of string values it holds; ITEMS are the buffered values,
oldest first, LAST their last cell, COUNT their number, BYTES their
size when MAX-BYTES is set.  READERS and WRITERS are the waiting reads
\(an entry's data is non-nil for an internal reader) and writes (an
entry's data is its value).  DONE is nil while values may still come,
t once the stream ended, or the error it failed with.  BLOCKED is
non-nil once `aio-stream-push' has said the stream was full, until
ON-ROOM is called.  ON-ROOM and ON-CLOSE are the producer's hooks;
CLOSED is non-nil once `aio-stream-close' was called.

A producer that works when asked sets MAKE, called with the stream
when a reader finds it empty: it returns a value made at once, or
`aio--stream-none' or `aio--stream-eos' as `aio--stream-take-now'
does.  DEMAND, if non-nil, is called with the stream when a reader
starts to wait, unless BUSY, which is non-nil while the producer
waits for something.  A combinator keeps what it reads in SOURCE,
its functions in STEP and SETTLE, its data in STATE and the promise
it waits for in PENDING.  NAME, when non-nil, names the stream in
`aio-list-tasks'."
  (max nil) (max-bytes nil)
  (items nil) (last nil) (count 0) (bytes 0)
  (readers (aio--make-waiters)) (writers (aio--make-waiters))
  (done nil) (blocked nil)
  (on-room nil) (on-close nil) (closed nil)
  (make nil) (demand nil) (busy nil)
  (source nil) (step nil) (settle nil) (state nil) (pending nil)
  (name nil))

(defun aio--check-stream (object)
  "Signal `wrong-type-argument' unless OBJECT is an `aio-stream'; return it."
  (unless (aio-stream-p object)
    (signal 'wrong-type-argument (list 'aio-stream-p object)))
  object)

(defun aio--check-size (size)
  "Signal an error unless SIZE is a natural number; return it."
  (unless (natnump size)
    (signal 'wrong-type-argument (list 'natnump size)))
  size)

(cl-defun aio-stream (&optional (max aio-stream-default-size)
                                &key max-bytes on-room on-close)
  "Return a new open stream holding at most MAX values.
MAX is a natural number; 0 makes every write wait for a reader to
take its value.  MAX nil means no bound on the number of values,
which needs MAX-BYTES.

MAX-BYTES, if non-nil, also bounds the bytes of the string values
buffered (`string-bytes'); a value larger than it still goes into an
empty buffer.

ON-ROOM and ON-CLOSE are for a producer that cannot wait and writes
with `aio-stream-push': ON-ROOM is called with the stream, from a
reader's call, once readers have taken the buffer down to half its
bounds after a push found it full; ON-CLOSE is called with the stream
once, when `aio-stream-close' closes it.  Both must return quickly and
must not read from the stream.

\(fn &optional (MAX aio-stream-default-size) &key MAX-BYTES ON-ROOM ON-CLOSE)"
  (when max (aio--check-size max))
  (when max-bytes
    (aio--check-size max-bytes)
    (when (zerop max-bytes)
      (signal 'args-out-of-range (list max-bytes))))
  (unless (or max max-bytes)
    (signal 'wrong-type-argument (list 'natnump max)))
  (dolist (hook (list on-room on-close))
    (when hook (aio--check-function hook)))
  (aio--make-stream :max max :max-bytes max-bytes
                    :on-room on-room :on-close on-close))

;;;; The buffer

;; The paths every value takes read the slots with `aio--slot-of',
;; which does not check the type again as each accessor call does:
;; the public functions check their arguments once.

(defmacro aio--slot-of (type object slot)
  "Read SLOT of OBJECT, a struct of TYPE, without checking its type."
  `(aref ,object ,(cl-struct-slot-offset type slot)))

(defmacro aio--sref (stream slot)
  "Read SLOT of STREAM, an `aio-stream', without checking its type."
  `(aio--slot-of aio-stream ,stream ,slot))

(defmacro aio--waiting-p (waiters)
  "Return non-nil if WAITERS, an `aio--waiters', may have a live waiter."
  `(aio--slot-of aio--waiters ,waiters head))

(defsubst aio--stream-size (stream value)
  "Return how much VALUE weighs against STREAM's byte bound."
  (if (and (aio--sref stream max-bytes) (stringp value))
      (string-bytes value)
    0))

(defun aio--stream-full-p (stream)
  "Return non-nil if STREAM's buffer is as full as its bounds allow."
  (let ((max (aio--sref stream max))
        (max-bytes (aio--sref stream max-bytes))
        (count (aio--sref stream count)))
    (or (and max (>= count max))
        (and max-bytes (> count 0) (>= (aio--sref stream bytes) max-bytes)))))

(defun aio--stream-low-p (stream)
  "Return non-nil if STREAM's buffer is at or below half its bounds."
  (let ((max (aio--sref stream max))
        (max-bytes (aio--sref stream max-bytes)))
    (and (or (null max) (<= (* 2 (aio--sref stream count)) max))
         (or (null max-bytes) (<= (* 2 (aio--sref stream bytes)) max-bytes)))))

(defun aio--stream-append (stream values count)
  "Add the list VALUES, COUNT values, at the end of STREAM's buffer.
Whatever its bounds; VALUES becomes part of the buffer."
  (when values
    (if (aio--sref stream items)
        (setcdr (aio--sref stream last) values)
      (setf (aio--sref stream items) values))
    (setf (aio--sref stream last) (last values)
          (aio--sref stream count) (+ (aio--sref stream count) count))
    (when (aio--sref stream max-bytes)
      (dolist (value values)
        (setf (aio--sref stream bytes)
              (+ (aio--sref stream bytes) (aio--stream-size stream value)))))))

(defun aio--stream-enqueue (stream value)
  "Add VALUE at the end of STREAM's buffer, whatever its bounds."
  (let ((cell (list value)))
    (if (aio--sref stream items)
        (setcdr (aio--sref stream last) cell)
      (setf (aio--sref stream items) cell))
    (setf (aio--sref stream last) cell
          (aio--sref stream count) (1+ (aio--sref stream count)))
    (when (aio--sref stream max-bytes)
      (setf (aio--sref stream bytes)
            (+ (aio--sref stream bytes) (aio--stream-size stream value))))))

(defun aio--stream-return (stream value)
  "Give VALUE back to STREAM: to a waiting reader, or at the head of its buffer.
The returner of a read whose reader was canceled before taking VALUE."
  (unless (aio--stream-give stream value)
    (push value (aio--stream-items stream))
    (unless (aio--stream-last stream)
      (setf (aio--stream-last stream) (aio--stream-items stream)))
    (cl-incf (aio--stream-count stream))
    (when (aio--stream-max-bytes stream)
      (cl-incf (aio--stream-bytes stream) (aio--stream-size stream value)))))

(defun aio--stream-give (stream value)
  "Hand VALUE to STREAM's oldest waiting reader; return nil if none waits."
  (let ((readers (aio--sref stream readers)))
    (when (aio--waiting-p readers)
      (let ((entry (aio--waiters-pop readers)))
        (when entry
          (aio--grant (car entry) value
                      (apply-partially #'aio--stream-return stream value))
          t)))))

(defun aio--stream-put (stream value)
  "Hand VALUE to a waiting reader of STREAM, or buffer it, whatever the bounds."
  (unless (aio--stream-give stream value)
    (aio--stream-enqueue stream value)))

(defun aio--stream-put-list (stream values)
  "Put the list VALUES into STREAM as `aio--stream-put' does, in order.
VALUES becomes part of STREAM's buffer."
  (while (and values (aio--waiting-p (aio--sref stream readers))
              (aio--stream-give stream (car values)))
    (setq values (cdr values)))
  (aio--stream-append stream values (length values)))

(defun aio--stream-admit (stream)
  "Move the values of STREAM's waiting writers into it while it has room."
  (let (entry)
    (while (and (not (aio--stream-full-p stream))
                (setq entry (aio--waiters-pop (aio--sref stream writers))))
      (aio--stream-enqueue stream (cdr entry))
      (aio-resolve (car entry) #'ignore))))

(defun aio--stream-after-take (stream)
  "Let STREAM's producer go on if readers have taken the buffer down enough."
  (when (and (or (aio--sref stream blocked)
                 (aio--waiting-p (aio--sref stream writers)))
             (aio--stream-low-p stream))
    (when (aio--waiting-p (aio--sref stream writers))
      (aio--stream-admit stream))
    (when (and (aio--sref stream blocked) (aio--stream-low-p stream))
      (setf (aio--sref stream blocked) nil)
      (let ((hook (aio--sref stream on-room)))
        (when hook (funcall hook stream))))))

(defun aio--stream-take-now (stream)
  "Take STREAM's next value if one is there now, and return it.
Return `aio--stream-eos' once the stream has ended (its DONE slot
says how), or `aio--stream-none' if a value may still come."
  (let ((items (aio--sref stream items)))
    (if items
        (let ((value (car items)))
          (unless (setf (aio--sref stream items) (cdr items))
            (setf (aio--sref stream last) nil))
          (setf (aio--sref stream count) (1- (aio--sref stream count)))
          (when (aio--sref stream max-bytes)
            (setf (aio--sref stream bytes)
                  (- (aio--sref stream bytes) (aio--stream-size stream value))))
          (aio--stream-after-take stream)
          value)
      ;; Empty: a writer of a rendezvous stream may hold a value.
      (let ((entry (and (aio--waiting-p (aio--sref stream writers))
                        (aio--waiters-pop (aio--sref stream writers)))))
        (cond (entry
               (aio-resolve (car entry) #'ignore)
               (cdr entry))
              ((aio--sref stream done) 'aio--stream-eos)
              (t 'aio--stream-none))))))

;;;; Reading

(defvar aio--stream-waits (make-hash-table :test #'eq :weakness 'key)
  "Waiting reads and writes, mapped to (STREAM . KIND), for `aio-list-tasks'.
KIND is `read' or `write'.")

(defun aio--stream-end-function (stream internal)
  "Return the value function a reader gets at the end of STREAM.
INTERNAL non-nil means a reader of `aio--stream-pull', which gets
the marker `aio--stream-eos' rather than the error `aio-stream-end'."
  (let ((done (aio--stream-done stream)))
    (cond ((not (eq done t)) (aio--error-fn done))
          (internal (aio--value-fn 'aio--stream-eos))
          (t (aio--error-fn (list 'aio-stream-end))))))

(defun aio--stream-take-slow (stream)
  "Take STREAM's next value as `aio--stream-take' does, but not for a combinator."
  (let ((value (aio--stream-take-now stream)))
    (if (and (eq value 'aio--stream-none) (aio--sref stream make))
        (funcall (aio--sref stream make) stream)
      value)))

(defsubst aio--stream-take (stream)
  "Take STREAM's next value if it is there, or if its producer has one at once.
Return it, `aio--stream-eos' or `aio--stream-none', as
`aio--stream-take-now' does."
  (let ((make (aio--sref stream make)))
    (if (or (null make)
            (aio--sref stream items)
            (aio--sref stream done)
            (aio--waiting-p (aio--sref stream writers)))
        (aio--stream-take-slow stream)
      ;; The path of every value of a combinator.
      (funcall make stream))))

(defun aio--stream-wait (stream internal)
  "Return the promise of a reader now waiting on STREAM.
INTERNAL is as for `aio--stream-end-function'."
  (let ((promise (aio--waiters-add (aio--sref stream readers) internal))
        (demand (aio--sref stream demand)))
    (puthash promise (cons stream 'read) aio--stream-waits)
    (when (and demand (not (aio--sref stream busy)))
      (funcall demand stream))
    promise))

(defun aio--stream-resolved (value)
  "Return a promise resolved with VALUE."
  (let ((promise (aio-promise)))
    (aio-resolve promise (aio--value-fn value))
    promise))

(defun aio--stream-pull (stream)
  "Return STREAM's next value, or a promise of it, for an internal reader.
The value is returned as it is unless it is a promise, or the slice
of the ready queue is used up: then it comes in a resolved promise,
so that awaiting it gives the value, after a pause in the second
case.  At the end, return `aio--stream-eos', or signal the producer's
error."
  (let ((value (aio--stream-take stream)))
    (cond ((eq value 'aio--stream-none) (aio--stream-wait stream t))
          ((eq value 'aio--stream-eos)
           (funcall (aio--stream-end-function stream t)))
          ((or (aio-promise-p value) (not (aio--slice-left-p)))
           (let ((promise (aio-promise)))
             (aio--grant promise value
                         (apply-partially #'aio--stream-return stream value))
             promise))
          (t value))))

(defun aio--stream-pull-now (stream)
  "Return STREAM's next value if it is there now and the slice has time left.
Else return `aio--stream-none' or `aio--stream-eos' as
`aio--stream-take' does: `aio--stream-pull' then says more."
  (if (aio--slice-left-p)
      (aio--stream-take stream)
    'aio--stream-none))

(defun aio-stream-next (stream)
  "Return a promise of the next value of STREAM.
At the end of STREAM, the promise is rejected with `aio-stream-end';
if STREAM's producer failed, with its error, once the values it
produced before have been read.  A value may be nil.

Canceling the promise, or the async function awaiting it, takes no
value: one handed over too late goes back to the head of STREAM."
  (aio--check-stream stream)
  (let ((value (aio--stream-take stream)))
    (cond ((eq value 'aio--stream-none) (aio--stream-wait stream nil))
          ((eq value 'aio--stream-eos)
           (let ((promise (aio-promise)))
             (aio-resolve promise (aio--stream-end-function stream nil))
             promise))
          (t
           (let ((promise (aio-promise)))
             (aio--grant promise value
                         (apply-partially #'aio--stream-return stream value))
             promise)))))

(defun aio-stream-length (stream)
  "Return the number of values buffered in STREAM."
  (aio--check-stream stream)
  (aio--stream-count stream))

(defun aio-stream-closed-p (stream)
  "Return non-nil if no more values will go into STREAM.
That is once it was closed, or its producer has ended."
  (aio--check-stream stream)
  (and (aio--stream-done stream) t))

;;;; Writing

(defconst aio--stream-written (aio--stream-resolved nil)
  "A resolved promise: what `aio-stream-write' returns for a value that went in.")

(defun aio--stream-offer (stream value closed)
  "Put VALUE into STREAM if it has room; else return the promise of a writer.
Return nil if VALUE went in (or to a waiting reader).  CLOSED is the
condition to signal if STREAM is closed."
  (cond ((aio--sref stream done) (signal (car closed) (cdr closed)))
        ((aio--stream-give stream value) nil)
        ((and (not (aio--stream-full-p stream))
              (not (and (aio--waiting-p (aio--sref stream writers))
                        (aio--waiters-live-p (aio--sref stream writers)))))
         (aio--stream-enqueue stream value)
         nil)
        (t
         (let ((promise (aio--waiters-add (aio--stream-writers stream) value)))
           (puthash promise (cons stream 'write) aio--stream-waits)
           promise))))

(defun aio-stream-write (stream value)
  "Write VALUE into STREAM; return a promise resolved once it is in.
The promise is resolved at once when STREAM has room or a reader
waits; else it waits while STREAM is full.  Canceling it before then
writes nothing.  Signal `aio-stream-closed' if STREAM is closed; the
promise of a write still waiting when it is closed is rejected with
that error."
  (aio--check-stream stream)
  (or (aio--stream-offer stream value '(aio-stream-closed))
      aio--stream-written))

(defun aio-stream-push (stream value)
  "Put VALUE into STREAM now, even if it is full.
Return non-nil if STREAM still has room after it, nil if it is full:
the producer should then produce nothing more until STREAM's ON-ROOM
hook is called (see `aio-stream').  For producers that cannot wait,
such as process filters.  Signal `aio-stream-closed' if STREAM is
closed."
  (aio--check-stream stream)
  (when (aio--stream-done stream)
    (signal 'aio-stream-closed nil))
  (aio--stream-put stream value)
  (if (aio--stream-full-p stream)
      (progn (setf (aio--stream-blocked stream) t) nil)
    t))

;;;; Ending

(defun aio--stream-finish (stream done)
  "End STREAM from its producer's side: DONE is t, or the error it failed with.
Waiting writers fail with `aio-stream-closed'; readers waiting on an
empty buffer see the end.  Nothing happens if STREAM has ended."
  (unless (aio--stream-done stream)
    (setf (aio--stream-done stream) done)
    (let ((closed (aio--error-fn (list 'aio-stream-closed))))
      (dolist (entry (aio--waiters-take-all (aio--stream-writers stream)))
        (aio-resolve (car entry) closed)))
    (unless (aio--stream-items stream)
      (dolist (entry (aio--waiters-take-all (aio--stream-readers stream)))
        (aio-resolve (car entry) (aio--stream-end-function stream (cdr entry)))))))

(defun aio--check-condition (object)
  "Signal `wrong-type-argument' unless OBJECT is like an error condition."
  (unless (and (consp object) (symbolp (car object)) (car object)
               (get (car object) 'error-conditions))
    (signal 'wrong-type-argument (list 'aio-condition-p object))))

(defun aio-stream-close (stream &optional error)
  "Close STREAM: no more values go in, and its producer is stopped.
Values already buffered are still read; then readers see the end,
or ERROR if given: an error condition such as (error \"Failed\"), which
each read then signals.  Waiting and later writes fail with
`aio-stream-closed'.  A generator feeding STREAM is canceled at its
pause, so its `unwind-protect' cleanups run; a combinator closes the
streams it reads; a producer's ON-CLOSE hook is called.  Closing a
closed stream does nothing."
  (aio--check-stream stream)
  (when error (aio--check-condition error))
  (unless (aio--stream-closed stream)
    (setf (aio--stream-closed stream) t)
    (aio--stream-finish stream (or error t))
    (let ((hook (aio--stream-on-close stream)))
      (when hook (funcall hook stream))))
  nil)

;;;; Looping

(eval-and-compile
  ;; `aio-dostream' calls it while it expands, in this file too.
  (defun aio--awaits-p (body)
    "Return non-nil if BODY, forms of an async body, may pause.
BODY is expanded in the environment of the async body around it."
    (let ((found nil)
          (forms (list (macroexpand-all (macroexp-progn body)
                                        macroexpand-all-environment))))
      (while (and forms (not found))
        (let ((form (pop forms)))
          (cond ((eq form 'aio--await-marker) (setq found t))
                ((consp form)
                 (push (car form) forms)
                 (push (cdr form) forms)))))
      found)))

(defmacro aio-dostream (spec &rest body)
  "Run BODY with VAR bound to each value of STREAM in turn, in an async function.
SPEC is (VAR STREAM [RESULT]).  The loop ends at the end of STREAM
and returns RESULT's value (with VAR nil), or nil; a failed STREAM's
error is signaled.  When the loop exits on an error, a quit or a
cancellation of the async function, STREAM is closed with
`aio-stream-close', which stops its producer if it still runs.  Only
valid in the body of `aio-defun', `aio-lambda', `aio-with-async' or an
async generator: it awaits each value that is not there yet.

\(fn (VAR STREAM [RESULT]) BODY...)"
  (declare (indent 1) (debug ((symbolp form &optional form) body)))
  (unless (and (consp spec) (symbolp (car spec)) (consp (cdr spec))
               (null (nthcdr 3 spec)))
    (signal 'wrong-type-argument (list '\(VAR\ STREAM\ \[RESULT\]\) spec)))
  (unless (aio--in-async-body-p)
    (error "`aio-dostream' used outside an async function: use it in the \
body of `aio-lambda', `aio-defun', `aio-with-async' or a stream generator, \
or collect the values with `aio-stream-collect'"))
  (let ((stream (make-symbol "stream"))
        (next (make-symbol "next"))
        (err (make-symbol "err"))
        (var (car spec)))
    ;; Not `unwind-protect': around an await, its cleanup would be a
    ;; new closure for each block of the loop, so for each value.
    `(let ((,stream (aio--check-stream ,(nth 1 spec)))
           (,next nil))
       (condition-case ,err
           (progn
             (while (not (eq (setq ,next (aio-await (aio--stream-pull ,stream)))
                             'aio--stream-eos))
               ,(if (aio--awaits-p body)
                    `(let ((,var ,next)) ,@body)
                  ;; BODY does not pause: run it on the values that are
                  ;; there now in a loop of its own, which costs less
                  ;; than a turn of the async function for each one.
                  `(while (progn (let ((,var ,next)) ,@body)
                                 (not (memq (setq ,next (aio--stream-pull-now ,stream))
                                            '(aio--stream-none aio--stream-eos)))))))
             ,@(when (nth 2 spec)
                 `((let ((,var nil))
                     (ignore ,var)
                     ,(nth 2 spec)))))
         ((error aio-cancel quit)
          (aio-stream-close ,stream)
          (signal (car ,err) (cdr ,err)))))))

;;;; Generators

(defvar aio--yield-stream nil
  "While a generator body is expanded, the variable holding its stream.")

(defun aio--stream-yield (stream value)
  "Put VALUE into STREAM for a generator; nil, or a promise to await.
If STREAM was closed, signal `aio-cancel': the generator is being
canceled."
  (aio--stream-offer stream value '(aio-cancel . aio-stream-closed)))

(defmacro aio-yield (value)
  "Hand VALUE to the readers of the stream of this async generator.
Pause while the stream is full.  Only valid in the body of
`aio-defstream' or `aio-stream-lambda', where `aio-await' may be used
too."
  (declare (debug (form)))
  (unless aio--yield-stream
    (error "`aio-yield' used outside an async generator: use it in the \
body of `aio-defstream' or `aio-stream-lambda'"))
  `(aio-await (aio--stream-yield ,aio--yield-stream ,value)))

(defun aio--stream-generator (starter arguments name)
  "Return the stream of a generator; STARTER is called when it is first read.
STARTER is applied to the stream and ARGUMENTS, the values of the
generator's arguments, and returns the promise of its body, which
it binds them around; NAME names the generator."
  (aio--make-stream :max (aio--check-size aio-stream-default-size)
                    :make #'aio--stream-generator-start
                    :on-close #'aio--stream-generator-close
                    :state (cons starter arguments) :name name))

(defun aio--stream-generator-start (stream)
  "Start the generator feeding STREAM, which a reader found empty.
Return what it has yielded at once, as `aio--stream-take-now' does."
  (let ((starter (aio--stream-state stream)))
    (setf (aio--stream-make stream) nil
          (aio--stream-state stream) nil)
    (let ((promise (apply (car starter) stream (cdr starter))))
      (setf (aio--stream-pending stream) promise)
      (aio--listen promise (apply-partially #'aio--stream-generator-done stream))))
  (aio--stream-take-now stream))

(defun aio--stream-generator-done (stream value-function)
  "End STREAM as its generator ended, with VALUE-FUNCTION."
  (setf (aio--stream-pending stream) nil)
  (aio--stream-finish stream (condition-case err
                                 (progn (funcall value-function) t)
                               ((error aio-cancel) err))))

(defun aio--stream-generator-close (stream)
  "Stop the generator of STREAM, which was closed."
  (setf (aio--stream-make stream) nil
        (aio--stream-state stream) nil)
  (let ((promise (aio--stream-pending stream)))
    (when promise
      (aio-cancel promise 'aio-stream-closed))))

(defun aio--stream-generator-code (body arglist name &optional bind-step)
  "Return (BINDINGS FORM) for a generator of ARGLIST and BODY, named NAME.
FORM, where ARGLIST's variables are bound, returns the stream.  With
BIND-STEP, BINDINGS may bind a variable FORM uses, around the
function: see `aio--async-body'."
  (let* ((stream (make-symbol "stream"))
         (code (let ((aio--yield-stream stream))
                 (aio--async-body body (cons stream arglist) name
                                  (and bind-step (make-symbol "step")))))
         (variables (aio--co-arg-names arglist)))
    ;; The body starts later: its arguments are bound again then, so
    ;; that a dynamic one holds up to its first pause, as it does in
    ;; `aio-lambda'.
    (list (car code)
          `(aio--stream-generator (lambda (,stream ,@variables) ,(cadr code))
                                  (list ,@variables)
                                  ,(macroexp-quote name)))))

(defmacro aio-stream-lambda (arglist &rest body)
  "Return an async generator of ARGLIST with BODY.
Calling it returns an `aio-stream' of the values BODY hands out with
`aio-yield'; BODY may also use `aio-await'.  BODY starts when the
stream is first read and runs ahead of its readers by at most the
stream's bound, `aio-stream-default-size' when the generator is
called.  When BODY returns, the stream ends; when it fails, readers
get its error after the values it yielded.  Closing the stream
cancels BODY at its pause, so that its `unwind-protect' cleanups run;
a BODY whose stream is neither read to its end nor closed stays
paused for good.

\(fn ARGLIST [DOCSTRING] BODY...)"
  (declare (indent defun) (doc-string 2)
           (debug (&define lambda-list lambda-doc &rest sexp)))
  (aio--check-lexical 'aio-stream-lambda)
  (let* ((parsed (macroexp-parse-body body))
         (code (aio--stream-generator-code
                (cdr parsed) arglist
                (aio--site-name 'aio-stream-lambda arglist (cdr parsed))
                t))
         (fn `(lambda ,arglist ,@(car parsed) ,(cadr code))))
    (if (car code) `(let ,(car code) ,fn) fn)))

(defconst aio--stream-note
  "This function is an async generator: it returns an `aio-stream'."
  "The line added to the documentation of each `aio-defstream' function.")

(defmacro aio-defstream (name arglist &rest body)
  "Define NAME as an async generator of ARGLIST with BODY.
Like `defun', BODY may start with a docstring and `declare' forms.
Calling NAME returns an `aio-stream' of the values BODY yields with
`aio-yield'; see `aio-stream-lambda'.

\(fn NAME ARGLIST [DOCSTRING] [DECLARE] BODY...)"
  (declare (indent defun) (doc-string 3)
           (debug (&define name lambda-list lambda-doc
                           [&optional ("declare" def-declarations)]
                           &rest sexp)))
  (aio--check-lexical 'aio-defstream)
  (let* ((parsed (macroexp-parse-body body))
         (decls (car parsed))
         (doc (and (stringp (car decls)) (pop decls))))
    `(prog1 (defun ,name ,arglist
              ,@(and doc (list doc))
              ,@decls
              ,(cadr (aio--stream-generator-code (cdr parsed) arglist name)))
       (function-put ',name 'aio--async aio--stream-note))))

;;;; Combinators that pull

;; A combinator makes its values when read: a read that finds it empty
;; calls its STEP, which takes from its source what is there at once
;; (and so on up the chain) and returns one value.  Only when the source
;; has nothing, or an async function is at work, does a reader wait:
;; the combinator then waits on its source, and serves its waiting
;; readers as values come.  So a pipeline costs no task and no buffer
;; per stage.

(defun aio--stream-transform (source step state &optional settle)
  "Return a stream of SOURCE's values transformed by STEP, made when read.
STEP is called with the new stream and returns its next value, or
`aio--stream-none' or `aio--stream-eos' as `aio--stream-take-now'
does; it takes from SOURCE with `aio--stream-take' and ends with
`aio--stream-transform-end'.  Its body is wrapped in
`aio--stream-stepping'.  A STEP that must wait for a promise
calls `aio--stream-transform-wait' and returns `aio--stream-none';
SETTLE is then called with the stream, the value of SOURCE it was
working on, and the promise's value, and puts what it makes into the
stream.  STATE is for STEP's use."
  (aio--make-stream :max (aio--check-size aio-stream-default-size)
                    :source source :step step :settle settle :state state
                    :make step
                    :demand #'aio--stream-transform-demand
                    :on-close #'aio--stream-transform-close))

(defun aio--stream-readers-live-p (stream)
  "Return non-nil if a reader waits on STREAM."
  (let ((readers (aio--sref stream readers)))
    (and (aio--waiting-p readers) (aio--waiters-live-p readers))))

(defun aio--stream-transform-fail (stream condition)
  "Fail STREAM, a combinator, with CONDITION, and close its source."
  (aio--stream-finish stream condition)
  (aio-stream-close (aio--sref stream source)))

(defun aio--stream-transform-end (stream)
  "End STREAM, a combinator whose source has ended; return `aio--stream-eos'."
  (aio--stream-finish stream (aio--sref (aio--sref stream source) done))
  'aio--stream-eos)

(defmacro aio--stream-stepping (stream &rest body)
  "Run BODY, the step of STREAM, a combinator, unless STREAM is busy.
If BODY signals, fail STREAM with the error and return
`aio--stream-eos'."
  (declare (indent 1) (debug (symbolp body)))
  (let ((err (make-symbol "err")))
    `(if (aio--sref ,stream busy)
         'aio--stream-none
       (condition-case ,err
           (progn ,@body)
         ((error aio-cancel)
          (aio--stream-transform-fail ,stream ,err)
          'aio--stream-eos)))))

(defun aio--stream-transform-serve (stream)
  "Hand the values STREAM, a combinator, has at once to its waiting readers.
When it makes none, wait on its source."
  (let ((more t))
    (while (and more (not (aio--sref stream busy))
                (aio--stream-readers-live-p stream))
      (let ((value (aio--stream-take stream)))
        (cond ((eq value 'aio--stream-none)
               (setq more nil)
               (aio--stream-transform-demand stream))
              ((eq value 'aio--stream-eos) (setq more nil))
              (t (aio--stream-give stream value)))))))

(defun aio--stream-transform-demand (stream)
  "Wait on the source of STREAM, a combinator, for a reader of STREAM."
  (unless (or (aio--sref stream busy) (aio--sref stream done))
    (setf (aio--sref stream busy) t)
    (aio--listen (aio--stream-wait (aio--sref stream source) t)
                 (apply-partially #'aio--stream-transform-received stream))))

(defun aio--stream-transform-received (stream value-function)
  "Go on with STREAM, a combinator, whose source gave VALUE-FUNCTION."
  (setf (aio--sref stream busy) nil)
  (let ((value (condition-case nil
                   (funcall value-function)
                 ;; The source failed: STEP finds it ended.
                 ((error aio-cancel) 'aio--stream-eos))))
    ;; STEP takes it again, from the head of the source.
    (unless (eq value 'aio--stream-eos)
      (aio--stream-return (aio--sref stream source) value))
    (unless (aio--sref stream done)
      (aio--stream-transform-serve stream))))

(defun aio--stream-transform-wait (stream promise value)
  "Make STREAM, a combinator, wait for PROMISE made by its step for VALUE."
  (let ((callback (apply-partially #'aio--stream-transform-settled stream value)))
    (setf (aio--sref stream busy) t
          (aio--sref stream pending) (cons promise callback))
    (aio--listen promise callback)))

(defun aio--stream-transform-settled (stream value value-function)
  "Go on with STREAM, a combinator, once its step for VALUE has VALUE-FUNCTION."
  (setf (aio--sref stream busy) nil
        (aio--sref stream pending) nil)
  (unless (aio--sref stream done)
    (condition-case err
        (progn
          (funcall (aio--sref stream settle) stream value (funcall value-function))
          (aio--stream-transform-serve stream))
      ((error aio-cancel) (aio--stream-transform-fail stream err)))))

(defun aio--stream-transform-close (stream)
  "Stop STREAM, a combinator that was closed: close its source.
What its step awaited is canceled unless something else waits for it."
  (let ((pending (aio--sref stream pending)))
    (setf (aio--sref stream pending) nil)
    (when pending
      (aio--release (car pending) (cdr pending))))
  (aio-stream-close (aio--sref stream source)))

(defun aio--stream-map-step (stream)
  "Return the result of STREAM's function on the next value of its source."
  (aio--stream-stepping stream
    (let ((value (aio--stream-take (aio--sref stream source))))
      (cond ((eq value 'aio--stream-none) value)
            ((eq value 'aio--stream-eos) (aio--stream-transform-end stream))
            (t (let ((result (funcall (aio--sref stream state) value)))
                 (cond ((not (aio-promise-p result)) result)
                       ;; An async function that did not have to wait.
                       ((aio-promise-result result) (funcall (aio-promise-result result)))
                       (t (aio--stream-transform-wait stream result value)
                          'aio--stream-none))))))))

(defun aio--stream-map-settle (stream _value result)
  "Put RESULT, the awaited result of STREAM's function, into STREAM."
  (aio--stream-put stream result))

(defun aio-stream-map (function stream)
  "Return a stream of the results of FUNCTION on each value of STREAM.
FUNCTION may be an async function: when it returns a promise, the
promise's value is the result (so results cannot be promises).  Values
are mapped in order, one at a time, as the new stream is read; if
FUNCTION fails, the new stream fails with its error and STREAM is
closed.  Closing the new stream closes STREAM."
  (aio--check-function function)
  (aio--check-stream stream)
  (aio--stream-transform stream #'aio--stream-map-step function
                         #'aio--stream-map-settle))

(defun aio--stream-filter-step (stream)
  "Return the next value of the source of STREAM that passes its predicate."
  (aio--stream-stepping stream
    (let ((source (aio--sref stream source))
          (predicate (aio--sref stream state))
          (value nil) (keep nil))
      (while (and (not (memq (setq value (aio--stream-take source))
                             '(aio--stream-none aio--stream-eos)))
                  (progn
                    (setq keep (funcall predicate value))
                    ;; An async predicate that did not have to wait.
                    (when (and (aio-promise-p keep) (aio-promise-result keep))
                      (setq keep (funcall (aio-promise-result keep))))
                    (not keep))))
      (cond ((eq value 'aio--stream-none) value)
            ((eq value 'aio--stream-eos) (aio--stream-transform-end stream))
            ((aio-promise-p keep)
             (aio--stream-transform-wait stream keep value)
             'aio--stream-none)
            (t value)))))

(defun aio--stream-filter-settle (stream value result)
  "Put VALUE into STREAM if RESULT, the awaited predicate, is non-nil."
  (when result
    (aio--stream-put stream value)))

(defun aio-stream-filter (predicate stream)
  "Return a stream of the values of STREAM for which PREDICATE is non-nil.
PREDICATE may be an async function: when it returns a promise, the
promise's value decides.  If PREDICATE fails, the new stream fails
with its error and STREAM is closed.  Closing the new stream closes
STREAM."
  (aio--check-function predicate)
  (aio--check-stream stream)
  (aio--stream-transform stream #'aio--stream-filter-step predicate
                         #'aio--stream-filter-settle))

(defun aio--stream-take-step (stream)
  "Return the next value of the source of STREAM, while it has more to take.
The source is closed as soon as the last one is taken."
  (aio--stream-stepping stream
    (if (<= (aio--sref stream state) 0)
        (progn (aio--stream-finish stream t) 'aio--stream-eos)
      (let* ((source (aio--sref stream source))
             (value (aio--stream-take source)))
        (cond ((eq value 'aio--stream-none) value)
              ((eq value 'aio--stream-eos) (aio--stream-transform-end stream))
              (t (when (<= (setf (aio--sref stream state) (1- (aio--sref stream state))) 0)
                   (aio-stream-close source))
                 value))))))

(defun aio-stream-take (stream n)
  "Return a stream of the first N values of STREAM.
Once it has them, STREAM is closed, which stops its producer.  N 0
closes STREAM at once."
  (aio--check-stream stream)
  (aio--check-size n)
  (let ((taken (aio--stream-transform stream #'aio--stream-take-step n)))
    (when (zerop n)
      (aio--stream-finish taken t)
      (aio-stream-close stream))
    taken))

(defun aio-stream-from-list (list)
  "Return a stream of the elements of LIST, in order, then its end."
  (unless (proper-list-p list)
    (signal 'wrong-type-argument (list 'listp list)))
  (let* ((items (copy-sequence list))
         (stream (aio--make-stream :max (max 1 (length items))
                                   :items items :last (last items)
                                   :count (length items))))
    (aio--stream-finish stream t)
    stream))

;;;; Lines

;; The state of `aio-stream-lines' is a vector: the text whose lines
;; are being handed out (decoded), the position of the next one in it,
;; the pieces of a line begun in earlier chunks (newest first), the
;; coding system of byte chunks or nil, and the bytes after the last
;; newline of the latest chunk, which begin the line after that text.

(defun aio--stream-line (text coding)
  "Return TEXT, a line, without a final carriage return, decoded with CODING.
CODING nil, or a multibyte TEXT, means no decoding."
  (let ((end (length text)))
    (when (and (> end 0) (eq (aref text (1- end)) ?\r))
      (setq text (substring text 0 (1- end))))
    (if (and coding (not (multibyte-string-p text)))
        (decode-coding-string text coding t)
      text)))

(defun aio--stream-last-newline (bytes)
  "Return the position of the last newline in BYTES, a unibyte string."
  (let ((pos (length bytes)) (found nil))
    (while (and (not found) (> pos 0))
      (setq pos (1- pos))
      (when (eq (aref bytes pos) ?\n)
        (setq found pos)))
    found))

(defun aio--stream-lines-feed (state chunk)
  "Make CHUNK, a new chunk of text or bytes, the text of lines STATE."
  (unless (stringp chunk)
    (signal 'wrong-type-argument (list 'stringp chunk)))
  (let ((coding (aref state 3)))
    (cond
     ((equal chunk ""))
     ((or (null coding) (multibyte-string-p chunk))
      (aset state 0 chunk)
      (aset state 1 0))
     (t
      ;; Bytes: decode all the whole lines at once, with the start of
      ;; the first one; a newline is never part of a multibyte sequence.
      (let ((last (aio--stream-last-newline chunk)))
        (if (null last)
            (aset state 2 (cons chunk (aref state 2)))
          (aset state 0 (decode-coding-string
                         (apply #'concat (nreverse (cons (substring chunk 0 (1+ last))
                                                         (aref state 2))))
                         coding t))
          (aset state 1 0)
          (aset state 2 nil)
          (aset state 4 (and (< (1+ last) (length chunk))
                             (substring chunk (1+ last))))))))))

(defun aio--stream-lines-step (stream)
  "Return the next line of STREAM, from its text or the next chunks."
  (let* ((state (aio--sref stream state))
         (text (aref state 0))
         (pos (aref state 1))
         (newline (and text (not (aref state 2)) (not (aio--sref stream busy))
                       (string-search "\n" text pos))))
    (if newline
        ;; The path of most lines: a whole one in the text at hand.
        (progn
          (aset state 1 (1+ newline))
          (substring text pos (if (and (> newline pos)
                                       (eq (aref text (1- newline)) ?\r))
                                  (1- newline)
                                newline)))
      (aio--stream-lines-more stream))))

(defun aio--stream-lines-more (stream)
  "Return the next line of STREAM, when it spans chunks or needs a new one."
  (aio--stream-stepping stream
    (let ((state (aio--sref stream state))
          (line nil))
      (while (not line)
        (let* ((text (aref state 0))
               (pos (aref state 1))
               (newline (and text (string-search "\n" text pos))))
          (if newline
              (progn
                (aset state 1 (1+ newline))
                (setq line
                      (if (aref state 2)
                          (prog1 (aio--stream-line
                                  (apply #'concat (nreverse (cons (substring text pos newline)
                                                                  (aref state 2))))
                                  (aref state 3))
                            (aset state 2 nil))
                        (substring text pos (if (and (> newline pos)
                                                     (eq (aref text (1- newline)) ?\r))
                                                (1- newline)
                                              newline)))))
            ;; No whole line left: keep the start of the next one.
            (when (and text (< pos (length text)))
              (aset state 2 (cons (substring text pos) (aref state 2))))
            (when (aref state 4)
              (aset state 2 (cons (aref state 4) (aref state 2)))
              (aset state 4 nil))
            (aset state 0 nil)
            (let* ((source (aio--sref stream source))
                   (chunk (aio--stream-take source)))
              (cond ((eq chunk 'aio--stream-none) (setq line chunk))
                    ((not (eq chunk 'aio--stream-eos)) (aio--stream-lines-feed state chunk))
                    ((and (aref state 2) (eq (aio--sref source done) t))
                     ;; The last line, without a newline.
                     (setq line (let ((text (apply #'concat (nreverse (aref state 2)))))
                                  (if (and (aref state 3) (not (multibyte-string-p text)))
                                      (decode-coding-string text (aref state 3) t)
                                    text)))
                     (aset state 2 nil))
                    (t (setq line (aio--stream-transform-end stream))))))))
      line)))

(defun aio-stream-lines (stream &optional coding)
  "Return a stream of the lines of the text chunks of STREAM.
Lines end with a newline, or a carriage return and a newline, which
are not part of them; a line may span chunks, and a last line without
a newline counts.  Chunks are strings: multibyte text is split as it
is; unibyte chunks are bytes, decoded line by line with CODING
\(default `utf-8'), so a character may be split across chunks.  With
CODING `no-conversion' or `binary', lines of bytes stay unibyte."
  (aio--check-stream stream)
  (let ((decoding (or coding 'utf-8)))
    (check-coding-system decoding)
    (aio--stream-transform stream #'aio--stream-lines-step
                           (vector nil 0 nil
                                   (unless (memq (coding-system-base decoding)
                                                 '(no-conversion binary raw-text))
                                     ;; Line ends are ours to handle.
                                     (coding-system-change-eol-conversion
                                      decoding 'unix))
                                   nil))))

;;;; Collecting and merging

(aio-defun aio--stream-collect (stream)
  "Return the list of the values of STREAM."
  (aio--detach-from-buffer)
  (let ((collected nil))
    (aio-dostream (value stream)
      (push value collected))
    (nreverse collected)))

(defun aio-stream-collect (stream)
  "Return a promise of the list of all the values of STREAM, in order.
It is rejected with STREAM's error if STREAM fails.  Canceling it
closes STREAM."
  (aio--check-stream stream)
  (aio--stream-collect stream))

(aio-defun aio--stream-pump (out in)
  "Write the values of stream IN into stream OUT, for `aio-stream-merge'."
  (aio--detach-from-buffer)
  (aio-dostream (value in)
    (aio-await (aio--stream-yield out value))))

(defun aio--stream-merge-start (stream)
  "Start pumping the sources of STREAM, a merge, into it.
Return what they gave at once, as `aio--stream-take-now' does."
  (let ((sources (aio--stream-source stream))
        (pumps nil))
    (setf (aio--stream-make stream) nil
          (aio--stream-state stream) (length sources))
    (dolist (source sources)
      (let ((pump (aio--stream-pump stream source)))
        (push pump pumps)
        (aio--listen pump (apply-partially #'aio--stream-merge-pumped stream))))
    (setf (aio--stream-pending stream) pumps))
  (aio--stream-take-now stream))

(defun aio--stream-merge-pumped (stream value-function)
  "Note that one source of STREAM, a merge, was pumped, with VALUE-FUNCTION."
  (condition-case err
      (progn
        (funcall value-function)
        (when (zerop (setf (aio--stream-state stream)
                           (1- (aio--stream-state stream))))
          (aio--stream-finish stream t)))
    ((error aio-cancel)
     (unless (aio--stream-done stream)
       (aio--stream-finish stream err)
       (aio--stream-merge-close stream)))))

(defun aio--stream-merge-close (stream)
  "Stop STREAM, a merge: cancel its pumps and close its sources."
  (setf (aio--stream-make stream) nil)
  (dolist (pump (aio--stream-pending stream))
    (aio-cancel pump 'aio-stream-closed))
  (mapc #'aio-stream-close (aio--stream-source stream)))

(defun aio-stream-merge (&rest streams)
  "Return a stream of the values of STREAMS, in the order they arrive.
The values of each of STREAMS keep their order.  The new stream ends
when all of STREAMS have ended; when one fails, it fails with that
error and the others are closed.  Closing it closes STREAMS."
  (mapc #'aio--check-stream streams)
  (let ((merged (aio--make-stream :max (aio--check-size aio-stream-default-size)
                                  :source streams
                                  :make #'aio--stream-merge-start
                                  :on-close #'aio--stream-merge-close)))
    (unless streams
      (aio--stream-finish merged t))
    merged))

;;;; Seen from `aio-list-tasks'

(defun aio--stream-describe-wait (promise)
  "Return a string saying which stream PROMISE waits on, and for what.
Nil if PROMISE is no waiting read or write of a stream."
  (let* ((wait (gethash promise aio--stream-waits))
         (stream (car wait)))
    (when stream
      (let ((name (if (aio--stream-name stream)
                      (format "stream of %s" (aio--stream-name stream))
                    "stream")))
        (pcase (cdr wait)
          ('read (format "next value of %s" name))
          (_ (if (eql (aio--stream-max stream) 0)
                 (format "a reader of its %s" name)
               (format "room in its %s (%d buffered)" name
                       (aio--stream-count stream)))))))))

(dolist (site '(aio-stream-next aio--stream-pull aio-stream-write aio--stream-yield))
  (put site 'aio-tasks-describe-function #'aio--stream-describe-wait))

(provide 'aio-stream)
;;; aio-stream.el ends here
