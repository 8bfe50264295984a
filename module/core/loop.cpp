#include "loop.hpp"

#include <chrono>
#include <cmath>
#include <csignal>
#include <future>
#include <memory>
#include <new>
#include <pthread.h>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <utility>

namespace aio {

namespace {

void check_uv(int rc, const char* what) {
  if (rc < 0) throw std::runtime_error(std::string(what) + ": " + uv_strerror(rc));
}

// The loop thread must never take Emacs's signals (SIGCHLD, SIGIO, SIGINT
// ...), and a write to a dead wake pipe must fail with EPIPE rather than
// kill Emacs with SIGPIPE. Blocking everything while the thread is created
// makes it start with all signals blocked; threads it creates (libcurl's
// resolver) inherit that.
class BlockAllSignals {
 public:
  BlockAllSignals() {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &saved_);
  }
  ~BlockAllSignals() { pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }
  BlockAllSignals(const BlockAllSignals&) = delete;
  BlockAllSignals& operator=(const BlockAllSignals&) = delete;

 private:
  sigset_t saved_;
};

}  // namespace

Loop::Loop(int wake_fd) {
  waker_.set_fd(wake_fd);
  check_uv(uv_loop_init(&uv_), "uv_loop_init");
  int rc = uv_async_init(&uv_, &async_, &Loop::on_async);
  if (rc < 0) {
    uv_loop_close(&uv_);
    check_uv(rc, "uv_async_init");
  }
  async_.data = this;
  // Cannot fail (it only fills in the handle).
  uv_timer_init(&uv_, &handover_);
  handover_.data = this;
  BlockAllSignals blocked;
  thread_ = std::thread([this] { run(); });
}

Loop::~Loop() { stop(); }

void Loop::run() { uv_run(&uv_, UV_RUN_DEFAULT); }

bool Loop::submit(Command cmd) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return false;
  const bool was_empty = inbox_.empty();
  // Room first: past this, nothing throws, so a failure changes nothing
  // (and never leaves an inbox without its wake-up).
  inbox_.reserve(inbox_.size() + 2);
  // Staged timers go first: they were started before CMD (a cancel of
  // one of them must find it started).
  submit_staged_locked();
  inbox_.push_back(std::move(cmd));
  ++commands_;
  // A non-empty inbox has a wake-up on its way already: the loop thread
  // swaps the whole inbox out in the callback that send triggers.
  if (was_empty) uv_async_send(&async_);
  return true;
}

void Loop::submit_staged_locked() {
  if (staged_.empty()) return;
  // Everything that may throw before staged_ is touched: a failure
  // leaves the timers staged, for the hand-over to take.
  auto batch = std::make_shared<std::vector<StagedTimer>>();
  Command start_all = [this, batch] { start_staged(*batch); };
  inbox_.reserve(inbox_.size() + 1);
  batch->swap(staged_);
  inbox_.push_back(std::move(start_all));
  // Not counted in commands_: like a hand-over, it is no command of
  // Emacs's.
}

void Loop::start_staged(const std::vector<StagedTimer>& batch) {
  for (const StagedTimer& t : batch) {
    // Each on its own: start() reports its own failures, and one that
    // escapes must not lose the timers after it.
    try {
      timers_.start(t.id, t.start_ns, t.deadline_ns);
    } catch (...) {
    }
  }
}

void Loop::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      stopping_ = true;
      // Dropped with the rest of the pending work; the loop thread's
      // close_all() sets the timer count to zero.
      staged_.clear();
      uv_async_send(&async_);
    }
  }
  if (thread_.joinable()) {
    thread_.join();
    uv_loop_close(&uv_);
  }
}

void Loop::on_async(uv_async_t* async) {
  auto* self = static_cast<Loop*>(async->data);
  std::vector<Command> batch;
  bool stopping;
  {
    std::lock_guard<std::mutex> lock(self->mu_);
    batch.swap(self->inbox_);
    stopping = self->stopping_;
  }
  if (stopping) {
    self->timers_.close_all();
    self->http_.close_all();
    self->files_.close_all();
    self->dns_.close_all();
    self->servers_.close_all();
    self->tls_.close_all();
    uv_close(reinterpret_cast<uv_handle_t*>(&self->async_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&self->handover_), nullptr);
    return;
  }
  // Deadlines are measured from here, not from the last poll.
  uv_update_time(&self->uv_);
  for (auto& cmd : batch) {
    // A libuv callback: nothing may escape it. Commands report their
    // own failures; this only keeps the loop alive when even that fails.
    try {
      cmd();
    } catch (...) {
    }
  }
  bool staged;
  {
    std::lock_guard<std::mutex> lock(self->mu_);
    staged = !self->staged_.empty();
  }
  // Armed unless it is already; libuv stops a one-shot timer before
  // calling it, so one running now can be armed again.
  if (staged && !uv_is_active(reinterpret_cast<uv_handle_t*>(&self->handover_))) {
    // Later than now, so that the rest of the burst joins these.
    uv_timer_start(&self->handover_, &Loop::on_handover, 1, 0);
  }
}

