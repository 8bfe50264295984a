// The HTTP server's servers, and its connections' sockets and timers.
#include "http_server.hpp"

#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/sockios.h>  // SIOCOUTQ
#endif

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <utility>

#include "datum.hpp"
#include "http_server_conn.hpp"

namespace aio {

namespace {

// Bytes a connection reads ahead while a request is with Emacs (the
// next requests of a pipelining client); beyond, it stops reading.
constexpr std::size_t read_ahead_limit = 64 * 1024;

// How long, and for how many bytes, a connection that ends after its
// response keeps reading (and dropping) what its client still sends.
constexpr std::uint64_t linger_ms = 2000;
constexpr std::uint64_t linger_bytes = 8u << 20;

}  // namespace

int listen_socket(const std::string& host, int port, int* bound, int* err, const char** what) {
  sockaddr_storage address{};
  if (uv_ip4_addr(host.c_str(), port, reinterpret_cast<sockaddr_in*>(&address)) != 0 &&
      uv_ip6_addr(host.c_str(), port, reinterpret_cast<sockaddr_in6*>(&address)) != 0) {
    *err = EINVAL;
    *what = "Not an IP address";
    return -1;
  }
  const int fd = ::socket(address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *err = errno;
    *what = "Cannot create server socket";
    return -1;
  }
  const int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  const socklen_t size = address.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), size) != 0) {
    *err = errno;
    *what = "Cannot bind server socket";
    ::close(fd);
    return -1;
  }
  if (::listen(fd, 511) != 0) {
    *err = errno;
    *what = "Cannot listen on server socket";
    ::close(fd);
    return -1;
  }
  socklen_t len = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &len);
  *bound = ntohs(address.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&address)->sin_port
                                              : reinterpret_cast<sockaddr_in6*>(&address)->sin6_port);
  return fd;
}

// -- HttpServers -------------------------------------------------------------

HttpServers::~HttpServers() = default;

void HttpServers::complete(Completion c) noexcept {
  pending_.fetch_sub(1, std::memory_order_relaxed);
  try {
    out_.push(std::move(c));
  } catch (...) {
  }
}

void HttpServers::event(Completion c) noexcept {
  if (closed_) return;
  try {
    out_.push(std::move(c));
  } catch (...) {
  }
}

HttpServers::Server* HttpServers::find(std::uint64_t id) {
  auto it = servers_.find(id);
  return it == servers_.end() ? nullptr : it->second;
}

void HttpServers::start(std::uint64_t id, int fd, const ServerLimits& limits) {
  stop(id);
  if (closed_) {
    ::close(fd);
    return note_dropped();
  }
  Server* server = nullptr;
  try {
    server = new Server(this, id, limits);
    servers_.emplace(id, server);
  } catch (...) {
    delete server;
    ::close(fd);
    return complete(Completion{id, Status::error, "out of memory"});
  }
  std::string why;
  if (!server->open(fd, &why)) {
    servers_.erase(id);
    server->stop();
    complete(Completion{id, Status::error, why});
  }
}

void HttpServers::stop(std::uint64_t id) {
  Server* server = find(id);
  if (!server) return;
  servers_.erase(id);
  server->stop();
  complete(Completion{id, Status::cancelled});
}

void HttpServers::close_all() {
  if (closed_) return;
  closed_ = true;
  auto servers = std::move(servers_);
  servers_.clear();
  for (auto& entry : servers) entry.second->stop();
  pending_.store(0, std::memory_order_relaxed);
}

HttpServers::Connection* HttpServers::connection(std::uint64_t id, std::uint64_t req) {
  Server* s = find(id);
  return s ? s->connection_of(req) : nullptr;
}

namespace {

// Runs STEP on C, the connection of a request, unless it is gone. A
// step that fails half-way (no memory for a response's head) would leave
// its client waiting for ever: the connection is dropped instead.
template <typename Step>
void step_or_drop(HttpServers::Connection* c, Step step) {
  if (!c) return;
  try {
    step(*c);
  } catch (...) {
    c->close();
  }
}

}  // namespace

void HttpServers::respond(std::uint64_t id, std::uint64_t req, ServerResponse response) {
  step_or_drop(connection(id, req), [&](Connection& c) { c.respond(std::move(response)); });
}

void HttpServers::write(std::uint64_t id, std::uint64_t req, std::string bytes) {
  step_or_drop(connection(id, req), [&](Connection& c) { c.write_chunk(std::move(bytes)); });
}

void HttpServers::end(std::uint64_t id, std::uint64_t req) {
  step_or_drop(connection(id, req), [](Connection& c) { c.end_stream(); });
}

