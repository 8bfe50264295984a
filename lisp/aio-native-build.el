;;; aio-native-build.el --- Build and load the aio-native module  -*- lexical-binding: t; -*-

;; SPDX-License-Identifier: GPL-3.0-or-later

;;; Commentary:

;; Finds `aio-native-module.so' next to this file and loads it.  When it
;; is not there yet, offers to build it with CMake (as vterm does), or
;; builds it without asking when `aio-native-always-compile-module' is
;; non-nil.  The build output goes to a compilation buffer.

;;; Code:

(require 'cl-lib)

(declare-function compilation-mode "compile" (&optional name-of-mode))

(define-error 'aio-native-error "aio-native error")
(define-error 'aio-native-build-error "Cannot build the aio-native module"
  'aio-native-error)

(defgroup aio-native nil
  "Native event loop for `aio'."
  :group 'processes
  :prefix "aio-native-")

(defcustom aio-native-always-compile-module nil
  "If non-nil, build the native module without asking when it is missing."
  :type 'boolean
  :group 'aio-native)

(defcustom aio-native-cmake-arguments '("-DCMAKE_BUILD_TYPE=Release")
  "Extra arguments for CMake when it configures the module build."
  :type '(repeat string)
  :group 'aio-native)

(defconst aio-native--lisp-directory
  (file-name-directory (or load-file-name buffer-file-name default-directory))
  "The directory holding aio-native's Lisp files and its module.")

(defconst aio-native--module-name "aio-native-module"
  "The module's file name without suffix; also the feature it provides.")

(defconst aio-native--packages-hint
  (concat "Install a C++ compiler, CMake, libuv and libcurl:\n"
          "  Debian/Ubuntu: sudo apt-get install cmake g++ make pkg-config "
          "libuv1-dev libcurl4-openssl-dev\n"
          "  Homebrew:      brew install cmake pkg-config libuv curl")
  "What to install when the module cannot be built.")

(defun aio-native--source-directory ()
  "Return the directory holding CMakeLists.txt, or nil."
  (cl-loop for dir in (list aio-native--lisp-directory
                            (expand-file-name ".." aio-native--lisp-directory))
           when (file-exists-p (expand-file-name "CMakeLists.txt" dir))
           return dir))

(defun aio-native--module-file ()
  "Return the file name the module is built to."
  (expand-file-name (concat aio-native--module-name module-file-suffix)
                    aio-native--lisp-directory))

(defun aio-native--build-commands (source)
  "Return the shell commands that build the module from SOURCE."
  (let ((build (expand-file-name "build-module" source)))
    (list (mapconcat #'shell-quote-argument
                     (append (list "cmake" "-S" source "-B" build
                                   "-DAIO_BUILD_TESTS=OFF"
                                   (concat "-DAIO_MODULE_OUTPUT_DIR="
                                           (directory-file-name aio-native--lisp-directory)))
                             aio-native-cmake-arguments)
                     " ")
          (mapconcat #'shell-quote-argument
                     (list "cmake" "--build" build "--target" aio-native--module-name
                           ;; As many compilers as processors: a serial build
                           ;; takes twice as long on two.
                           "--parallel" (number-to-string (max 1 (num-processors))))
                     " "))))

;;;###autoload
(defun aio-native-compile-module ()
  "Build the aio-native module with CMake.
The output goes to the buffer *aio-native-compile*, which is shown when
Emacs is interactive.  Signal `aio-native-build-error' on failure, with
the packages to install when tools or libraries are missing."
  (interactive)
  (unless (bound-and-true-p module-file-suffix)
    (signal 'aio-native-build-error
            '("This Emacs was built without dynamic module support")))
  (let ((source (aio-native--source-directory)))
    (unless source
      (signal 'aio-native-build-error
              (list "CMakeLists.txt not found near" aio-native--lisp-directory)))
    (unless (executable-find "cmake")
      (signal 'aio-native-build-error
              (list (concat "cmake not found.  " aio-native--packages-hint))))
    (let ((buffer (get-buffer-create "*aio-native-compile*"))
          (default-directory source))
      (with-current-buffer buffer
        (let ((inhibit-read-only t))
          (erase-buffer))
        ;; Loaded here: only a build needs it, and it weighs on every
        ;; garbage collection.
        (require 'compile)
        (compilation-mode))
      (unless noninteractive (display-buffer buffer))
      (dolist (command (aio-native--build-commands source))
        (let ((status (with-current-buffer buffer
                        (let ((inhibit-read-only t))
                          (insert "$ " command "\n")
                          (call-process-shell-command command nil t (not noninteractive))))))
          (unless (eql status 0)
            (when noninteractive
              (message "%s" (with-current-buffer buffer (buffer-string))))
            (signal 'aio-native-build-error
                    (list (format "`%s' failed (see buffer *aio-native-compile*).  %s"
                                  command aio-native--packages-hint))))))
      (aio-native--module-file))))

(defun aio-native-load-module ()
  "Load the native module, building it first if needed and allowed.
Building is allowed when `aio-native-always-compile-module' is non-nil
or the user says yes."
  (unless (featurep 'aio-native-module)
    (let ((file (aio-native--module-file)))
      (unless (file-exists-p file)
        (if (or aio-native-always-compile-module
                (and (not noninteractive)
                     (y-or-n-p "Build the aio-native module now? ")))
            (aio-native-compile-module)
          (signal 'aio-native-build-error
                  (list (concat "Module not built: run M-x aio-native-compile-module "
                                "or `make' in the source tree")
                        file))))
      (module-load file)
      (unless (featurep 'aio-native-module)
        (signal 'aio-native-error (list "Module did not initialise" file))))))

(provide 'aio-native-build)
;;; aio-native-build.el ends here
