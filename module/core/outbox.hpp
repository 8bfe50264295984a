// Completions waiting for Emacs. Filled by the loop thread, emptied by
// the Emacs main thread; announces itself through a Waker.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

#include "completion.hpp"
#include "waker.hpp"

namespace aio {

// Which queue a completion waits in. Completions are taken in the order
// they were pushed, but a drain's byte budget holds back only normal
// ones: urgent ones (timers, whose lateness would grow behind a burst
// of large bodies taken a few per drain) come past those left behind.
// All the completions of one operation must use one lane, to stay in
// order.
enum class Lane { normal, urgent };

class Outbox {
 public:
  explicit Outbox(Waker& waker) : waker_(waker) {}

  void push(Completion c, Lane lane = Lane::normal);
  // Adds every completion of BATCH under one lock and one wake-up.
  void push_all(std::vector<Completion> batch, Lane lane = Lane::normal);
  // Takes completions, oldest first: up to MAX of them (all when 0) and,
  // when MAX_BYTES is not 0, normal ones only while their payload
  // (bodies, messages) stays within MAX_BYTES, though always at least
  // one; urgent ones after a normal one so held back are taken all the
  // same. When some stay behind, the waker is notified again so they
  // are not lost.
  std::vector<Completion> drain(std::size_t max = 0, std::size_t max_bytes = 0);
  // Puts BATCH, taken by drain() but not delivered, back in front, each
  // in its lane.
  void requeue(std::vector<Completion> batch);

  std::uint64_t delivered() const { return delivered_.load(std::memory_order_relaxed); }
  std::uint64_t drains() const { return drains_.load(std::memory_order_relaxed); }

 private:
  // Stamps C with its order and lane and queues it; mu_ held.
  void add_locked(Completion c, Lane lane);

  Waker& waker_;
  std::mutex mu_;
  // deques: partial drains take from the front
  std::deque<Completion> urgent_;
  std::deque<Completion> items_;
  std::uint64_t next_seq_ = 0;  // under mu_
  std::atomic<std::uint64_t> delivered_{0};
  std::atomic<std::uint64_t> drains_{0};
};

}  // namespace aio
