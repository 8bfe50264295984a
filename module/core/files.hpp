// File work on libuv's thread pool, keyed by the caller's id.
//
// A FileJob works in steps, each run on a pool thread (uv_queue_work)
// and bounded (a few megabytes of I/O, one directory's entries), so that
// a long job neither holds a pool thread for seconds nor misses its
// cancellation, and a job whose reader lags waits between steps without
// holding a thread at all. The pool's threads are started by libuv from
// the loop thread, on its first request, and inherit that thread's
// signal mask: they take none of Emacs's signals (see loop.cpp).
//
// Every method but note_submitted(), note_dropped() and pending() runs on
// the loop thread.
#pragma once

#include <uv.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "outbox.hpp"

namespace aio {

class FileJob {
 public:
  enum class Next { step, wait, done };

  virtual ~FileJob() = default;
  // Pool thread: one bounded piece of the work. May throw; the job then
  // fails with the exception's message.
  virtual void step() = 0;
  // Pool thread, once, for a job that was cancelled or abandoned at
  // shutdown after it had started: undo what must not stay (a temporary
  // file). Never called concurrently with step().
  virtual void abandon() {}
  // Loop thread, after each step and each ack: what comes next.
  virtual Next next() const = 0;
  // Loop thread: news of the work so far (events for ID), if any.
  virtual std::vector<Completion> take_events(std::uint64_t /*id*/) { return {}; }
  // Loop thread: the reader took N more units (bytes, names).
  virtual void ack(std::uint64_t /*n*/) {}
  // Loop thread, once next() says done: the completion of ID.
  virtual Completion result(std::uint64_t id) = 0;

  // Set from the loop thread; a long step may look at it to stop early.
  bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }
  void cancel() { cancelled_.store(true, std::memory_order_relaxed); }

 private:
  std::atomic<bool> cancelled_{false};
};

class Files {
 public:
  Files(uv_loop_t* loop, Outbox& out) : loop_(loop), out_(out) {}
  ~Files();
  Files(const Files&) = delete;
  Files& operator=(const Files&) = delete;

  // Starts JOB as operation ID (an active one with that id is cancelled).
  void start(std::uint64_t id, std::unique_ptr<FileJob> job);
  // Completes ID at once with Status::cancelled; its job stops after the
  // step in progress and cleans up. An id not active is ignored.
  void cancel(std::uint64_t id);
  // The reader of ID took N units; a waiting job goes on if it may.
  void ack(std::uint64_t id, std::uint64_t n);
  // Shutdown: abandons every job without completing it. Steps under way
  // finish first (the loop keeps running until they have).
  void close_all();

  void note_submitted() { pending_.fetch_add(1, std::memory_order_relaxed); }
  void note_dropped() { pending_.fetch_sub(1, std::memory_order_relaxed); }
  std::int64_t pending() const { return pending_.load(std::memory_order_relaxed); }

 private:
  struct Entry {
    uv_work_t work{};
    Files* owner = nullptr;
    std::uint64_t id = 0;
    std::unique_ptr<FileJob> job;
    bool running = false;    // a pool request is under way
    bool started = false;    // step() has been asked for at least once
    bool dropped = false;    // cancelled or shut down: clean up, then forget
    bool cleaning = false;   // the request under way is abandon()
    bool failed = false;     // step() threw
    std::string failure;
  };

  void submit(Entry* e);
  void settle(Entry* e);
  void advance(Entry* e);
  void drop(Entry* e);
  void complete(Completion c) noexcept;
  void push_events(Entry* e) noexcept;
  void forget(Entry* e);

  static void on_work(uv_work_t* work);
  static void on_after_work(uv_work_t* work, int status);

  uv_loop_t* loop_;
  Outbox& out_;
  bool closed_ = false;
  std::unordered_map<std::uint64_t, Entry*> active_;
  // Every entry, active or dropped, until its last request has ended.
  std::unordered_map<Entry*, std::unique_ptr<Entry>> entries_;
  std::atomic<std::int64_t> pending_{0};
};

}  // namespace aio
