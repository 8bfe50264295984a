#include "tls_connection.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <utility>

#include "http_transfer.hpp"
#include "http_types.hpp"

namespace aio {

namespace {

// Bytes asked of curl_easy_recv at once.
constexpr std::size_t read_size = 64 * 1024;

// HOST as a URL's authority wants it: an IPv6 address in brackets.
std::string url_host(const std::string& host) {
  return host.find(':') == std::string::npos ? host : "[" + host + "]";
}

}  // namespace

TlsConnection::TlsConnection(uv_loop_t* loop, std::uint64_t id, const TlsRequest& request)
    : loop_(loop), id_(id), window_(request.window) {
  easy_ = curl_easy_init();
  if (!easy_) throw std::runtime_error("curl_easy_init failed");
  try {
    setup(request);
  } catch (...) {
    curl_easy_cleanup(easy_);
    curl_slist_free_all(resolve_);
    throw;
  }
}

TlsConnection::~TlsConnection() {
  stop_watching();
  curl_easy_cleanup(easy_);
  curl_slist_free_all(resolve_);
}

void TlsConnection::stop_watching() {
  if (!poll_) return;
  // Out of epoll now: the socket's number may be reused once curl
  // closes it, before on_poll_closed.
  uv_poll_stop(poll_);
  uv_close(reinterpret_cast<uv_handle_t*>(poll_), &TlsConnection::on_poll_closed);
  poll_ = nullptr;
}

void TlsConnection::setup(const TlsRequest& r) {
  auto check = [](CURLcode rc, const char* what) {
    if (rc != CURLE_OK) throw std::runtime_error(std::string(what) + ": " + curl_easy_strerror(rc));
  };
  const std::string authority = url_host(r.host) + ":" + std::to_string(r.port);
  check(curl_easy_setopt(easy_, CURLOPT_URL, ("https://" + authority + "/").c_str()), "URL");
  // Connect, shake hands, verify, and stop there: the bytes are ours.
  check(curl_easy_setopt(easy_, CURLOPT_CONNECT_ONLY, 1L), "CONNECT_ONLY");
  check(curl_easy_setopt(easy_, CURLOPT_PRIVATE, this), "PRIVATE");
  check(curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L), "NOSIGNAL");
  check(curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, errbuf_), "ERRORBUFFER");
  check(curl_easy_setopt(easy_, CURLOPT_OPENSOCKETFUNCTION, &TlsConnection::on_open_socket), "OPENSOCKETFUNCTION");
  check(curl_easy_setopt(easy_, CURLOPT_OPENSOCKETDATA, this), "OPENSOCKETDATA");
  check(curl_easy_setopt(easy_, CURLOPT_PROTOCOLS_STR, "https"), "PROTOCOLS_STR");
  // A TCP connection goes to its peer: no proxy from the environment,
  // and no HTTP offered in the handshake (ALPN) to a server of another
  // protocol.
  check(curl_easy_setopt(easy_, CURLOPT_PROXY, ""), "PROXY");
  check(curl_easy_setopt(easy_, CURLOPT_SSL_ENABLE_ALPN, 0L), "SSL_ENABLE_ALPN");
  check(curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYPEER, r.verify ? 1L : 0L), "SSL_VERIFYPEER");
  check(curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYHOST, r.verify ? 2L : 0L), "SSL_VERIFYHOST");
  if (!r.ca_file.empty()) check(curl_easy_setopt(easy_, CURLOPT_CAINFO, r.ca_file.c_str()), "CAINFO");
  if (!r.address.empty() && r.address != r.host) {
    // The address Lisp looked up, while the certificate is checked
    // against the name.
    const std::string entry = authority + ":" + url_host(r.address);
    resolve_ = curl_slist_append(nullptr, entry.c_str());
    if (!resolve_) throw std::bad_alloc();
    check(curl_easy_setopt(easy_, CURLOPT_RESOLVE, resolve_), "RESOLVE");
  }
}

curl_socket_t TlsConnection::on_open_socket(void*, curlsocktype, curl_sockaddr* address) {
  // Close-on-exec from birth, as every descriptor of the module.
  const int fd = ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
  return fd < 0 ? CURL_SOCKET_BAD : fd;
}

Completion TlsConnection::failure(CURLcode code) const {
  Completion c{id_, Status::error, errbuf_[0] ? std::string(errbuf_) : std::string(curl_easy_strerror(code))};
  c.error_kind = http_error_kind_name(http_error_kind(code));
  return c;
}

void TlsConnection::event(const char* kind, std::string payload) {
  Completion c{id_, Status::event, std::move(payload)};
  c.error_kind = kind;
  out_.push_back(std::move(c));
}

void TlsConnection::connected(CURLcode code) {
  if (code != CURLE_OK) return end(failure(code));
  curl_socket_t fd = CURL_SOCKET_BAD;
  if (curl_easy_getinfo(easy_, CURLINFO_ACTIVESOCKET, &fd) != CURLE_OK || fd == CURL_SOCKET_BAD) {
    return end(Completion{id_, Status::error, "libcurl kept no socket for the connection"});
  }
  auto poll = std::make_unique<uv_poll_t>();
  if (uv_poll_init_socket(loop_, poll.get(), fd) < 0) {
    return end(Completion{id_, Status::error, "cannot watch the connection's socket"});
  }
  poll_ = poll.release();
  poll_->data = this;
  event("connected");
  // The handshake may have brought the peer's first bytes along.
  read_some();
  write_some();
  watch();
}

