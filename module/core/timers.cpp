#include "timers.hpp"

#include <utility>

namespace aio {

void Timers::start(std::uint64_t id, std::uint64_t deadline_ns) {
  cancel(id);
  auto* h = new Handle{};
  h->id = id;
  h->owner = this;
  uv_timer_init(loop_, &h->timer);
  h->timer.data = h;
  // libuv compares whole milliseconds of uv_now(), which lags the real
  // clock by up to 1 ms: measure from uv_now() and round up so that the
  // timer is never early.
  const std::uint64_t base_ns = uv_now(loop_) * 1000000ULL;
  const std::uint64_t ahead_ns = deadline_ns > base_ns ? deadline_ns - base_ns : 0;
  const std::uint64_t timeout_ms = (ahead_ns + 999999ULL) / 1000000ULL;
  uv_timer_start(&h->timer, &Timers::on_fire, timeout_ms, 0);
  active_.emplace(id, h);
}

void Timers::cancel(std::uint64_t id) {
  auto it = active_.find(id);
  if (it == active_.end()) return;
  Handle* h = it->second;
  active_.erase(it);
  uv_timer_stop(&h->timer);
  finish(h, Status::cancelled);
}

void Timers::close_all() {
  for (auto& entry : active_) {
    uv_close(reinterpret_cast<uv_handle_t*>(&entry.second->timer), &Timers::on_close);
  }
  active_.clear();
  pending_.store(0, std::memory_order_relaxed);
}

void Timers::on_fire(uv_timer_t* t) {
  auto* h = static_cast<Handle*>(t->data);
  h->owner->active_.erase(h->id);
  h->owner->finish(h, Status::ok);
}

void Timers::finish(Handle* h, Status status) {
  pending_.fetch_sub(1, std::memory_order_relaxed);
  Completion done;
  done.id = h->id;
  done.status = status;
  out_.push(std::move(done));
  uv_close(reinterpret_cast<uv_handle_t*>(&h->timer), &Timers::on_close);
}

void Timers::on_close(uv_handle_t* handle) { delete static_cast<Handle*>(handle->data); }

}  // namespace aio
