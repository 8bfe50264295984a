#include "waker.hpp"

#include <cerrno>
#include <unistd.h>

namespace aio {

Waker::~Waker() { set_fd(-1); }

void Waker::set_fd(int fd) {
  std::lock_guard<std::mutex> lock(mu_);
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  // A fresh descriptor has nothing in flight: let the next notify write.
  pending_.store(false, std::memory_order_release);
}

void Waker::set_enabled(bool enabled) {
  enabled_.store(enabled, std::memory_order_relaxed);
  pending_.store(false, std::memory_order_release);
}

void Waker::notify() {
  if (!enabled_.load(std::memory_order_relaxed)) return;
  if (pending_.exchange(true, std::memory_order_acq_rel)) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (fd_ < 0) return;
  // Counted before the write, so that whoever reads the byte sees it.
  wakeups_.fetch_add(1, std::memory_order_relaxed);
  const char byte = '!';
  ssize_t n;
  do {
    n = ::write(fd_, &byte, 1);
  } while (n < 0 && errno == EINTR);
  // EPIPE (the reader is gone) is not fatal: the caller's thread blocks
  // SIGPIPE and the completions stay in the outbox for a later drain.
  if (n != 1) wakeups_.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace aio