void Loop::on_handover(uv_timer_t* timer) {
  auto* self = static_cast<Loop*>(timer->data);
  std::vector<StagedTimer> batch;
  {
    std::lock_guard<std::mutex> lock(self->mu_);
    batch.swap(self->staged_);
  }
  self->start_staged(batch);
}

namespace {

std::uint64_t deadline_after(std::uint64_t now, double delay_ms) {
  if (!(delay_ms >= 0) || !std::isfinite(delay_ms)) {
    throw std::invalid_argument("timer delay must be a finite number >= 0");
  }
  return now + static_cast<std::uint64_t>(std::ceil(delay_ms * 1e6));
}

// Timers held by stage_timer before the loop thread is woken for them.
constexpr std::size_t max_staged = 1024;

}  // namespace

void Loop::start_timer(std::uint64_t id, double delay_ms) {
  const auto now = uv_hrtime();
  const auto deadline = deadline_after(now, delay_ms);
  timers_.note_submitted();
  if (!submit([this, id, now, deadline] { timers_.start(id, now, deadline); })) {
    timers_.note_dropped();
  }
}

void Loop::stage_timer(std::uint64_t id, double delay_ms) {
  const auto now = uv_hrtime();
  const auto deadline = deadline_after(now, delay_ms);
  bool full = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    const bool first = staged_.empty();
    staged_.push_back(StagedTimer{id, now, deadline});  // first: it may throw
    timers_.note_submitted();
    full = staged_.size() >= max_staged;
    // The first of a burst wakes the loop thread, which arms the
    // hand-over; the others find it on its way.
    if (first && !full) uv_async_send(&async_);
  }
  if (full) {
    // Staged and counted already: if handing over fails for want of
    // memory, the hand-over the first one armed takes them.
    try {
      flush_timers();
    } catch (const std::bad_alloc&) {
    }
  }
}

void Loop::flush_timers() {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_ || staged_.empty()) return;
  const bool was_empty = inbox_.empty();
  submit_staged_locked();
  if (was_empty) uv_async_send(&async_);
}

std::vector<TimerTimes> Loop::timer_times(const std::vector<std::uint64_t>& ids) {
  auto result = std::make_shared<std::promise<std::vector<TimerTimes>>>();
  std::future<std::vector<TimerTimes>> future = result->get_future();
  const bool sent = submit([this, ids, result] {
    std::vector<TimerTimes> out;
    const std::uint64_t now = uv_hrtime();
    for (std::uint64_t id : ids) {
      std::uint64_t start = 0, deadline = 0;
      if (timers_.times(id, &start, &deadline)) {
        out.push_back(TimerTimes{id, static_cast<double>(now - start) / 1e9,
                                 static_cast<double>(deadline - start) / 1e9});
      }
    }
    result->set_value(std::move(out));
  });
  // An interactive listing asks: a loop that does not answer within a
  // second has nothing useful to say.
  if (!sent || future.wait_for(std::chrono::seconds(1)) != std::future_status::ready) return {};
  return future.get();
}

void Loop::cancel_timer(std::uint64_t id) {
  submit([this, id] { timers_.cancel(id); });
}

void Loop::start_http(std::uint64_t id, HttpRequest request) {
  http_.note_submitted();
  // Shared so that the command stays copyable without copying the body.
  auto shared = std::make_shared<HttpRequest>(std::move(request));
  if (!submit([this, id, shared] { http_.start(id, std::move(*shared)); })) {
    http_.note_dropped();
  }
}

void Loop::cancel_http(std::uint64_t id) {
  submit([this, id] { http_.cancel(id); });
}

void Loop::start_http_stream(std::uint64_t id, bool sse) {
  submit([this, id, sse] { http_.start_stream(id, sse); });
}

void Loop::ack_http(std::uint64_t id, std::uint64_t bytes) {
  submit([this, id, bytes] { http_.ack(id, bytes); });
}

void Loop::set_http_limits(const HttpLimits& limits) {
  submit([this, limits] { http_.set_limits(limits); });
}

void Loop::start_file(std::uint64_t id, std::unique_ptr<FileJob> job) {
  files_.note_submitted();
  // Boxed so that the command stays copyable.
  auto box = std::make_shared<std::unique_ptr<FileJob>>(std::move(job));
  if (!submit([this, id, box] { files_.start(id, std::move(*box)); })) {
    files_.note_dropped();
  }
}