void HttpServers::abort(std::uint64_t id, std::uint64_t req) {
  if (Connection* c = connection(id, req)) c->close();
}

// -- Server ------------------------------------------------------------------

HttpServers::Server::Server(HttpServers* owner, std::uint64_t id, const ServerLimits& limits)
    : owner_(owner), id_(id), limits_(limits) {
  listener_.data = this;
}

bool HttpServers::Server::open(int fd, std::string* why) {
  int rc = uv_tcp_init(owner_->loop_, &listener_);
  if (rc < 0) {
    ::close(fd);
    *why = std::string("uv_tcp_init: ") + uv_strerror(rc);
    return false;
  }
  listening_ = true;  // a handle to close from now on
  rc = uv_tcp_open(&listener_, fd);
  if (rc < 0) {
    ::close(fd);
    *why = std::string("uv_tcp_open: ") + uv_strerror(rc);
    return false;
  }
  rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 511, &Server::on_connection);
  if (rc < 0) {
    *why = std::string("listen: ") + uv_strerror(rc);
    return false;
  }
  return true;
}

void HttpServers::Server::stop() {
  if (stopping_) return;
  stopping_ = true;
  // No copy (it could fail for memory, and this runs at shutdown too):
  // the iterator moves on before close(), which may take its connection
  // out of the set.
  for (auto it = connections_.begin(); it != connections_.end();) {
    Connection* c = *it++;
    c->close();
  }
  if (listening_) {
    uv_close(reinterpret_cast<uv_handle_t*>(&listener_), &Server::on_listener_closed);
  } else {
    maybe_delete();
  }
}

void HttpServers::Server::on_listener_closed(uv_handle_t* handle) {
  auto* self = static_cast<Server*>(handle->data);
  self->listening_ = false;
  self->maybe_delete();
}

void HttpServers::Server::maybe_delete() {
  if (stopping_ && !listening_ && connections_.empty()) delete this;
}

std::uint64_t HttpServers::Server::add_request(Connection* c) {
  const std::uint64_t req = next_request_++;
  requests_.emplace(req, c);
  return req;
}

HttpServers::Connection* HttpServers::Server::connection_of(std::uint64_t req) {
  auto it = requests_.find(req);
  return it == requests_.end() ? nullptr : it->second;
}

void HttpServers::Server::connection_closed(Connection* c) {
  connections_.erase(c);
  maybe_delete();
}

void HttpServers::Server::on_connection(uv_stream_t* listener, int status) {
  auto* self = static_cast<Server*>(listener->data);
  if (status < 0 || self->stopping_) return;
  // A libuv callback: nothing may escape.
  try {
    const bool refuse = self->connections_.size() >= self->limits_.max_connections;
    std::unique_ptr<Connection> c(new Connection(self, refuse));
    self->connections_.insert(c.get());
    c.release()->accept(listener);
  } catch (...) {
  }
}

// -- Connection: socket and timer --------------------------------------------

HttpServers::Connection::Connection(Server* server, bool refuse) : server_(server), refuse_(refuse) {
  tcp_.data = this;
  timer_.data = this;
  parser_.data = this;
  http_parser_init(&parser_, HTTP_REQUEST);
}

bool HttpServers::Connection::accept(uv_stream_t* listener) {
  uv_loop_t* loop = server_->owner()->loop_;
  uv_tcp_init(loop, &tcp_);
  uv_timer_init(loop, &timer_);
  holds_ = 2;
  if (uv_accept(listener, reinterpret_cast<uv_stream_t*>(&tcp_)) < 0) {
    close();
    return false;
  }
  // Responses go out in one write each, head and body: no need to wait
  // for more (Nagle would hold small ones back).
  uv_tcp_nodelay(&tcp_, 1);
  sockaddr_storage peer{};
  int len = sizeof peer;
  if (uv_tcp_getpeername(&tcp_, reinterpret_cast<sockaddr*>(&peer), &len) == 0) {
    char text[64] = {};
    if (peer.ss_family == AF_INET) {
      uv_ip4_name(reinterpret_cast<const sockaddr_in*>(&peer), text, sizeof text);
    } else if (peer.ss_family == AF_INET6) {
      uv_ip6_name(reinterpret_cast<const sockaddr_in6*>(&peer), text, sizeof text);
    }
    remote_ = text;
  }
  if (refuse_) {
    reject(503);
    return true;
  }
  arm_timer(server_->limits().keep_alive_ms);
  read_more();
  return true;
}

void HttpServers::Connection::read_more() {
  if (reading_ || state_ == State::closing) return;
  if (uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), &Connection::on_alloc, &Connection::on_read) == 0) {
    reading_ = true;
  }
}

