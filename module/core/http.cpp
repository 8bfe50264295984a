#include "http.hpp"

#include <new>
#include <string>
#include <utility>

#include "http_headers.hpp"

namespace aio {

Http::~Http() {
  // close_all() has run on the loop thread; this only frees what a Loop
  // that never ran its stopping branch could have left, transfers before
  // the driver's multi handle.
  active_.clear();
}

bool Http::ensure_multi() {
  const bool fresh = !driver_.existing();
  if (!driver_.multi()) return false;
  if (fresh) apply_limits();
  return true;
}

void Http::set_limits(const HttpLimits& limits) {
  limits_ = limits;
  if (driver_.existing()) apply_limits();
}

void Http::apply_limits() {
  CURLM* multi = driver_.existing();
  curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, limits_.total);
  curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, limits_.per_host);
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, limits_.idle);
}

void Http::complete(Completion c) noexcept {
  pending_.fetch_sub(1, std::memory_order_relaxed);
  try {
    out_.push(std::move(c));
  } catch (...) {
    // Out of memory for the queue itself: the completion is lost, the
    // loop lives on.
  }
}

void Http::deliver_events(Transfer* t) noexcept {
  try {
    std::vector<Completion> events = t->take_events();
    if (!events.empty()) out_.push_all(std::move(events));
  } catch (...) {
    // Out of memory: the events are lost; the transfer's end is not.
  }
}

void Http::deliver_all_events() noexcept {
  for (Transfer* t : eventful_) deliver_events(t);
}

void Http::ack(std::uint64_t id, std::uint64_t bytes) {
  auto it = active_.find(id);
  if (it == active_.end()) return;
  it->second->ack(bytes);
  deliver_events(it->second.get());
}

void Http::start_stream(std::uint64_t id, bool sse) {
  auto it = active_.find(id);
  if (it == active_.end()) return;
  it->second->start_stream(sse);
  deliver_events(it->second.get());
}

void Http::start(std::uint64_t id, HttpRequest request) {
  cancel(id);
  auto fail = [&](const std::string& message) {
    Completion c{id, Status::error, message};
    c.error_kind = http_error_kind_name(HttpErrorKind::other);
    complete(std::move(c));
  };
  if (!ensure_multi()) return fail("cannot start libcurl's multi handle");
  std::unique_ptr<Transfer> t;
  try {
    t = std::make_unique<Transfer>(id, std::move(request));
  } catch (const std::bad_alloc&) {
    return fail("out of memory");
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  if (t->refused()) return complete(*t->refused());
  // Into the table first: should that throw, the transfer is not yet
  // in the multi handle, so freeing it is safe.
  auto entry = active_.emplace(id, std::move(t)).first;
  Transfer* transfer = entry->second.get();
  if (transfer->has_events()) {
    try {
      eventful_.insert(transfer);
    } catch (...) {
      active_.erase(entry);
      return fail("out of memory");
    }
  }
  // add_handle calls on_timer (0: start soon), which arms the uv timer;
  // the transfer really begins in on_timeout, outside any curl call.
  CURLMcode rc = curl_multi_add_handle(driver_.existing(), transfer->easy());
  if (rc != CURLM_OK) {
    eventful_.erase(transfer);
    active_.erase(entry);
    return fail(curl_multi_strerror(rc));
  }
}

void Http::cancel(std::uint64_t id) {
  auto it = active_.find(id);
  if (it == active_.end()) return;
  std::unique_ptr<Transfer> t = std::move(it->second);
  active_.erase(it);
  eventful_.erase(t.get());
  // May call on_socket (REMOVE) and on_timer: both only rearrange watching.
  curl_multi_remove_handle(driver_.existing(), t->easy());
  t.reset();
  complete(Completion{id, Status::cancelled, {}});
}

void Http::close_all() {
  if (CURLM* multi = driver_.existing()) {
    for (auto& entry : active_) curl_multi_remove_handle(multi, entry.second->easy());
  }
  eventful_.clear();
  active_.clear();
  driver_.close();
  pending_.store(0, std::memory_order_relaxed);
}

void Http::after_curl() {
  // Events first: a transfer that just ended sends what it had before
  // its end.
  deliver_all_events();
  reap();
}

void Http::reap() {
  CURLM* multi = driver_.existing();
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    // Copy out of MSG first: remove_handle invalidates it.
    CURL* easy = msg->easy_handle;
    const CURLcode code = msg->data.result;
    Transfer* t = nullptr;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &t);
    Completion c;
    try {
      c = t->finish(code);
    } catch (...) {
      // Building the result ran out of memory: fail the transfer with
      // what needs none (a short kind name fits in the string itself).
      c = Completion(t->id(), Status::error);
      c.error_kind = http_error_kind_name(HttpErrorKind::too_large);
    }
    curl_multi_remove_handle(multi, easy);
    if (eventful_.erase(t)) deliver_events(t);
    active_.erase(t->id());
    complete(std::move(c));
  }
}

}  // namespace aio