void Loop::cancel_file(std::uint64_t id) {
  submit([this, id] { files_.cancel(id); });
}

void Loop::ack_file(std::uint64_t id, std::uint64_t n) {
  submit([this, id, n] { files_.ack(id, n); });
}

void Loop::dns_lookup(std::uint64_t id, std::string host, int family) {
  dns_.note_submitted();
  if (!submit([this, id, host = std::move(host), family] { dns_.lookup(id, host, family); })) {
    dns_.note_dropped();
  }
}

void Loop::dns_reverse(std::uint64_t id, std::string address) {
  dns_.note_submitted();
  if (!submit([this, id, address = std::move(address)] { dns_.reverse(id, address); })) {
    dns_.note_dropped();
  }
}

void Loop::cancel_dns(std::uint64_t id) {
  submit([this, id] { dns_.cancel(id); });
}

namespace {

// A listening socket on its way to the loop thread: closed if the
// command carrying it is dropped unrun (the loop stopped first).
struct PendingSocket {
  int fd;
  explicit PendingSocket(int f) : fd(f) {}
  PendingSocket(const PendingSocket&) = delete;
  PendingSocket& operator=(const PendingSocket&) = delete;
  ~PendingSocket() {
    if (fd >= 0) ::close(fd);
  }
  int release() { return std::exchange(fd, -1); }
};

}  // namespace

void Loop::serve_http(std::uint64_t id, int fd, const ServerLimits& limits) {
  std::shared_ptr<PendingSocket> socket;
  try {
    socket = std::make_shared<PendingSocket>(fd);
  } catch (...) {
    ::close(fd);
    throw;
  }
  servers_.note_submitted();
  bool sent = false;
  try {
    sent = submit([this, id, socket, limits] { servers_.start(id, socket->release(), limits); });
  } catch (...) {
    servers_.note_dropped();
    throw;
  }
  if (!sent) servers_.note_dropped();
}

void Loop::stop_http_server(std::uint64_t id) {
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> stopped = done->get_future();
  if (!submit([this, id, done] {
        servers_.stop(id);
        done->set_value();
      })) {
    return;
  }
  // Whoever stops a server may bind its port again at once: wait, a
  // little at most, for the loop thread to close its sockets.
  stopped.wait_for(std::chrono::seconds(1));
}

void Loop::respond_http(std::uint64_t id, std::uint64_t req, ServerResponse response) {
  auto shared = std::make_shared<ServerResponse>(std::move(response));
  submit([this, id, req, shared] { servers_.respond(id, req, std::move(*shared)); });
}

void Loop::write_http(std::uint64_t id, std::uint64_t req, std::string bytes) {
  auto shared = std::make_shared<std::string>(std::move(bytes));
  submit([this, id, req, shared] { servers_.write(id, req, std::move(*shared)); });
}

void Loop::end_http(std::uint64_t id, std::uint64_t req) {
  submit([this, id, req] { servers_.end(id, req); });
}

void Loop::abort_http(std::uint64_t id, std::uint64_t req) {
  submit([this, id, req] { servers_.abort(id, req); });
}

void Loop::tls_connect(std::uint64_t id, TlsRequest request) {
  tls_.note_submitted();
  if (!submit([this, id, request = std::move(request)] { tls_.connect(id, request); })) tls_.note_dropped();
}

void Loop::tls_write(std::uint64_t id, std::uint64_t write_id, std::string bytes) {
  tls_.note_submitted();
  // Shared so that the command stays copyable without copying the bytes.
  auto shared = std::make_shared<std::string>(std::move(bytes));
  if (!submit([this, id, write_id, shared] { tls_.write(id, write_id, std::move(*shared)); })) {
    tls_.note_dropped();
  }
}

void Loop::tls_cancel_write(std::uint64_t id, std::uint64_t write_id) {
  submit([this, id, write_id] { tls_.cancel_write(id, write_id); });
}

void Loop::tls_ack(std::uint64_t id, std::uint64_t bytes) {
  submit([this, id, bytes] { tls_.ack(id, bytes); });
}

void Loop::tls_close(std::uint64_t id) {
  submit([this, id] { tls_.close(id); });
}

Stats Loop::stats() const {
  Stats s;
  s.timers_pending = timers_.pending();
  s.http_pending = http_.pending();
  s.files_pending = files_.pending();
  s.dns_pending = dns_.pending();
  s.servers_pending = servers_.pending();
  s.tls_pending = tls_.pending();
  {
    std::lock_guard<std::mutex> lock(mu_);
    s.commands = commands_;
  }
  s.completions = outbox_.delivered();
  s.wakeups = waker_.wakeups();
  s.drains = outbox_.drains();
  return s;
}

}  // namespace aio
