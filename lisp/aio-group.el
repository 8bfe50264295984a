;;; aio-group.el --- Task groups: structured concurrency for aio  -*- lexical-binding: t -*-

;;; Commentary:

;; `aio-task-group', after asyncio's TaskGroup: a form in an async
;; function whose body starts children with `aio-task-group-spawn', and
;; which ends only once every child has ended.
;;
;; - The first child that fails (a cancellation is no failure) cancels
;;   the other children and the body; the form then signals that first
;;   error, with any further ones kept on its data (see
;;   `aio-task-group-other-errors').
;; - If the body fails, the children are canceled and the body's error
;;   is signaled once they have ended.
;; - If the async function running the form is canceled, every child is
;;   canceled, and the cancellation goes on once they have ended.
;;
;; The body is canceled the way `aio-with-timeout' cancels: with a
;; reason that is the group itself, which the form recognizes.

;;; Code:

(require 'cl-lib)
(require 'aio-promise)
(require 'aio-async)

(cl-defstruct (aio-task-group (:constructor aio--make-task-group (owner))
                              (:conc-name aio--group-)
                              (:copier nil))
  "A task group; see `aio-task-group'.
OWNER is the number of the task running the form.  STATE is `running'
while the body runs, `joining' once it has ended, `ended' once the form
has.  FAILING is non-nil once the group shuts down.  CHILDREN are the
children still running, ERRORS the failures, newest first, CANCEL the
cancellation of the owner received, if any, IDLE the promise the form
awaits until CHILDREN is empty."
  owner (state 'running) (failing nil) (children nil) (errors nil)
  (cancel nil) (idle nil))

(defun aio--check-task-group (object)
  "Signal `wrong-type-argument' unless OBJECT is an `aio-task-group'."
  (unless (aio-task-group-p object)
    (signal 'wrong-type-argument (list 'aio-task-group-p object))))

(defun aio--cancellation-p (condition)
  "Return non-nil if CONDITION is a cancellation."
  (memq 'aio-cancel (get (car condition) 'error-conditions)))

(defun aio--group-open (task)
  "Return a new task group for the form run by TASK."
  (aio--make-task-group (aio--task-id task)))

(defun aio--group-shutdown (group)
  "Shut GROUP down: cancel its children, and its body if still running."
  (setf (aio--group-failing group) t)
  (dolist (child (aio--group-children group))
    (aio-cancel child))
  (when (eq (aio--group-state group) 'running)
    (let ((owner (aio--live-task (aio--group-owner group))))
      (when owner
        (aio--cancel-run owner group)))))

(defun aio--group-child-done (group child value-function)
  "Note that CHILD of GROUP ended with VALUE-FUNCTION."
  (setf (aio--group-children group) (delq child (aio--group-children group)))
  (condition-case err
      (funcall value-function)
    (error
     (unless (aio--cancellation-p err)
       (push err (aio--group-errors group))
       (unless (aio--group-failing group)
         (aio--group-shutdown group))))
    (aio-cancel nil))
  (let ((idle (aio--group-idle group)))
    (when (and idle (null (aio--group-children group)))
      (aio-resolve idle #'ignore))))

(defun aio-task-group-spawn (group function)
  "Start a child in GROUP and return its promise.
FUNCTION is called with no arguments and should return a promise,
such as the call of an async function; a value other than a promise
is the child's value at once, and an error it signals fails the
child.  FUNCTION may also be a promise already started, which GROUP
then adopts.  Signal an error if GROUP has ended or is shutting down."
  (aio--check-task-group group)
  (unless (or (functionp function) (aio-promise-p function))
    (signal 'wrong-type-argument (list 'functionp function)))
  (cond ((eq (aio--group-state group) 'ended)
         (error "This aio-task-group has ended"))
        ((aio--group-failing group)
         (error "This aio-task-group is shutting down")))
  (let ((child (if (aio-promise-p function)
                   function
                 (condition-case err
                     (let ((value (funcall function)))
                       (if (aio-promise-p value)
                           value
                         (let ((promise (aio-promise)))
                           (aio-resolve promise (aio--value-fn value))
                           promise)))
                   ((error aio-cancel)
                    (let ((promise (aio-promise)))
                      (aio-resolve promise (aio--error-fn err))
                      promise))))))
    (push child (aio--group-children group))
    (aio-listen child (apply-partially #'aio--group-child-done group child))
    child))

(defun aio--group-body-failed (group condition)
  "Note that GROUP's body ended with CONDITION."
  (setf (aio--group-state group) 'joining)
  (cond ((eq (cdr condition) group))    ; The group canceled it.
        ((aio--cancellation-p condition)
         (unless (aio--group-cancel group)
           (setf (aio--group-cancel group) condition))
         (aio--group-shutdown group))
        (t
         (push condition (aio--group-errors group))
         (aio--group-shutdown group))))

(defun aio--group-body-done (group)
  "Note that GROUP's body has ended."
  (setf (aio--group-state group) 'joining))

(defun aio--group-busy-p (group)
  "Return non-nil if GROUP still has children running."
  (aio--group-children group))

(defun aio--group-wait (group)
  "Return a promise that resolves once GROUP has no children running."
  (let ((idle (aio--group-idle group)))
    (if (and idle (null (aio-promise-result idle)))
        idle
      (setf (aio--group-idle group) (aio-promise)))))

(defun aio--group-canceled (group condition)
  "Note that the wait for GROUP's children got cancellation CONDITION."
  (unless (eq (cdr condition) group)
    (unless (aio--group-cancel group)
      (setf (aio--group-cancel group) condition))
    (aio--group-shutdown group)))

(defun aio--group-result (group value)
  "Return VALUE, the value of GROUP's body, or signal why GROUP failed."
  (setf (aio--group-state group) 'ended)
  (let ((cancel (aio--group-cancel group))
        (errors (reverse (aio--group-errors group))))
    (cond
     (cancel (signal (car cancel) (cdr cancel)))
     ((cdr errors)
      (let ((first (car errors)))
        (signal (car first)
                (append (if (proper-list-p (cdr first))
                            (cdr first)
                          (list (cdr first)))
                        (list :aio-other-errors (cdr errors))))))
     (errors (signal (car (car errors)) (cdr (car errors))))
     (t value))))

(defun aio--group-close (group)
  "End GROUP's form, however it ends."
  (setf (aio--group-state group) 'ended)
  (aio--withdraw-cancel (aio--group-owner group) group)
  ;; Only after a quit can children be left.
  (dolist (child (aio--group-children group))
    (aio-cancel child)))

(defun aio-task-group-other-errors (condition)
  "Return the errors an `aio-task-group' kept on CONDITION's data.
When several children failed, the form signals the first error with
`:aio-other-errors' and the list of the others appended to its data."
  (let ((data (cdr-safe condition)))
    (and (proper-list-p data)
         (cadr (memq :aio-other-errors data)))))

(defmacro aio-task-group (spec &rest body)
  "Run BODY with a task group, and wait for all the group's children.
SPEC is (GROUP): BODY runs with GROUP bound to the group and starts
children with `aio-task-group-spawn'.  Only valid in an async
function.  The form ends only once every child has ended, and returns
BODY's value.

The first child to fail cancels the other children and BODY, and the
form signals that first error; other failures are kept on its data,
see `aio-task-group-other-errors'.  If BODY fails, the children are
canceled and BODY's error is signaled.  If the async function is
canceled, so is every child, and the cancellation goes on once they
have all ended.

\(fn (GROUP) BODY...)"
  (declare (indent 1) (debug ((symbolp) body)))
  (unless (and (consp spec) (symbolp (car spec)) (null (cdr spec)))
    (signal 'wrong-type-argument (list '\(GROUP\) spec)))
  (unless (aio--in-async-body-p)
    (error "`aio-task-group' used outside an async function: use it in \
the body of `aio-lambda', `aio-defun' or `aio-with-async'"))
  (let ((group (car spec))
        (value (make-symbol "value"))
        (err (make-symbol "err")))
    `(let* ((,group (aio--group-open (aio--task-marker 'aio-task-group)))
            (,value nil))
       (unwind-protect
           (progn
             (condition-case ,err
                 (setq ,value (progn ,@body))
               ((error aio-cancel) (aio--group-body-failed ,group ,err)))
             (aio--group-body-done ,group)
             (while (aio--group-busy-p ,group)
               (condition-case ,err
                   (aio-await (aio--group-wait ,group))
                 (aio-cancel (aio--group-canceled ,group ,err))))
             (aio--group-result ,group ,value))
         (aio--group-close ,group)))))

(provide 'aio-group)
;;; aio-group.el ends here
