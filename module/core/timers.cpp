#include "timers.hpp"

#include <algorithm>
#include <cerrno>
#include <new>
#include <stdexcept>
#include <utility>

#include <unistd.h>
#ifdef __linux__
#include <sys/timerfd.h>
#endif

namespace aio {

namespace {
// Below this many entries, stale ones are not worth a rebuild.
constexpr std::size_t compact_floor = 1024;
}  // namespace

bool Timers::live(const Entry& e) const {
  auto it = active_.find(e.id);
  return it != active_.end() && it->second.seq == e.seq;
}

bool Timers::times(std::uint64_t id, std::uint64_t* start_ns, std::uint64_t* deadline_ns) const {
  auto it = active_.find(id);
  if (it == active_.end()) return false;
  *start_ns = it->second.start_ns;
  *deadline_ns = it->second.deadline_ns;
  return true;
}

void Timers::start(std::uint64_t id, std::uint64_t start_ns, std::uint64_t deadline_ns) {
  try {
    if (!clock_open_ && !open_clock()) throw std::runtime_error("cannot create a timer clock");
    cancel(id);
    const std::uint64_t seq = next_seq_++;
    heap_.push_back(Entry{deadline_ns, seq, id});
    std::push_heap(heap_.begin(), heap_.end(), DueLater{});
    active_[id] = Active{seq, start_ns, deadline_ns};  // last: until here a failure leaves only a stale entry
  } catch (const std::exception& e) {
    pending_.fetch_sub(1, std::memory_order_relaxed);
    out_.push(Completion(id, Status::error, e.what()), Lane::urgent);
    return;
  }
  if (armed_ns_ == 0 || deadline_ns < armed_ns_) arm();
}

void Timers::cancel(std::uint64_t id) {
  auto it = active_.find(id);
  if (it == active_.end()) return;
  active_.erase(it);
  pending_.fetch_sub(1, std::memory_order_relaxed);
  out_.push(Completion(id, Status::cancelled), Lane::urgent);
  compact_if_sparse();
}

void Timers::compact_if_sparse() {
  if (heap_.size() < compact_floor || heap_.size() < 2 * active_.size()) return;
  heap_.erase(std::remove_if(heap_.begin(), heap_.end(), [this](const Entry& e) { return !live(e); }),
              heap_.end());
  std::make_heap(heap_.begin(), heap_.end(), DueLater{});
}

void Timers::collect_due(std::vector<Completion>* due) {
  const std::uint64_t now = uv_hrtime();
  while (!heap_.empty() && heap_.front().deadline_ns <= now) {
    const Entry e = heap_.front();
    auto it = active_.find(e.id);
    const bool fires = it != active_.end() && it->second.seq == e.seq;  // else cancelled
    // First, as it may throw: until it succeeds nothing has changed.
    if (fires) due->emplace_back(e.id, Status::ok);
    std::pop_heap(heap_.begin(), heap_.end(), DueLater{});
    heap_.pop_back();
    if (fires) active_.erase(it);
  }
}

void Timers::fire_due() {
  std::vector<Completion> due;
  try {
    collect_due(&due);
  } catch (const std::bad_alloc&) {
    // Deliver what was collected; arm() below sets the clock for the
    // rest, which are due already, so they are collected next turn.
  }
  pending_.fetch_sub(static_cast<std::int64_t>(due.size()), std::memory_order_relaxed);
  // One lock and at most one wake-up for the whole batch; see Lane.
  out_.push_all(std::move(due), Lane::urgent);
  armed_ns_ = 0;
  arm();
}

void Timers::arm() {
  // Stale entries on top would only cause empty wake-ups.
  while (!heap_.empty() && !live(heap_.front())) {
    std::pop_heap(heap_.begin(), heap_.end(), DueLater{});
    heap_.pop_back();
  }
  if (heap_.empty()) {
    if (armed_ns_ != 0) set_clock(0);
    armed_ns_ = 0;
    return;
  }
  armed_ns_ = std::max<std::uint64_t>(heap_.front().deadline_ns, 1);
  set_clock(armed_ns_);
}

bool Timers::open_clock() {
#ifdef __linux__
  int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (fd >= 0) {
    if (uv_poll_init(loop_, &clock_poll_, fd) == 0) {
      clock_poll_.data = this;
      uv_poll_start(&clock_poll_, UV_READABLE, &Timers::on_clock_fd);
      clock_fd_ = fd;
      clock_open_ = true;
      return true;
    }
    ::close(fd);
  }
#endif
  if (uv_timer_init(loop_, &clock_timer_) != 0) return false;
  clock_timer_.data = this;
  clock_open_ = true;
  return true;
}

void Timers::set_clock(std::uint64_t deadline_ns) {
#ifdef __linux__
  if (clock_fd_ >= 0) {
    // uv_hrtime() reads CLOCK_MONOTONIC, so its deadlines serve as
    // absolute times of the timerfd; zero disarms it.
    itimerspec spec{};
    spec.it_value.tv_sec = static_cast<time_t>(deadline_ns / 1000000000ULL);
    spec.it_value.tv_nsec = static_cast<long>(deadline_ns % 1000000000ULL);
    timerfd_settime(clock_fd_, TFD_TIMER_ABSTIME, &spec, nullptr);
    return;
  }
#endif
  if (deadline_ns == 0) {
    uv_timer_stop(&clock_timer_);
    return;
  }
  // libuv compares whole milliseconds of uv_now(), which lags the real
  // clock by up to 1 ms: measure from uv_now() and round up so that the
  // timer is never early.
  uv_update_time(loop_);
  const std::uint64_t base_ns = uv_now(loop_) * 1000000ULL;
  const std::uint64_t ahead_ns = deadline_ns > base_ns ? deadline_ns - base_ns : 0;
  uv_timer_start(&clock_timer_, &Timers::on_clock_timer, (ahead_ns + 999999ULL) / 1000000ULL, 0);
}

// libuv's callbacks are C: no exception may leave them (it would abort
// Emacs), so each catches what the work inside might throw.

void Timers::on_clock_fd(uv_poll_t* poll, int status, int) noexcept {
  auto* self = static_cast<Timers*>(poll->data);
  if (status >= 0) {
    std::uint64_t expirations;
    // Nonblocking; EAGAIN after a re-arm is harmless.
    while (::read(self->clock_fd_, &expirations, sizeof expirations) < 0 && errno == EINTR) {
    }
  }
  try {
    self->fire_due();
  } catch (...) {
  }
}

void Timers::on_clock_timer(uv_timer_t* timer) noexcept {
  try {
    static_cast<Timers*>(timer->data)->fire_due();
  } catch (...) {
  }
}

void Timers::on_clock_closed(uv_handle_t* handle) {
  auto* self = static_cast<Timers*>(handle->data);
  if (self->clock_fd_ >= 0) {
    ::close(self->clock_fd_);
    self->clock_fd_ = -1;
  }
}

void Timers::close_all() {
  heap_.clear();
  heap_.shrink_to_fit();
  active_.clear();
  pending_.store(0, std::memory_order_relaxed);
  armed_ns_ = 0;
  if (!clock_open_) return;
  clock_open_ = false;
  if (clock_fd_ >= 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&clock_poll_), &Timers::on_clock_closed);
  } else {
    uv_close(reinterpret_cast<uv_handle_t*>(&clock_timer_), nullptr);
  }
}

}  // namespace aio
