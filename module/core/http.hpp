// The HTTP engine: transfers on one libcurl multi handle, which a
// CurlDriver drives from the libuv loop; after each round of curl's
// work, the transfers' events are sent and the finished ones read.
//
// Every method but note_submitted(), note_dropped() and pending() runs on
// the loop thread.
#pragma once

#include <curl/curl.h>
#include <uv.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <unordered_set>

#include "curl_driver.hpp"
#include "http_transfer.hpp"
#include "http_types.hpp"
#include "outbox.hpp"

namespace aio {

class Http {
 public:
  Http(uv_loop_t* loop, Outbox& out) : out_(out), driver_(loop, [this] { after_curl(); }) {}
  ~Http();
  Http(const Http&) = delete;
  Http& operator=(const Http&) = delete;

  // Starts transfer ID. An active transfer with the same id is cancelled
  // first. Failures to start complete ID with Status::error.
  void start(std::uint64_t id, HttpRequest request);
  // Aborts transfer ID at once and completes it with Status::cancelled.
  // An id that is not active is ignored.
  void cancel(std::uint64_t id);
  // Shutdown: aborts every transfer without completing it and closes
  // every handle, so that the loop can end.
  void close_all();
  // Caps connections from now on; transfers over a cap wait for a slot.
  void set_limits(const HttpLimits& limits);
  // The reader of streamed transfer ID took BYTES of its body: a paused
  // transfer goes on once it has room. An id not active is ignored.
  void ack(std::uint64_t id, std::uint64_t bytes);
  // Lets the held streamed body of transfer ID go, as bytes or, with
  // SSE, as parsed server-sent events (Transfer::start_stream).
  void start_stream(std::uint64_t id, bool sse);

  // Counted from submission (any thread) to completion, like Timers.
  void note_submitted() { pending_.fetch_add(1, std::memory_order_relaxed); }
  void note_dropped() { pending_.fetch_sub(1, std::memory_order_relaxed); }
  std::int64_t pending() const { return pending_.load(std::memory_order_relaxed); }

 private:
  bool ensure_multi();
  void apply_limits();
  void complete(Completion c) noexcept;
  void deliver_events(Transfer* t) noexcept;
  void deliver_all_events() noexcept;
  void after_curl();
  void reap();

  Outbox& out_;
  CurlDriver driver_;
  HttpLimits limits_;
  std::unordered_map<std::uint64_t, std::unique_ptr<Transfer>> active_;
  // Transfers that send events (Transfer::has_events), looked at after
  // each round of curl's work.
  std::unordered_set<Transfer*> eventful_;
  std::atomic<std::int64_t> pending_{0};
};

}  // namespace aio
