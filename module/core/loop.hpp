// The libuv loop and the thread it runs on.
//
// Any thread may submit() work; commands run on the loop thread in
// submission order. Results come back through outbox().drain(), announced
// by a byte on the wake descriptor. Nothing here knows about Emacs.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include <uv.h>

#include "dns.hpp"
#include "files.hpp"
#include "http.hpp"
#include "http_server.hpp"
#include "http_types.hpp"
#include "outbox.hpp"
#include "timers.hpp"
#include "tls.hpp"
#include "waker.hpp"

namespace aio {

// Runs on the loop thread. Captures plain values only.
using Command = std::function<void()>;

// What Lisp may ask about a pending timer, for display.
struct TimerTimes {
  std::uint64_t id;
  double age_s;       // since it was asked for
  double duration_s;  // from then to its deadline
};

struct Stats {
  std::int64_t timers_pending = 0;
  std::int64_t http_pending = 0;
  std::int64_t files_pending = 0;
  std::int64_t dns_pending = 0;
  std::int64_t servers_pending = 0;
  std::int64_t tls_pending = 0;
  std::uint64_t commands = 0;
  std::uint64_t completions = 0;
  std::uint64_t wakeups = 0;
  std::uint64_t drains = 0;
};

class Loop {
 public:
  // Starts the loop thread. WAKE_FD (owned from now on) may be -1.
  explicit Loop(int wake_fd = -1);
  // Stops and joins, like stop().
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  // Thread-safe. Returns false (and drops CMD) once stop() has begun.
  bool submit(Command cmd);
  // Thread-safe, idempotent. Closes every handle, dropping pending work
  // without completing it, and joins the loop thread.
  void stop();

  // Thread-safe front for the timer service.
  void start_timer(std::uint64_t id, double delay_ms);
  // Like start_timer, its deadline taken now, but handed to the timer
  // service a millisecond after the first of a burst (or at the next
  // command of any kind, or at flush_timers(), or once 1,024 are held):
  // a burst wakes the loop thread once a millisecond, not once a timer.
  // A wake-up costs the caller about 2 microseconds in a burst, four
  // times the rest of a start. Deadlines are kept: only a timer due
  // within that millisecond may fire up to a millisecond late.
  void stage_timer(std::uint64_t id, double delay_ms);
  void flush_timers();
  void cancel_timer(std::uint64_t id);
  // Blocks for the loop thread (at most a second): the times of those of
  // IDS that are pending timers.
  std::vector<TimerTimes> timer_times(const std::vector<std::uint64_t>& ids);

  // Thread-safe front for the HTTP engine.
  void start_http(std::uint64_t id, HttpRequest request);
  void cancel_http(std::uint64_t id);
  void set_http_limits(const HttpLimits& limits);
  void ack_http(std::uint64_t id, std::uint64_t bytes);
  void start_http_stream(std::uint64_t id, bool sse);

  // Thread-safe front for file work on the thread pool.
  void start_file(std::uint64_t id, std::unique_ptr<FileJob> job);
  void cancel_file(std::uint64_t id);
  void ack_file(std::uint64_t id, std::uint64_t n);

  // Thread-safe front for name lookups.
  void dns_lookup(std::uint64_t id, std::string host, int family);
  void dns_reverse(std::uint64_t id, std::string address);
  void cancel_dns(std::uint64_t id);

  // Thread-safe front for the HTTP server.
  void serve_http(std::uint64_t id, int fd, const ServerLimits& limits);
  // Returns once the loop thread has closed the server's sockets (a
  // second at most), so that its port may be bound again at once.
  void stop_http_server(std::uint64_t id);
  void respond_http(std::uint64_t id, std::uint64_t req, ServerResponse response);
  void write_http(std::uint64_t id, std::uint64_t req, std::string bytes);
  void end_http(std::uint64_t id, std::uint64_t req);
  void abort_http(std::uint64_t id, std::uint64_t req);

  // Thread-safe front for TLS connections.
  void tls_connect(std::uint64_t id, TlsRequest request);
  void tls_write(std::uint64_t id, std::uint64_t write_id, std::string bytes);
  void tls_cancel_write(std::uint64_t id, std::uint64_t write_id);
  void tls_ack(std::uint64_t id, std::uint64_t bytes);
  void tls_close(std::uint64_t id);

  Waker& waker() { return waker_; }
  Outbox& outbox() { return outbox_; }
  Stats stats() const;

 private:
  static void on_async(uv_async_t* async);
  static void on_handover(uv_timer_t* timer);
  void run();

  uv_loop_t uv_{};
  uv_async_t async_{};
  uv_timer_t handover_{};  // hands staged_ over; loop thread only
  Waker waker_;
  Outbox outbox_{waker_};
  Timers timers_{&uv_, outbox_};
  Http http_{&uv_, outbox_};
  Files files_{&uv_, outbox_};
  Dns dns_{&uv_, outbox_};
  HttpServers servers_{&uv_, outbox_};
  TlsConnections tls_{&uv_, outbox_};

  struct StagedTimer {
    std::uint64_t id, start_ns, deadline_ns;
  };
  // Hands staged_ over as one command; mu_ held. Throws only before
  // anything changed.
  void submit_staged_locked();
  void start_staged(const std::vector<StagedTimer>& batch);

  mutable std::mutex mu_;  // guards inbox_, staged_, stopping_ and every uv_async_send
  std::vector<Command> inbox_;
  std::vector<StagedTimer> staged_;
  bool stopping_ = false;
  std::uint64_t commands_ = 0;

  std::thread thread_;
};

}  // namespace aio
