#include "curl_driver.hpp"

#include <memory>
#include <mutex>

#include "cloexec.hpp"

namespace aio {

namespace {

std::once_flag curl_initialised;

}  // namespace

CurlDriver::~CurlDriver() {
  // close() has run on the loop thread; this only frees what a Loop that
  // never ran its stopping branch could have left.
  if (multi_) curl_multi_cleanup(multi_);
}

CURLM* CurlDriver::multi() {
  if (multi_ || closed_) return multi_;
  std::call_once(curl_initialised, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  multi_ = curl_multi_init();
  if (!multi_) return nullptr;
  // Its wake-up socketpair is inheritable; see cloexec.hpp.
  close_inheritable_sockets();
  uv_timer_init(loop_, &timer_);
  timer_.data = this;
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlDriver::on_socket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlDriver::on_timer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  return multi_;
}

void CurlDriver::close() {
  if (closed_) return;
  closed_ = true;
  if (!multi_) return;
  // Closes cached connections, which may report their sockets through
  // on_socket; with multi_ already null it only unwatches them.
  CURLM* multi = multi_;
  multi_ = nullptr;
  curl_multi_cleanup(multi);
  // Whatever curl did not hand back is ours to close.
  while (!sockets_.empty()) unwatch(*sockets_.begin());
  uv_timer_stop(&timer_);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
}

void CurlDriver::act(curl_socket_t fd, int events) {
  if (!multi_) return;
  int running = 0;
  curl_multi_socket_action(multi_, fd, events, &running);
  after_();
}

void CurlDriver::unwatch(Socket* s) {
  sockets_.erase(s);
  // uv_poll_stop drops the fd from epoll at once, so curl may close it
  // (and reuse its number for a new poll handle) before on_socket_closed.
  uv_poll_stop(&s->poll);
  uv_close(reinterpret_cast<uv_handle_t*>(&s->poll), &CurlDriver::on_socket_closed);
}

int CurlDriver::on_socket(CURL*, curl_socket_t fd, int what, void* self_p, void* socketp) {
  try {
    return static_cast<CurlDriver*>(self_p)->watch(fd, what, static_cast<Socket*>(socketp));
  } catch (...) {
    return -1;  // curl fails the transfers on this socket
  }
}

int CurlDriver::watch(curl_socket_t fd, int what, Socket* s) {
  if (what == CURL_POLL_REMOVE) {
    if (s) {
      if (multi_) curl_multi_assign(multi_, fd, nullptr);
      unwatch(s);
    }
    return 0;
  }
  if (!s) {
    // Sockets made by the engines' open-socket callbacks are
    // close-on-exec already. Another is one end of a threaded name
    // lookup's socketpair, whose other end curl keeps to itself: mark both.
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
  uv_poll_start(&s->poll, events, &CurlDriver::on_poll);
  return 0;
}

int CurlDriver::on_timer(CURLM*, long timeout_ms, void* self_p) {
  auto* self = static_cast<CurlDriver*>(self_p);
  // -1: no timeout wanted. 0 included, anything else (re)arms the timer:
  // curl is then called back on the next loop iteration, never from here.
  if (timeout_ms < 0) {
    uv_timer_stop(&self->timer_);
  } else {
    uv_timer_start(&self->timer_, &CurlDriver::on_timeout, static_cast<std::uint64_t>(timeout_ms), 0);
  }
  return 0;
}

void CurlDriver::on_poll(uv_poll_t* poll, int status, int events) {
  auto* s = static_cast<Socket*>(poll->data);
  int flags = 0;
  if (status < 0) {
    flags = CURL_CSELECT_ERR;
  } else {
    if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
  }
  // S may be closed during act(); read what we need first.
  CurlDriver* owner = s->owner;
  try {
    owner->act(s->fd, flags);
  } catch (...) {
    // libuv's callbacks are C: nothing may escape them.
  }
}

void CurlDriver::on_timeout(uv_timer_t* timer) {
  try {
    static_cast<CurlDriver*>(timer->data)->act(CURL_SOCKET_TIMEOUT, 0);
  } catch (...) {
  }
}

void CurlDriver::on_socket_closed(uv_handle_t* handle) { delete static_cast<Socket*>(handle->data); }

}  // namespace aio