void HttpServers::Connection::on_alloc(uv_handle_t*, std::size_t suggested, uv_buf_t* buf) {
  // libuv's own suggestion (64 KiB); nothing may throw here.
  buf->base = static_cast<char*>(std::malloc(suggested));
  buf->len = buf->base ? suggested : 0;
}

void HttpServers::Connection::on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<Connection*>(stream->data);
  try {
    if (nread > 0) {
      if (self->state_ == State::draining) {
        // Dropped; a client that keeps sending is not waited for.
        self->drained_ += static_cast<std::uint64_t>(nread);
        if (self->drained_ > linger_bytes) self->close();
      } else if (self->state_ == State::reading) {
        self->parse(buf->base, static_cast<std::size_t>(nread));
      } else if (self->state_ != State::closing) {
        // The next requests of a client that does not wait: kept, up to
        // a limit, for when this one is answered.
        self->unparsed_.append(buf->base, static_cast<std::size_t>(nread));
        if (self->unparsed_.size() > read_ahead_limit && self->reading_) {
          uv_read_stop(stream);
          self->reading_ = false;
        }
      }
    } else if (nread < 0) {
      // The client is gone (or says it will send nothing more, which
      // HTTP clients do only when they give up): a request of its still
      // with Emacs is abandoned, and Emacs told.
      self->close();
    }
  } catch (...) {
    self->close();
  }
  std::free(buf->base);
}

void HttpServers::Connection::send(std::string bytes, std::uint64_t stream_bytes) {
  if (state_ == State::closing) return;
  auto* w = new Write{uv_write_t{}, std::move(bytes), stream_bytes};
  w->req.data = w;
  const std::size_t size = w->data.size();
  uv_buf_t buf = uv_buf_init(w->data.data(), static_cast<unsigned>(size));
  if (uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&tcp_), &buf, 1, &Connection::on_write) < 0) {
    delete w;
    close();
    return;
  }
  ++writes_;
  ++holds_;
  queued_ += size;
  // While a response has bytes waiting, the timer is its send clock
  // (in this state it is nothing else's): started by the first of them.
  // (A 100 Continue goes out while reading, under the request timeout.)
  if (state_ == State::responding && !uv_is_active(reinterpret_cast<uv_handle_t*>(&timer_))) watch_send();
}

// How far the responses have got: the bytes given to uv_write less
// those libuv still holds (its write queue counts what is left of the
// writes under way, partial writes included) and those the kernel
// still holds, unsent or unacknowledged. The last makes a client that
// reads slowly show progress even while the send buffer, too full to
// take more, keeps libuv from writing.
std::uint64_t HttpServers::Connection::send_progress() const {
  std::uint64_t n = queued_ - uv_stream_get_write_queue_size(reinterpret_cast<const uv_stream_t*>(&tcp_));
#ifdef SIOCOUTQ
  uv_os_fd_t fd = -1;
  int outq = 0;
  if (uv_fileno(reinterpret_cast<const uv_handle_t*>(&tcp_), &fd) == 0 && ::ioctl(fd, SIOCOUTQ, &outq) == 0 &&
      outq > 0) {
    n -= std::min<std::uint64_t>(n, static_cast<std::uint64_t>(outq));
  }
#endif
  return n;
}

void HttpServers::Connection::watch_send() {
  progress_mark_ = send_progress();
  arm_timer(server_->limits().request_timeout_ms);
}

void HttpServers::Connection::emit_sent(std::uint64_t bytes) {
  Completion c{server_->id(), Status::event};
  c.error_kind = "sent";
  c.data = std::make_shared<const Datum>(
      Datum::vector({Datum::integer(static_cast<std::int64_t>(request_)), Datum::integer(static_cast<std::int64_t>(bytes))}));
  server_->owner()->event(std::move(c));
}

void HttpServers::Connection::on_write(uv_write_t* req, int status) {
  auto* w = static_cast<Write*>(req->data);
  auto* self = static_cast<Connection*>(req->handle->data);
  const std::uint64_t stream_bytes = w->stream_bytes;
  delete w;
  --self->writes_;
  try {
    if (status < 0) {
      self->close();
    } else if (self->state_ == State::responding) {
      // Progress: the send clock starts over, or stops while nothing
      // waits to go out (it is Emacs's turn, or the disk's).
      if (self->writes_ > 0) {
        self->watch_send();
      } else {
        uv_timer_stop(&self->timer_);
      }
      if (stream_bytes > 0 && self->request_) self->emit_sent(stream_bytes);
      if (self->file_ >= 0) {
        if (!self->fs_busy_ && self->file_left_ > 0) self->read_file();
      } else if (self->body_done_ && self->writes_ == 0) {
        self->finish_response();
      }
    }
  } catch (...) {
    self->close();
  }
  self->release();
}

