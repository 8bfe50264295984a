// Wakes the Emacs main thread by writing one byte to a pipe.
//
// Coalesced: a byte is written only when no wake-up is pending, and the
// flag is cleared by the reader (Outbox::drain) just before it takes the
// completions, so at most one byte is ever in flight and no completion is
// left unannounced.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>

namespace aio {

class Waker {
 public:
  Waker() = default;
  ~Waker();
  Waker(const Waker&) = delete;
  Waker& operator=(const Waker&) = delete;

  // Takes ownership of FD (closed on replacement and destruction); -1
  // means "no descriptor": notify then only sets the flag.
  void set_fd(int fd);
  // When disabled (Emacs polls from a timer instead), nothing is written.
  void set_enabled(bool enabled);

  // Called by producers after adding work for the reader.
  void notify();
  // Called by the reader before it looks for work.
  void clear() { pending_.store(false, std::memory_order_release); }

  std::uint64_t wakeups() const { return wakeups_.load(std::memory_order_relaxed); }

 private:
  std::mutex mu_;  // guards fd_ against set_fd while a write is in progress
  int fd_ = -1;
  std::atomic<bool> enabled_{true};
  std::atomic<bool> pending_{false};
  std::atomic<std::uint64_t> wakeups_{0};
};

}  // namespace aio
