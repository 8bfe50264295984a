// One-shot timers keyed by the caller's id, on libuv's timer heap.
// Every method but note_submitted() and pending() runs on the loop thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <unordered_map>

#include <uv.h>

#include "outbox.hpp"

namespace aio {

class Timers {
 public:
  Timers(uv_loop_t* loop, Outbox& out) : loop_(loop), out_(out) {}
  Timers(const Timers&) = delete;
  Timers& operator=(const Timers&) = delete;

  // Starts timer ID, due at DEADLINE_NS on uv_hrtime()'s clock. It never
  // fires early. An active timer with the same id is cancelled first.
  void start(std::uint64_t id, std::uint64_t deadline_ns);
  // Stops timer ID and completes it with Status::cancelled. An id that is
  // not active (already fired, never started) is ignored: its completion,
  // if any, is already in the outbox.
  void cancel(std::uint64_t id);
  // Shutdown: closes every timer without completing it, since nobody will
  // drain the outbox any more.
  void close_all();

  // Counted from submission (any thread) to completion, so that a caller
  // sees its timer as pending as soon as it has asked for it.
  void note_submitted() { pending_.fetch_add(1, std::memory_order_relaxed); }
  void note_dropped() { pending_.fetch_sub(1, std::memory_order_relaxed); }
  std::int64_t pending() const { return pending_.load(std::memory_order_relaxed); }

 private:
  struct Handle {
    uv_timer_t timer;
    std::uint64_t id;
    Timers* owner;
  };
  static void on_fire(uv_timer_t* t);
  static void on_close(uv_handle_t* h);
  void finish(Handle* h, Status status);

  uv_loop_t* loop_;
  Outbox& out_;
  std::unordered_map<std::uint64_t, Handle*> active_;
  std::atomic<std::int64_t> pending_{0};
};

}  // namespace aio
