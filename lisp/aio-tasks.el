;;; aio-tasks.el --- List the pending async functions and native operations  -*- lexical-binding: t -*-

;; SPDX-License-Identifier: GPL-3.0-or-later

;;; Commentary:

;; `M-x aio-list-tasks' shows, in a `tabulated-list-mode' buffer, every
;; async function that is paused (what it is, what it awaits, since
;; when) and every native operation still pending (a sleep, an HTTP
;; transfer), and cancels the one at point with `c' or `k'.  The buffer
;; refreshes itself while it is visible; `g' refreshes it at once.
;;
;; An `aio-defun' task is named after its function, an `aio-lambda' or
;; `aio-with-async' task after its first form and file.  What a task
;; awaits is told from the awaited promise: another task, a native
;; operation, or else the function whose call made the promise (a
;; semaphore, lock, event or queue wait, or any other).
;;
;; A task's row shows its arguments as they are now in its frame, and
;; an `aio-lambda' or `aio-with-async' body its file and line.  Tasks
;; and native operations have ids of their own, shown with a letter: T
;; for a task, N for a native operation.
;;
;; Native operations are described (with their start time) while
;; somebody looks: while this buffer lives, or `aio-trace-mode' is on.
;; Sleeps need not be: the loop thread knows when each started and for
;; how long, and tells when asked.

;;; Code:

(require 'cl-lib)
(require 'tabulated-list)
(require 'aio-promise)
(require 'aio-native)
(require 'aio-async)

(defgroup aio-tasks nil
  "Looking at what async functions are doing."
  :group 'aio-native
  :prefix "aio-list-tasks-")

(defcustom aio-list-tasks-refresh-interval 1.0
  "Seconds between refreshes of a visible `aio-list-tasks' buffer.
Nil means refresh only on request, with \\<aio-tasks-mode-map>\\[revert-buffer]."
  :type '(choice (number :tag "Seconds") (const :tag "Never" nil))
  :group 'aio-tasks)

(defconst aio-tasks-buffer-name "*aio-tasks*"
  "The name of the buffer of `aio-list-tasks'.")

;;;; Describing tasks and what they await

(defun aio-tasks--name (task)
  "Return the name of TASK, an `aio--task', as a string."
  (let ((name (aio--task-name task)))
    (cond ((null name) (format "task %d" (aio--task-id task)))
          ((symbolp name) (symbol-name name))
          (t name))))

