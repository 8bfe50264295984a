#include "outbox.hpp"

#include <iterator>
#include <utility>

#include "datum.hpp"
#include "http_types.hpp"

namespace aio {

namespace {

// What handing C over to Emacs will cost in bytes, roughly.
std::size_t payload_bytes(const Completion& c) {
  std::size_t n = c.payload.size() + c.bytes;
  if (c.http) n += c.http->body.size() + c.http->status_line.size();
  if (c.data) n += c.data->weight();
  return n;
}

}  // namespace

void Outbox::add_locked(Completion c, Lane lane) {
  c.seq = next_seq_++;
  c.urgent = lane == Lane::urgent;
  (c.urgent ? urgent_ : items_).push_back(std::move(c));
}

void Outbox::push(Completion c, Lane lane) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    add_locked(std::move(c), lane);
  }
  waker_.notify();
}

void Outbox::push_all(std::vector<Completion> batch, Lane lane) {
  if (batch.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& c : batch) add_locked(std::move(c), lane);
  }
  waker_.notify();
}

std::vector<Completion> Outbox::drain(std::size_t max, std::size_t max_bytes) {
  // Clear first: a push that lands after this is either taken below or
  // announces itself with a new byte.
  waker_.clear();
  std::vector<Completion> out;
  bool left_behind = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::size_t bytes = 0;
    bool normal_open = true;  // until the byte budget holds the next normal one back
    while (max == 0 || out.size() < max) {
      const bool urgent = !urgent_.empty();
      const bool normal = normal_open && !items_.empty();
      if (!urgent && !normal) break;
      std::deque<Completion>& from =
          (normal && (!urgent || items_.front().seq < urgent_.front().seq)) ? items_ : urgent_;
      const std::size_t size = payload_bytes(from.front());
      if (&from == &items_ && max_bytes > 0 && bytes + size > max_bytes && !out.empty()) {
        normal_open = false;
        continue;
      }
      bytes += size;
      out.push_back(std::move(from.front()));
      from.pop_front();
    }
    left_behind = !urgent_.empty() || !items_.empty();
  }
  if (left_behind) waker_.notify();
  drains_.fetch_add(1, std::memory_order_relaxed);
  delivered_.fetch_add(out.size(), std::memory_order_relaxed);
  return out;
}

void Outbox::requeue(std::vector<Completion> batch) {
  if (batch.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Backwards: each goes to the front of its lane, so that both keep
    // their order; they were the fronts when taken.
    for (auto it = batch.rbegin(); it != batch.rend(); ++it) {
      (it->urgent ? urgent_ : items_).push_front(std::move(*it));
    }
  }
  delivered_.fetch_sub(batch.size(), std::memory_order_relaxed);
  waker_.notify();
}

}  // namespace aio
