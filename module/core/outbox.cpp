#include "outbox.hpp"

#include <iterator>
#include <utility>

namespace aio {

void Outbox::push(Completion c) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    items_.push_back(std::move(c));
  }
  waker_.notify();
}

void Outbox::push_all(std::vector<Completion> batch) {
  if (batch.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& c : batch) items_.push_back(std::move(c));
  }
  waker_.notify();
}

std::vector<Completion> Outbox::drain(std::size_t max) {
  // Clear first: a push that lands after this is either taken below or
  // announces itself with a new byte.
  waker_.clear();
  std::vector<Completion> out;
  bool left_behind = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const std::size_t n = (max == 0 || items_.size() <= max) ? items_.size() : max;
    auto split = items_.begin() + static_cast<std::ptrdiff_t>(n);
    out.assign(std::make_move_iterator(items_.begin()), std::make_move_iterator(split));
    items_.erase(items_.begin(), split);
    left_behind = !items_.empty();
  }
  if (left_behind) waker_.notify();
  drains_.fetch_add(1, std::memory_order_relaxed);
  delivered_.fetch_add(out.size(), std::memory_order_relaxed);
  return out;
}

}  // namespace aio
