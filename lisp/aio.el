;;; aio.el --- Async/await on promises, backed by a native event loop  -*- lexical-binding: t -*-

;; SPDX-License-Identifier: GPL-3.0-or-later

;; This file is part of aio-native; its package headers are in
;; aio-native.el.

;;; Commentary:

;; The user entry point of aio-native, a drop-in superset of emacs-aio
;; 1.1: promises, async functions written with `aio-defun' and
;; `aio-await', select, semaphores, streams and subprocesses, and
;; awaitable sleeps, idle waits, timeouts and URL retrieval.  Requiring
;; `aio' loads all of it, including the native module behind
;; `aio-sleep', except url.el: `aio-url-retrieve' loads it when first
;; called.  url.el makes every garbage collection of Emacs a third
;; longer (12 ms to 16 ms here), a price programs that do not use it
;; should not pay.

;;; Code:

(require 'aio-promise)
(require 'aio-native)
(require 'aio-async)
(require 'aio-util)
(require 'aio-select)
(require 'aio-sem)
(require 'aio-time)
(require 'aio-cancel)
(require 'aio-combinators)
(require 'aio-group)
(require 'aio-lock)
(require 'aio-event)
(require 'aio-queue)
(require 'aio-stream)
(require 'aio-process)
(require 'aio-http)
(require 'aio-http-stream)
(require 'aio-sse)
(require 'aio-file)
(require 'aio-file-read)
(require 'aio-file-walk)
(require 'aio-dns)
(require 'aio-http-server)
(require 'aio-tcp)
(require 'aio-tcp-tls)
(autoload 'aio-url-retrieve "aio-url"
  "Return a promise of (STATUS . BUFFER) from retrieving URL.
Like `url-retrieve'; see aio-url.el.

\(fn URL &optional SILENT INHIBIT-COOKIES)")
(require 'aio-editing)
(require 'aio-tasks)
(require 'aio-trace)
(require 'aio-debug)
(require 'aio-test-clock)

;;;###autoload (autoload 'aio-defun "aio" nil nil 'macro)
;;;###autoload (autoload 'aio-lambda "aio" nil nil 'macro)
;;;###autoload (autoload 'aio-with-async "aio" nil nil 'macro)

(provide 'aio)
;;; aio.el ends here
