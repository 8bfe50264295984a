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
  (concat "Debian: apt-get install cmake g++ make pkg-config libuv1-dev "
          "libcurl4-openssl-dev libhttp-parser-dev; "
          "Homebrew: brew install cmake pkg-config libuv curl http-parser")
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

;; Each known failure of the build, as a regexp of its output and the
;; missing piece it means.
(defconst aio-native--build-failures
  '(("No CMAKE_CXX_COMPILER could be found\\|CMAKE_CXX_COMPILER not set"
     . "no C++ compiler (Debian: g++; macOS: Xcode's command line tools)")
    ("CMAKE_MAKE_PROGRAM is not set\\|make: not found"
     . "no make program (Debian: make)")
    ("Could NOT find PkgConfig" . "pkg-config is missing (Debian: pkg-config)")
    ("libuv.*not found\\|No package 'libuv' found\\|Package 'libuv'.*not found"
     . "libuv's development files are missing (Debian: libuv1-dev; Homebrew: libuv)")
    ("Could NOT find CURL"
     . "libcurl's development files are missing (Debian: libcurl4-openssl-dev; Homebrew: curl)")
    ("http_parser not found"
     . "http_parser's development files are missing (Debian: libhttp-parser-dev; Homebrew: http-parser)")
    ("emacs-module.h not found"
     . "emacs-module.h is missing (Debian: emacs-common, with any Emacs package)"))
  "Known failures of the module build: (REGEXP . WHAT-IS-MISSING).")

(defun aio-native--build-diagnosis (output)
  "Return one short line saying why the build that printed OUTPUT failed."
  (or (cl-loop for (regexp . what) in aio-native--build-failures
               when (string-match-p regexp output) return what)
      "see the buffer *aio-native-compile*"))

(defvar aio-native--build-process nil
  "The process of the module build running in the background, if any.")

(defun aio-native--signal-building ()
  "Signal that the module is being built in the background."
  (signal 'aio-native-build-error
          '("The aio-native module is being built (see *aio-native-compile*); \
try again once it is done")))

(defun aio-native--build-buffer ()
  "Return the buffer *aio-native-compile*, emptied, in `compilation-mode'."
  (let ((buffer (get-buffer-create "*aio-native-compile*")))
    (with-current-buffer buffer
      (let ((inhibit-read-only t))
        (erase-buffer))
      ;; Loaded here: only a build needs it, and it weighs on every
      ;; garbage collection.
      (require 'compile)
      (compilation-mode))
    buffer))

(defun aio-native--build-source ()
  "Return the source directory to build from, or signal why there is none."
  (unless (bound-and-true-p module-file-suffix)
    (signal 'aio-native-build-error
            '("This Emacs was built without dynamic module support")))
  (let ((source (aio-native--source-directory)))
    (unless source
      (signal 'aio-native-build-error
              (list "CMakeLists.txt not found near" aio-native--lisp-directory)))
    (unless (executable-find "cmake")
      (signal 'aio-native-build-error
              (list (concat "cmake not found (" aio-native--packages-hint ")"))))
    source))

(defun aio-native--build-failed (buffer)
  "Return the data of the `aio-native-build-error' of the build in BUFFER."
  (list (concat "The aio-native module did not build: "
                (aio-native--build-diagnosis
                 (with-current-buffer buffer (buffer-string))))))

(defun aio-native--build-now (source buffer)
  "Build the module from SOURCE, output into BUFFER; return when done."
  (dolist (command (aio-native--build-commands source))
    (let ((status (with-current-buffer buffer
                    (let ((inhibit-read-only t)
                          (default-directory source))
                      (insert "$ " command "\n")
                      (call-process-shell-command command nil t (not noninteractive))))))
      (unless (eql status 0)
        (when noninteractive
          (message "%s" (with-current-buffer buffer (buffer-string))))
        (signal 'aio-native-build-error (aio-native--build-failed buffer))))))

(defun aio-native--build-in-background (source buffer)
  "Start the build of the module from SOURCE, output into BUFFER.
Return its process.  When it ends, the module is loaded if none is
yet, and the outcome is told in the echo area."
  (let ((default-directory source)
        (script (mapconcat #'identity (aio-native--build-commands source) " && ")))
    (with-current-buffer buffer
      (let ((inhibit-read-only t))
        (insert "$ " script "\n")))
    (setq aio-native--build-process
          (make-process
           :name "aio-native-build" :buffer buffer :noquery t
           :connection-type 'pipe
           :command (list "sh" "-c" script)
           :sentinel #'aio-native--build-sentinel))))

(defun aio-native--build-sentinel (process _event)
  "Tell how the background build PROCESS ended, and load the module."
  (unless (process-live-p process)
    (when (eq process aio-native--build-process)
      (setq aio-native--build-process nil))
    (let ((buffer (process-buffer process)))
      (cond
       ((not (eql (process-exit-status process) 0))
        (message "%s" (car (aio-native--build-failed buffer))))
       ((featurep 'aio-native-module)
        (message "The aio-native module is rebuilt: restart Emacs to use it \
\(a loaded module cannot be replaced)"))
       (t
        (condition-case err
            (progn (aio-native--load (aio-native--module-file))
                   (message "The aio-native module is built and loaded"))
          (error (message "The aio-native module was built but not loaded: %s"
                          (error-message-string err)))))))))

;;;###autoload
(defun aio-native-compile-module (&optional background)
  "Build the aio-native module with CMake; return its file, or the build.
The output goes to the buffer *aio-native-compile*.  With BACKGROUND
non-nil (always, when called as a command) the build runs as a
process while Emacs goes on, and its process is returned; when it
ends, the echo area says how it went, and the module is loaded if
none was loaded yet (a loaded one cannot be replaced: restart Emacs).
Otherwise Emacs waits for the build, which signals
`aio-native-build-error' on failure, naming in one line what is
missing."
  (interactive (list t))
  (let ((source (aio-native--build-source)))
    (if (process-live-p aio-native--build-process)
        (if background
            aio-native--build-process
          (aio-native--signal-building))
      (let ((buffer (aio-native--build-buffer)))
        (unless noninteractive (display-buffer buffer))
        (if background
            (aio-native--build-in-background source buffer)
          (aio-native--build-now source buffer)
          (aio-native--module-file))))))

(defun aio-native--load (file)
  "Load the module FILE and check that it set itself up."
  (module-load file)
  (unless (featurep 'aio-native-module)
    (signal 'aio-native-error (list "Module did not initialise" file))))

(defun aio-native-load-module ()
  "Load the native module, building it first if needed and allowed.
Building is allowed when `aio-native-always-compile-module' is non-nil
or the user says yes.  In batch Emacs the build is waited for; in an
interactive one it runs in the background, so that Emacs is not held
for it, and this signals `aio-native-build-error' saying so: the
operation that needed the module may be tried again once it is built."
  (unless (featurep 'aio-native-module)
    (let ((file (aio-native--module-file)))
      (unless (file-exists-p file)
        (cond
         ((process-live-p aio-native--build-process)
          (aio-native--signal-building))
         ((or aio-native-always-compile-module
              (and (not noninteractive)
                   (y-or-n-p "Build the aio-native module now? ")))
          (if noninteractive
              (aio-native-compile-module)
            (aio-native-compile-module t)
            (aio-native--signal-building)))
         (t
          (signal 'aio-native-build-error
                  (list (concat "Module not built: run M-x aio-native-compile-module "
                                "or `make' in the source tree")
                        file)))))
      (aio-native--load file))))

(provide 'aio-native-build)
;;; aio-native-build.el ends here
