// Close-on-exec for the descriptors libcurl makes behind our back.
//
// libcurl 7.88 makes some sockets without SOCK_CLOEXEC: the socketpair
// of curl_multi_init (for curl_multi_wakeup) and the one of each
// threaded name lookup. A process Emacs starts would inherit them and
// hold them open. Emacs itself opens everything close-on-exec, so any
// socket of this process that is still inheritable is curl's.
#pragma once

namespace aio {

// Sets FD_CLOEXEC on every socket of this process that lacks it; returns
// how many it set. Reads /proc/self/fd (Linux); elsewhere does nothing.
int close_inheritable_sockets() noexcept;

// True if FD has FD_CLOEXEC set (false for a closed descriptor).
bool is_close_on_exec(int fd) noexcept;

}  // namespace aio