(defun aio-tasks--arguments (task)
  "Return the arguments of TASK as they are now in its frame, or nil.
Nil too when they cannot be told: a body on generator.el keeps them
in closures."
  (let* ((iter (aio--task-iter task))
         (info (aio--task-info task))
         (arglist (and info (aio--info-arglist info)))
         (names (and info (aio--info-locals info)))
         (values nil)
         (rest nil))
    (when (and (vectorp iter) names)
      (dolist (arg arglist)
        (cond ((eq arg '&optional))
              ((eq arg '&rest) (setq rest t))
              (t (let* ((slot (cl-loop for name across names for i from 0
                                         when (eq name arg) return i))
                        (value (and slot (aref iter slot))))
                   (when slot
                     (if (and rest (proper-list-p value))
                         (setq values (append (reverse value) values))
                       (push value values)))))))
      (cons t (nreverse values)))))

(defun aio-tasks--location (task)
  "Return \"FILE:LINE\" where TASK's function is defined, or nil."
  (let* ((info (aio--task-info task))
         (file (and info (aio--info-file info))))
    (when file
      (concat (file-name-nondirectory file)
              (if (aio--info-line info) (format ":%d" (aio--info-line info)) "")))))

(defun aio-tasks--what (task)
  "Return what TASK is, for its row.
The name of an `aio-defun', or other named function; an `aio-lambda'
or `aio-with-async' body shows as its kind and where it is, FILE:LINE,
when that is known, else as its first form and file."
  (let ((location (aio-tasks--location task))
        (info (aio--task-info task)))
    (if (and (stringp (aio--task-name task))
             location info (aio--info-kind info))
        (format "%s %s" (aio--info-kind info) location)
      (aio-tasks--name task))))

(defun aio-tasks--arguments-cell (task)
  "Return the cell of the arguments column for TASK: its arguments, printed.
\"?\" when they cannot be told."
  (let ((arguments (aio-tasks--arguments task)))
    (if arguments
        (let ((print-length 4) (print-level 2) (print-escape-newlines t))
          (mapconcat #'prin1-to-string (cdr arguments) " "))
      "?")))

(defconst aio-tasks--site-labels
  '((aio-sem-wait . "semaphore wait")
    (aio-lock-acquire . "lock")
    (aio-event-wait . "event wait")
    (aio-queue-get . "queue get")
    (aio-queue-put . "queue put")
    (aio-sleep . "sleep")
    (aio-http-request . "HTTP request"))
  "What an await of a call of these functions is shown as.")

(defun aio-tasks--describe-promise (promise &optional site)
  "Return a string saying what PROMISE is.
SITE, when non-nil, is the function whose call made PROMISE, as in
`aio--await-site'.  If SITE has a property `aio-tasks-describe-function',
that function is called with PROMISE and may return the string."
  (let ((task-id (aio-promise-task promise))
        (op (aio-native--promise-operation promise)))
    (cond
     ((eq promise aio--next-turn) "next turn")
     ((eq promise aio--detached) "cancellation")
     (task-id
      (let ((task (gethash task-id aio--tasks)))
        (if task
            (format "task %s" (aio-tasks--name task))
          (format "task %d" task-id))))
     (op (nth 1 (aio-native--operation op)))
     ;; A library may say what the promises of its functions wait for.
     ((and site (functionp (get site 'aio-tasks-describe-function))
           (funcall (get site 'aio-tasks-describe-function) promise)))
     ((assq site aio-tasks--site-labels)
      (cdr (assq site aio-tasks--site-labels)))
     (site (format "promise from %s" site))
     (t "promise"))))

(defun aio-tasks--describe-await (task &optional plain)
  "Return a string saying what TASK awaits.
Unless PLAIN, say so when what it awaits has settled already."
  (let ((awaited (aio--task-awaited task)))
    (cond ((null awaited) "nothing (running)")
          ((and (not plain) (aio-promise-result awaited))
           (concat "resuming after "
                   (aio-tasks--describe-promise awaited (aio-tasks--called task))))
          (t (aio-tasks--describe-promise awaited (aio-tasks--called task))))))

(defun aio-tasks--called (task)
  "Return the function whose call made what TASK awaits, or nil."
  (let ((site (aio--task-site task)))
    (and site (aio--site-function site))))

(defun aio-tasks--format-seconds (seconds)
  "Return SECONDS, a duration or nil if unknown, as a short string.
It is shown in whole seconds, as tasks note the time of a pause."
  (cond ((null seconds) "?")
        ((< seconds 60) (format "%ds" (max (floor seconds) 0)))
        ((< seconds 3600) (format "%dm%02ds" (/ (floor seconds) 60)
                                  (% (floor seconds) 60)))
        (t (format "%dh%02dm" (/ (floor seconds) 3600)
                   (% (/ (floor seconds) 60) 60)))))

;;;; The entries

(defun aio-tasks--age-cell (start now)
  "Return the cell of the time column for something that began at START.
NOW is the current `float-time'; START nil means unknown."
  (let ((seconds (and start (- now start))))
    (propertize (aio-tasks--format-seconds seconds)
                'aio-seconds (or seconds -1.0))))

(defun aio-tasks--id-cell (kind id)
  "Return the cell of the id column for ID, of KIND `task' or `native'."
  (propertize (format "%s%d" (if (eq kind 'task) "T" "N") id)
              'face (if (eq kind 'task)
                        'font-lock-function-name-face
                      'font-lock-constant-face)))

(defun aio-tasks--task-entries (now)
  "Return the entries of the live tasks, at `float-time' NOW."
  (let ((tasks nil))
    (maphash (lambda (_id task) (push task tasks)) aio--tasks)
    (mapcar (lambda (task)
              (list (cons 'task (aio--task-id task))
                    (vector (aio-tasks--id-cell 'task (aio--task-id task))
                            "async"
                            (aio-tasks--what task)
                            (aio-tasks--describe-await task)
                            (if (aio--task-awaited task)
                                (aio-tasks--age-cell (aio--task-paused-at task) now)
                              "")
                            (aio-tasks--arguments-cell task))))
            (sort tasks (lambda (a b) (< (aio--task-id a) (aio--task-id b)))))))

(defun aio-tasks--awaiters ()
  "Return a table mapping each awaited promise to the names of its tasks."
  (let ((table (make-hash-table :test #'eq)))
    (maphash (lambda (_id task)
               (let ((awaited (aio--task-awaited task)))
                 (when awaited
                   (push (aio-tasks--name task) (gethash awaited table)))))
             aio--tasks)
    table))

(defun aio-tasks--native-entries (now)
  "Return the entries of the pending native operations, at `float-time' NOW."
  (let ((awaiters (aio-tasks--awaiters)))
    (mapcar (lambda (op)
              (pcase-let ((`(,id ,description ,start ,promise) op))
                (let ((names (and promise (gethash promise awaiters))))
                  (list (cons 'native id)
                        (vector (aio-tasks--id-cell 'native id)
                                "native"
                                description
                                (if names
                                    (concat "awaited by "
                                            (mapconcat #'identity names ", "))
                                  "")
                                (aio-tasks--age-cell start now)
                                "")))))
            (aio-native--operations))))

(defun aio-tasks--entries ()
  "Return the entries of `aio-tasks-mode': tasks, then native operations."
  (let ((now (float-time)))
    (append (aio-tasks--task-entries now) (aio-tasks--native-entries now))))

(defun aio-tasks--sort-by-id (a b)
  "Return non-nil if entry A comes before entry B by kind and number."
  (let ((ka (car (car a))) (kb (car (car b))))
    (if (eq ka kb)
        (< (cdr (car a)) (cdr (car b)))
      (eq ka 'task))))

(defun aio-tasks--sort-by-age (a b)
  "Return non-nil if entry A has waited less than entry B."
  (< (aio-tasks--seconds a) (aio-tasks--seconds b)))

(defun aio-tasks--seconds (entry)
  "Return how long ENTRY has waited, or -1 if that is unknown."
  (let ((cell (aref (cadr entry) 4)))
    (or (and (> (length cell) 0) (get-text-property 0 'aio-seconds cell))
        -1)))

;;;; Refreshing

(defvar-local aio-tasks--timer nil
  "The timer refreshing this `aio-tasks-mode' buffer, while it runs.")

(defun aio-tasks--visible-p (buffer)
  "Return non-nil if BUFFER is shown in a window of a visible frame."
  (get-buffer-window buffer 'visible))

(defun aio-tasks--stop-timer (&optional buffer)
  "Stop the refresh timer of BUFFER (default: the current buffer)."
  (with-current-buffer (or buffer (current-buffer))
    (when aio-tasks--timer
      (cancel-timer aio-tasks--timer)
      (setq aio-tasks--timer nil))))

(defun aio-tasks--tick (buffer)
  "Refresh BUFFER if it is visible; else stop refreshing it."
  (cond ((not (buffer-live-p buffer)))
        ((aio-tasks--visible-p buffer)
         (with-current-buffer buffer
           (aio-tasks--refresh)))
        (t (aio-tasks--stop-timer buffer))))

(defun aio-tasks--start-timer (&optional buffer)
  "Refresh BUFFER (default: the current buffer) regularly while it is visible."
  (with-current-buffer (or buffer (current-buffer))
    (when (and aio-list-tasks-refresh-interval (not aio-tasks--timer)
               (derived-mode-p 'aio-tasks-mode))
      (setq aio-tasks--timer
            (run-at-time aio-list-tasks-refresh-interval
                         aio-list-tasks-refresh-interval
                         #'aio-tasks--tick (current-buffer))))))

(defun aio-tasks--window-buffer-change (window)
  "Start refreshing the buffer of WINDOW, which has just been shown there."
  (aio-tasks--start-timer (window-buffer window)))

(defconst aio-tasks--empty-text
  "No async function is paused and no native operation is pending.\n"
  "What the list says when it is empty.")

(defun aio-tasks--refresh ()
  "Recompute the entries of this buffer and redisplay them, keeping point."
  (setq tabulated-list-entries (aio-tasks--entries))
  (tabulated-list-print t t)
  (unless tabulated-list-entries
    (let ((inhibit-read-only t))
      (goto-char (point-max))
      (insert (propertize aio-tasks--empty-text 'face 'shadow)))))

(defun aio-tasks--kill ()
  "Stop the timer and the description of native operations of this buffer."
  (aio-tasks--stop-timer)
  (aio-native--track 'aio-tasks nil))

;;;; The mode

(defvar aio-tasks-mode-map
  (let ((map (make-sparse-keymap)))
    (define-key map "c" #'aio-tasks-cancel)
    (define-key map "k" #'aio-tasks-cancel)
    map)
  "Keymap of `aio-tasks-mode'.")

(define-derived-mode aio-tasks-mode tabulated-list-mode "aio Tasks"
  "Major mode listing pending async functions and native operations.
Each line is a paused async function (kind \"async\", id T...) or
a pending native operation (kind \"native\", id N...): what it is
\(for an `aio-lambda' or `aio-with-async' body, where it is), what
it awaits (for an operation, which tasks await it), for how long it
has waited, and an async function's arguments.
The list refreshes every `aio-list-tasks-refresh-interval' seconds
while it is visible.

\\{aio-tasks-mode-map}"
  (setq tabulated-list-format
        [("Id" 7 aio-tasks--sort-by-id :right-align t)
         ("Kind" 7 t)
         ("What" 36 t)
         ("Awaits" 50 t)
         ("For" 8 aio-tasks--sort-by-age :right-align t)
         ("Arguments" 30 nil)]
        tabulated-list-padding 1)
  (setq-local revert-buffer-function
              (lambda (&rest _)
                (aio-tasks--refresh)
                (aio-tasks--start-timer)))
  (add-hook 'window-buffer-change-functions
            #'aio-tasks--window-buffer-change nil t)
  (add-hook 'kill-buffer-hook #'aio-tasks--kill nil t)
  (add-hook 'change-major-mode-hook #'aio-tasks--kill nil t)
  (aio-native--track 'aio-tasks t)
  (tabulated-list-init-header))

;;;###autoload
(defun aio-list-tasks ()
  "List the pending async functions and native operations.
Show, in the buffer `aio-tasks-buffer-name', every paused async
function (`aio-defun', `aio-lambda', `aio-with-async') and every
pending native operation (sleeps, HTTP transfers): what it is, what it
awaits, and since when.

\\<aio-tasks-mode-map>In that buffer, \\[aio-tasks-cancel] cancels the one at point
and \\[revert-buffer] refreshes the list, which also refreshes by
itself while it is visible.

Native operations are described while the buffer lives or
`aio-trace-mode' is on; sleeps show their duration and age whenever
they started."
  (interactive)
  (let ((buffer (get-buffer-create aio-tasks-buffer-name)))
    (with-current-buffer buffer
      (unless (derived-mode-p 'aio-tasks-mode)
        (aio-tasks-mode))
      (aio-tasks--refresh))
    (pop-to-buffer buffer)
    (aio-tasks--start-timer buffer)
    buffer))

(defun aio-tasks-cancel ()
  "Cancel the async function or native operation at point, with `aio-cancel'.
An async function's promise is canceled, which signals `aio-cancel'
at the await where it is paused; a native operation's promise is
canceled, which stops the operation.  The reason given is the symbol
`aio-list-tasks'."
  (interactive nil aio-tasks-mode)
  (let ((id (tabulated-list-get-id)))
    (unless id
      (user-error "No task or operation on this line"))
    (let ((what (pcase (car id)
                  ('task
                   (let ((task (gethash (cdr id) aio--tasks)))
                     (and task
                          (cons (aio--task-promise task)
                                (aio-tasks--name task)))))
                  ('native
                   (let ((op (aio-native--operation (cdr id))))
                     (and op (nth 3 op) (cons (nth 3 op) (nth 1 op))))))))
      (cond
       ((null what)
        (aio-tasks--refresh)
        (user-error "It has already ended"))
       ((aio-cancel (car what) 'aio-list-tasks)
        (message "Canceled %s" (cdr what)))
       (t (message "%s was already settling" (cdr what))))
      (aio-tasks--refresh))))

(provide 'aio-tasks)
;;; aio-tasks.el ends here
