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

// Moves from the front of QUEUE to OUT: up to MAX (all when 0) and,
// when MAX_BYTES is not 0, no more than MAX_BYTES of payload, though at
// least one if OUT is still empty.
void take(std::deque<Completion>* queue, std::size_t max, std::size_t max_bytes, std::vector<Completion>* out) {
  std::size_t n = (max == 0 || queue->size() <= max) ? queue->size() : max;
  if (max_bytes > 0) {
    std::size_t bytes = 0;
    for (std::size_t i = 0; i < n; ++i) {
      bytes += payload_bytes((*queue)[i]);
      if (bytes > max_bytes) {
        n = (i == 0 && out->empty()) ? 1 : i;
        break;
      }
    }
  }
  auto split = queue->begin() + static_cast<std::ptrdiff_t>(n);
  out->insert(out->end(), std::make_move_iterator(queue->begin()), std::make_move_iterator(split));
  queue->erase(queue->begin(), split);
}

}  // namespace

void Outbox::push(Completion c, Lane lane) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    (lane == Lane::urgent ? urgent_ : items_).push_back(std::move(c));
  }
  waker_.notify();
}

void Outbox::push_all(std::vector<Completion> batch, Lane lane) {
  if (batch.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto& queue = lane == Lane::urgent ? urgent_ : items_;
    for (auto& c : batch) queue.push_back(std::move(c));
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
    take(&urgent_, max, max_bytes, &out);
    if (max == 0 || out.size() < max) take(&items_, max == 0 ? 0 : max - out.size(), max_bytes, &out);
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
    items_.insert(items_.begin(), std::make_move_iterator(batch.begin()), std::make_move_iterator(batch.end()));
  }
  delivered_.fetch_sub(batch.size(), std::memory_order_relaxed);
  waker_.notify();
}

}  // namespace aio
