;;; aio-native-build-test.el --- Tests of building the module from Emacs  -*- lexical-binding: t -*-

;;; Commentary:

;; `aio-native-compile-module' in the background and waited for, with
;; the build's commands replaced by short shell commands: the real
;; build takes a minute.  The module is loaded in these tests, as it is
;; when a user rebuilds it.

;;; Code:

(require 'ert)
(require 'cl-lib)
(require 'aio)
(require 'aio-native-build)
(require 'aio-test-helpers)

(defmacro aio-native-build-test--with-commands (commands &rest body)
  "Run BODY with the module build made of shell COMMANDS.
Messages are collected in the list `messages', bound around BODY."
  (declare (indent 1) (debug (form body)))
  `(let ((messages nil))
     (cl-letf (((symbol-function 'aio-native--build-commands) (lambda (_source) ,commands))
               ((symbol-function 'aio-native--source-directory)
                (lambda () temporary-file-directory))
               ((symbol-function 'message)
                (lambda (format &rest args)
                  (push (and format (apply #'format-message format args)) messages))))
       (unwind-protect (progn ,@body)
         (when-let ((buffer (get-buffer "*aio-native-compile*")))
           (kill-buffer buffer))))))

(defun aio-native-build-test--wait (process)
  "Wait for the background build PROCESS and its sentinel."
  (should (aio-test-eventually (lambda () (null aio-native--build-process)) 30))
  (should-not (process-live-p process)))

(aio-deftest aio-native-build-diagnosis-names-the-missing-piece ()
  (should (equal (aio-native--build-diagnosis
                  "-- Checking for module 'libuv'\n--   No package 'libuv' found\nCMake Error")
                 "libuv's development files are missing (Debian: libuv1-dev; Homebrew: libuv)"))
  (should (string-prefix-p "libcurl's development files"
                           (aio-native--build-diagnosis
                            "CMake Error: Could NOT find CURL (missing: CURL_LIBRARY)")))
  (should (string-prefix-p "no C++ compiler"
                           (aio-native--build-diagnosis
                            "CMake Error: No CMAKE_CXX_COMPILER could be found.")))
  (should (string-prefix-p "emacs-module.h is missing"
                           (aio-native--build-diagnosis "CMake Error at CMakeLists.txt:33 (message):\n  emacs-module.h not found. Install")))
  (should (string-prefix-p "http_parser's development files"
                           (aio-native--build-diagnosis "CMake Error at CMakeLists.txt:25 (message):\n  http_parser not found (Debian: apt-get install libhttp-parser-dev")))
  (should (equal (aio-native--build-diagnosis "something else went wrong")
                 "see the buffer *aio-native-compile*")))

(aio-deftest aio-native-build-in-background-returns-at-once ()
  (aio-native-load-module)
  ;; The build waits for a file the test makes once it has looked.
  (let ((go (make-temp-name (expand-file-name "aio-build-go-" temporary-file-directory))))
    (unwind-protect
        (aio-native-build-test--with-commands
            (list "echo configuring"
                  (format "while [ ! -e %s ]; do sleep 0.02; done" (shell-quote-argument go))
                  "echo built")
          (let ((process (aio-native-compile-module t)))
            (should (processp process))
            ;; Emacs is not held: the build still runs.
            (should (process-live-p process))
            ;; Asked again meanwhile, it is the same build.
            (should (eq (aio-native-compile-module t) process))
            (should-error (aio-native-compile-module) :type 'aio-native-build-error)
            (write-region "" nil go nil 0)
            (aio-native-build-test--wait process)
            (with-current-buffer "*aio-native-compile*"
              (should (derived-mode-p 'compilation-mode))
              (should (string-match-p "^configuring\nbuilt$" (buffer-string))))
            ;; The module was loaded already: the new one needs a restart.
            (should (cl-some (lambda (m) (and m (string-match-p "rebuilt: restart Emacs" m)))
                             messages))))
      (when (file-exists-p go) (delete-file go)))))

(aio-deftest aio-native-build-failure-is-one-line ()
  (aio-native-build-test--with-commands
      '("echo 'CMake Error: Could NOT find CURL (missing: CURL_LIBRARY)'" "false")
    ;; In the background: told in the echo area.
    (aio-native-build-test--wait (aio-native-compile-module t))
    (should (member "The aio-native module did not build: libcurl's development files are \
missing (Debian: libcurl4-openssl-dev; Homebrew: curl)"
                    messages))
    ;; Waited for: signaled.
    (let ((err (should-error (aio-native-compile-module) :type 'aio-native-build-error)))
      (should (string-match-p "\\`The aio-native module did not build: libcurl's"
                              (cadr err)))
      (should-not (string-match-p "\n" (cadr err))))))

(provide 'aio-native-build-test)
;;; aio-native-build-test.el ends here