void TlsConnection::write(std::uint64_t write_id, std::string bytes) {
  if (ended_) {
    out_.push_back(Completion{write_id, Status::error, "Connection closed"});
    return;
  }
  writes_.push_back(Write{write_id, std::move(bytes)});
  if (!poll_) return;  // not connected yet: sent once it is
  write_some();
  watch();
}

void TlsConnection::cancel_write(std::uint64_t write_id) {
  // Marked, never erased: erasing moves the writes before it, and the
  // one being sent must stay where it is, since the TLS library must be
  // handed the same buffer again (libcurl does not let it move). A write
  // not begun is dropped when its turn comes; one begun goes out in full,
  // unannounced: the TLS library may hold records made of it.
  for (Write& w : writes_) {
    if (w.id != write_id || w.cancelled) continue;
    out_.push_back(Completion{write_id, Status::cancelled});
    w.cancelled = true;
    break;
  }
}

void TlsConnection::ack(std::uint64_t bytes) {
  unacked_ -= std::min(bytes, unacked_);
  if (!poll_ || ended_) return;
  // Bytes the TLS library decrypted already wait there, not on the
  // socket: read them now, not when the peer sends more.
  read_some();
  watch();
}

void TlsConnection::close() {
  if (ended_) return;
  ended_ = true;
  finish_writes(Status::cancelled, {});
  out_.push_back(Completion{id_, Status::cancelled});
}

void TlsConnection::end(Completion c) {
  if (ended_) return;
  ended_ = true;
  finish_writes(Status::error, c.status == Status::error ? c.payload : std::string("Connection closed"));
  out_.push_back(std::move(c));
}

void TlsConnection::finish_writes(Status status, const std::string& message) {
  for (Write& w : writes_) {
    if (!w.cancelled) out_.push_back(Completion{w.id, status, message});
  }
  writes_.clear();
}

void TlsConnection::read_some() {
  std::string chunk;
  bool peer_closed = false;
  while (!peer_closed && !ended_ && unacked_ < window_) {
    const std::size_t had = chunk.size();
    chunk.resize(had + read_size);
    std::size_t n = 0;
    const CURLcode rc = curl_easy_recv(easy_, chunk.data() + had, read_size, &n);
    chunk.resize(had + (rc == CURLE_OK ? n : 0));
    if (rc == CURLE_AGAIN) break;
    if (rc != CURLE_OK) {
      if (!chunk.empty()) event("chunk", std::move(chunk));
      return end(failure(rc));
    }
    peer_closed = n == 0;
    unacked_ += n;
  }
  if (!chunk.empty()) event("chunk", std::move(chunk));
  // The peer closed: so does the connection, as a TCP one of Emacs's
  // would, writes not yet sent failing. Nothing stays open for want of
  // a close.
  if (peer_closed) end(Completion{id_, Status::ok});
}

void TlsConnection::write_some() {
  while (!writes_.empty() && !ended_) {
    Write& w = writes_.front();
    if (w.cancelled && !w.started) {
      writes_.pop_front();
      continue;
    }
    if (w.sent < w.bytes.size()) {
      w.started = true;
      std::size_t n = 0;
      const CURLcode rc = curl_easy_send(easy_, w.bytes.data() + w.sent, w.bytes.size() - w.sent, &n);
      if (rc == CURLE_AGAIN) return;
      if (rc != CURLE_OK) return end(failure(rc));
      w.sent += n;
      if (w.sent < w.bytes.size()) continue;
    }
    if (!w.cancelled) out_.push_back(Completion{w.id, Status::ok});
    writes_.pop_front();
  }
}

void TlsConnection::watch() {
  if (!poll_ || ended_) return;
  int events = 0;
  if (unacked_ < window_) events |= UV_READABLE;
  if (!writes_.empty()) events |= UV_WRITABLE;
  if (events == watching_) return;
  watching_ = events;
  if (events == 0) {
    uv_poll_stop(poll_);
  } else {
    uv_poll_start(poll_, events, &TlsConnection::on_poll);
  }
}

void TlsConnection::on_ready(int status, int events) {
  if (ended_) return;
  if (status < 0) return end(Completion{id_, Status::error, uv_strerror(status)});
  // Writable first: a peer that waits for our bytes before it answers.
  if (events & UV_WRITABLE) write_some();
  if (events & UV_READABLE) read_some();
  watch();
}

void TlsConnection::on_poll(uv_poll_t* poll, int status, int events) {
  auto* self = static_cast<TlsConnection*>(poll->data);
  try {
    if (self->ready_) self->ready_(self->owner_, self, status, events);
  } catch (...) {
    // libuv's callbacks are C: nothing may escape them.
  }
}

void TlsConnection::on_poll_closed(uv_handle_t* handle) { delete reinterpret_cast<uv_poll_t*>(handle); }

}  // namespace aio
