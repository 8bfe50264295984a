// One-shot timers keyed by the caller's id.
//
// The timers live in one binary heap in a contiguous array, ordered by
// deadline and then by start order, and a single clock source is armed
// for the earliest: on Linux a timerfd with nanosecond resolution, else
// a libuv timer rounded up to whole milliseconds. libuv's own timers
// would cost one heap node per timer, scattered in memory, and round
// every deadline to a millisecond.
//
// Cancelled timers are forgotten at once but leave their heap entry
// behind; the heap is compacted when such entries outnumber live ones.
//
// Every method but note_submitted(), note_dropped() and pending() runs on
// the loop thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include <uv.h>

#include "outbox.hpp"

namespace aio {

class Timers {
 public:
  Timers(uv_loop_t* loop, Outbox& out) : loop_(loop), out_(out) {}
  Timers(const Timers&) = delete;
  Timers& operator=(const Timers&) = delete;

  // Starts timer ID, asked for at START_NS and due at DEADLINE_NS, both
  // on uv_hrtime()'s clock. It never fires early. An active timer with
  // the same id is cancelled first.
  void start(std::uint64_t id, std::uint64_t start_ns, std::uint64_t deadline_ns);

  // When active timer ID was asked for and when it is due (uv_hrtime()
  // nanoseconds), or false if it is not active. For display: what Lisp
  // need not keep for each of its sleeps.
  bool times(std::uint64_t id, std::uint64_t* start_ns, std::uint64_t* deadline_ns) const;
  // Stops timer ID and completes it with Status::cancelled. An id that is
  // not active (already fired, never started) is ignored: its completion,
  // if any, is already in the outbox.
  void cancel(std::uint64_t id);
  // Shutdown: forgets every timer without completing it, since nobody
  // will drain the outbox any more, and closes the clock source.
  void close_all();

  // Counted from submission (any thread) to completion, so that a caller
  // sees its timer as pending as soon as it has asked for it.
  void note_submitted() { pending_.fetch_add(1, std::memory_order_relaxed); }
  void note_dropped() { pending_.fetch_sub(1, std::memory_order_relaxed); }
  std::int64_t pending() const { return pending_.load(std::memory_order_relaxed); }

  // Heap entries, live and stale (for tests of compaction).
  std::size_t heap_size() const { return heap_.size(); }

 private:
  struct Entry {
    std::uint64_t deadline_ns;
    std::uint64_t seq;
    std::uint64_t id;
  };
  // std::*_heap keep the greatest on top; "greater" is "due later".
  struct DueLater {
    bool operator()(const Entry& a, const Entry& b) const {
      return a.deadline_ns != b.deadline_ns ? a.deadline_ns > b.deadline_ns : a.seq > b.seq;
    }
  };

  bool live(const Entry& e) const;
  void collect_due(std::vector<Completion>* due);
  void fire_due();
  void arm();
  void compact_if_sparse();
  bool open_clock();
  void set_clock(std::uint64_t deadline_ns);

  static void on_clock_fd(uv_poll_t* poll, int status, int events) noexcept;
  static void on_clock_timer(uv_timer_t* timer) noexcept;
  static void on_clock_closed(uv_handle_t* handle);

  uv_loop_t* loop_;
  Outbox& out_;
  std::vector<Entry> heap_;
  struct Active {
    std::uint64_t seq;
    std::uint64_t start_ns;
    std::uint64_t deadline_ns;
  };
  std::unordered_map<std::uint64_t, Active> active_;
  std::uint64_t next_seq_ = 0;
  std::uint64_t armed_ns_ = 0;  // deadline the clock is set for; 0: none

  // The clock source, made on first use (the loop is not initialised
  // when this object is constructed).
  bool clock_open_ = false;
  int clock_fd_ = -1;  // timerfd, or -1 when the libuv timer is used
  uv_poll_t clock_poll_{};
  uv_timer_t clock_timer_{};

  std::atomic<std::int64_t> pending_{0};
};

}  // namespace aio
