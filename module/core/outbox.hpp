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

// Which queue a completion waits in. Urgent ones are taken before all
// others: timers, whose lateness would grow with every completion ahead
// of them (a burst of large bodies is taken a few per drain). All the
// completions of one operation must use one lane, to stay in order.
enum class Lane { normal, urgent };

class Outbox {
 public:
  explicit Outbox(Waker& waker) : waker_(waker) {}

  void push(Completion c, Lane lane = Lane::normal);
  // Adds every completion of BATCH under one lock and one wake-up.
  void push_all(std::vector<Completion> batch, Lane lane = Lane::normal);
  // Takes completions, the urgent ones first, each kind oldest first: up
  // to MAX of them (all when 0) and, when MAX_BYTES is not 0, no more
  // than MAX_BYTES of payload (bodies, messages), though always at least
  // one. When some stay behind, the waker is notified again so they are
  // not lost.
  std::vector<Completion> drain(std::size_t max = 0, std::size_t max_bytes = 0);
  // Puts BATCH, taken by drain() but not delivered, back in front.
  void requeue(std::vector<Completion> batch);

  std::uint64_t delivered() const { return delivered_.load(std::memory_order_relaxed); }
  std::uint64_t drains() const { return drains_.load(std::memory_order_relaxed); }

 private:
  Waker& waker_;
  std::mutex mu_;
  // deques: partial drains take from the front
  std::deque<Completion> urgent_;
  std::deque<Completion> items_;
  std::atomic<std::uint64_t> delivered_{0};
  std::atomic<std::uint64_t> drains_{0};
};

}  // namespace aio
