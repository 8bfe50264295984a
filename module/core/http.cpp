#include "http.hpp"

#include <mutex>
#include <new>
#include <string>
#include <utility>

#include "cloexec.hpp"
#include "http_headers.hpp"

namespace aio {

namespace {

std::once_flag curl_initialised;

}  // namespace

Http::~Http() {
  // close_all() has run on the loop thread; this only frees what a Loop
  // that never ran its stopping branch could have left.
  active_.clear();
  if (multi_) curl_multi_cleanup(multi_);
}

bool Http::ensure_multi() {
  if (multi_) return true;
  if (closed_) return false;
  std::call_once(curl_initialised, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  multi_ = curl_multi_init();
  if (!multi_) return false;
  // Its wake-up socketpair is inheritable; see cloexec.hpp.
  close_inheritable_sockets();
  uv_timer_init(loop_, &timer_);
  timer_.data = this;
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &Http::on_socket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &Http::on_timer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  apply_limits();
  return true;
}

void Http::set_limits(const HttpLimits& limits) {
  limits_ = limits;
  if (multi_) apply_limits();
}

void Http::apply_limits() {
  curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS, limits_.total);
  curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, limits_.per_host);
  curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, limits_.idle);
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
  CURLMcode rc = curl_multi_add_handle(multi_, transfer->easy());
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
  curl_multi_remove_handle(multi_, t->easy());
  t.reset();
  complete(Completion{id, Status::cancelled, {}});
}

void Http::close_all() {
  if (closed_) return;
  closed_ = true;
  if (!multi_) return;
  for (auto& entry : active_) curl_multi_remove_handle(multi_, entry.second->easy());
  eventful_.clear();
  active_.clear();
  // Closes cached connections, which may report their sockets through
  // on_socket; with multi_ already null it only unwatches them.
  CURLM* multi = multi_;
  multi_ = nullptr;
  curl_multi_cleanup(multi);
  // Whatever curl did not hand back is ours to close.
  while (!sockets_.empty()) unwatch(*sockets_.begin());
  uv_timer_stop(&timer_);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
  pending_.store(0, std::memory_order_relaxed);
}

void Http::act(curl_socket_t fd, int events) {
  if (!multi_) return;
  int running = 0;
  curl_multi_socket_action(multi_, fd, events, &running);
  // Events first: a transfer that just ended sends what it had before
  // its end.
  deliver_all_events();
  reap();
}

void Http::reap() {
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
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
    curl_multi_remove_handle(multi_, easy);
    if (eventful_.erase(t)) deliver_events(t);
    active_.erase(t->id());
    complete(std::move(c));
  }
}

void Http::unwatch(Socket* s) {
  sockets_.erase(s);
  // uv_poll_stop drops the fd from epoll at once, so curl may close it
  // (and reuse its number for a new poll handle) before on_socket_closed.
  uv_poll_stop(&s->poll);
  uv_close(reinterpret_cast<uv_handle_t*>(&s->poll), &Http::on_socket_closed);
}

int Http::on_socket(CURL*, curl_socket_t fd, int what, void* self_p, void* socketp) {
  try {
    return static_cast<Http*>(self_p)->watch(fd, what, static_cast<Socket*>(socketp));
  } catch (...) {
    return -1;  // curl fails the transfers on this socket
  }
}

int Http::watch(curl_socket_t fd, int what, Socket* s) {
  if (what == CURL_POLL_REMOVE) {
    if (s) {
      if (multi_) curl_multi_assign(multi_, fd, nullptr);
      unwatch(s);
    }
    return 0;
  }
  if (!s) {
    // Sockets made by Transfer::on_open_socket are close-on-exec already.
    // Another is one end of a threaded name lookup's socketpair, whose
    // other end curl keeps to itself: mark both.
    if (!is_close_on_exec(fd)) close_inheritable_sockets();
    auto fresh = std::make_unique<Socket>();
    fresh->fd = fd;
    fresh->owner = this;
    sockets_.insert(fresh.get());  // may throw: FRESH still owns it
    if (uv_poll_init_socket(loop_, &fresh->poll, fd) < 0) {
      sockets_.erase(fresh.get());
      return -1;
    }
    fresh->poll.data = fresh.get();
    s = fresh.release();
    curl_multi_assign(multi_, fd, s);
  }
  int events = 0;
  if (what & CURL_POLL_IN) events |= UV_READABLE;
  if (what & CURL_POLL_OUT) events |= UV_WRITABLE;
  uv_poll_start(&s->poll, events, &Http::on_poll);
  return 0;
}

int Http::on_timer(CURLM*, long timeout_ms, void* self_p) {
  auto* self = static_cast<Http*>(self_p);
  // -1: no timeout wanted. 0 included, anything else (re)arms the timer:
  // curl is then called back on the next loop iteration, never from here.
  if (timeout_ms < 0) {
    uv_timer_stop(&self->timer_);
  } else {
    uv_timer_start(&self->timer_, &Http::on_timeout, static_cast<std::uint64_t>(timeout_ms), 0);
  }
  return 0;
}

void Http::on_poll(uv_poll_t* poll, int status, int events) {
  auto* s = static_cast<Socket*>(poll->data);
  int flags = 0;
  if (status < 0) {
    flags = CURL_CSELECT_ERR;
  } else {
    if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
  }
  // S may be closed during act(); read what we need first.
  Http* owner = s->owner;
  try {
    owner->act(s->fd, flags);
  } catch (...) {
    // libuv's callbacks are C too; see Transfer::on_header.
  }
}

void Http::on_timeout(uv_timer_t* timer) {
  try {
    static_cast<Http*>(timer->data)->act(CURL_SOCKET_TIMEOUT, 0);
  } catch (...) {
  }
}

void Http::on_socket_closed(uv_handle_t* handle) { delete static_cast<Socket*>(handle->data); }

}  // namespace aio