void HttpServers::Connection::arm_timer(std::uint64_t ms) {
  if (state_ == State::closing) return;
  uv_timer_start(&timer_, &Connection::on_timer, ms, 0);
}

void HttpServers::Connection::on_timer(uv_timer_t* timer) {
  auto* self = static_cast<Connection*>(timer->data);
  try {
    if (self->state_ == State::draining) return self->close();
    if (self->state_ == State::responding) {
      if (self->writes_ == 0) return;
      // The client took some bytes since the clock started (part of a
      // large write, or of what the kernel holds): progress; it starts
      // over.
      if (self->send_progress() != self->progress_mark_) return self->watch_send();
      // A client that does not read (a slow-read attack holding a
      // connection): reset, which frees the kernel's copy of the rest
      // too. A request still with Emacs is cancelled (closed).
      return self->close(true);
    }
    if (self->state_ != State::reading) return;
    if (self->in_message_) {
      // Too slow (or a slowloris): the request took too long to come.
      self->reject(408);
    } else {
      self->close();  // idle keep-alive connection
    }
  } catch (...) {
    self->close();
  }
}

void HttpServers::Connection::reject(int status) {
  // The loop thread answers, and closes: whatever else the client sent
  // cannot be trusted to be framed.
  if (reading_) {
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
    reading_ = false;
  }
  uv_timer_stop(&timer_);
  std::string text = std::to_string(status) + " " + http_status_str(static_cast<http_status>(status)) + "\n";
  state_ = State::responding;
  close_after_ = true;
  body_done_ = true;
  send(response_head(status, {{"Content-Type", "text/plain; charset=utf-8"}},
                     static_cast<std::int64_t>(text.size()), false, "close") +
       text);
}

void HttpServers::Connection::finish_response() {
  if (request_) {
    server_->drop_request(request_);
    request_ = 0;
  }
  streaming_ = false;
  body_done_ = false;
  chunked_ = false;
  if (server_->stopping() || (close_after_ && refuse_)) {
    // A refused connection is not lingered on: under a flood of them,
    // descriptors matter more than the 503.
    close();
    return;
  }
  if (close_after_) {
    linger();
    return;
  }
  state_ = State::reading;
  arm_timer(server_->limits().keep_alive_ms);
  // What the client sent meanwhile: the next request, maybe whole.
  if (!unparsed_.empty()) {
    std::string pending;
    pending.swap(unparsed_);
    http_parser_pause(&parser_, 0);
    parse(pending.data(), pending.size());
  } else {
    http_parser_pause(&parser_, 0);
  }
  if (state_ == State::reading) read_more();
}

void HttpServers::Connection::linger() {
  state_ = State::draining;
  drained_ = 0;
  unparsed_.clear();
  if (uv_shutdown(&shutdown_, reinterpret_cast<uv_stream_t*>(&tcp_), &Connection::on_shutdown) < 0) {
    close();
    return;
  }
  ++holds_;
  arm_timer(linger_ms);
  read_more();
}

void HttpServers::Connection::on_shutdown(uv_shutdown_t* req, int status) {
  auto* self = static_cast<Connection*>(req->handle->data);
  if (status < 0) self->close();
  self->release();
}

// Runs in catch blocks too: it must not throw.
void HttpServers::Connection::close(bool reset) {
  if (state_ == State::closing) return;
  const bool open_request = request_ != 0;
  state_ = State::closing;
  if (open_request) {
    server_->drop_request(request_);
    try {
      Completion c{server_->id(), Status::event};
      c.error_kind = "closed";
      c.data = std::make_shared<const Datum>(Datum::integer(static_cast<std::int64_t>(request_)));
      server_->owner()->event(std::move(c));
    } catch (...) {
      // Out of memory: Emacs is not told, the connection goes anyway.
    }
    request_ = 0;
  }
  if (holds_ == 0) {
    // Never accepted into libuv: nothing refers to it.
    server_->connection_closed(this);
    delete this;
    return;
  }
  uv_timer_stop(&timer_);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), &Connection::on_closed);
  // A reset cannot follow a shutdown (draining); then it is a close.
  if (!reset || uv_tcp_close_reset(&tcp_, &Connection::on_closed) != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), &Connection::on_closed);
  }
  if (!fs_busy_) close_file();
}

void HttpServers::Connection::on_closed(uv_handle_t* handle) { static_cast<Connection*>(handle->data)->release(); }

void HttpServers::Connection::release() {
  if (--holds_ > 0) return;
  server_->connection_closed(this);
  delete this;
}

}  // namespace aio
