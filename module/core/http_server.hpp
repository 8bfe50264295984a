// The native HTTP server: the loop thread accepts connections, parses
// requests (Node's http_parser, as Debian packages it), enforces the
// limits, and hands Emacs each complete request as an event; Emacs
// answers with respond() and, for a streamed body, write() and end().
//
// A malformed or oversized request, a slow one, or one over the
// connection cap is answered (400, 408, 413, 417, 431, 501, 503, 505) by the loop
// thread and never reaches Emacs. A client that stops reading its
// response is dropped (see ServerLimits::request_timeout_ms). One
// request per connection is with Emacs at a time: bytes a client sends
// meanwhile (pipelining) wait.
//
// Events of server ID, each (KIND . DATA):
//   (request . [REQ METHOD TARGET VERSION HEADERS BODY REMOTE]): HEADERS
//     a vector [NAME VALUE ...] of the fields as received, BODY the
//     decoded body (chunked framing undone), REMOTE the peer's address.
//   (sent . [REQ BYTES]): BYTES more of a streamed body reached the
//     socket.
//   (closed . REQ): the connection of request REQ broke, or its client
//     went away or stopped reading, before its response was sent;
//     nothing more is sent for it.
// The server completes (cancelled) once stopped.
//
// Every method but the counters runs on the loop thread.
#pragma once

#include <uv.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "outbox.hpp"

namespace aio {

struct ServerLimits {
  std::size_t max_header_bytes = 16 * 1024;  // request line and fields
  std::uint64_t max_body_bytes = 8u << 20;
  // First byte to the end of the request (else 408). Also the send
  // timeout: a response with bytes waiting to go out whose socket takes
  // none of them for this long (a client that does not read) has its
  // connection reset, and Emacs told (closed) if the request is its.
  std::uint64_t request_timeout_ms = 30000;
  std::uint64_t keep_alive_ms = 5000;        // idle between requests
  std::size_t max_connections = 256;
};

// An answer from Emacs.
struct ServerResponse {
  enum class Body { bytes, file, stream };
  int status = 200;
  // Fields to send; Content-Length, Transfer-Encoding and Connection are
  // the server's to set and are dropped.
  std::vector<std::pair<std::string, std::string>> headers;
  Body kind = Body::bytes;
  std::string body;       // Body::bytes
  std::string file_path;  // Body::file: sent by the loop thread
};

class HttpServers {
 public:
  HttpServers(uv_loop_t* loop, Outbox& out) : loop_(loop), out_(out) {}
  ~HttpServers();
  HttpServers(const HttpServers&) = delete;
  HttpServers& operator=(const HttpServers&) = delete;

  // Serves on FD, a bound, listening, non-blocking socket (owned from
  // now on), as operation ID.
  void start(std::uint64_t id, int fd, const ServerLimits& limits);
  // Closes the socket and every connection; completes ID cancelled.
  void stop(std::uint64_t id);
  // The answer to request REQ of server ID. Ignored if the request's
  // connection is gone.
  void respond(std::uint64_t id, std::uint64_t req, ServerResponse response);
  // More of a streamed body, and its end.
  void write(std::uint64_t id, std::uint64_t req, std::string bytes);
  void end(std::uint64_t id, std::uint64_t req);
  // Drops request REQ's connection (a handler failed after its
  // streamed response began).
  void abort(std::uint64_t id, std::uint64_t req);
  void close_all();

  void note_submitted() { pending_.fetch_add(1, std::memory_order_relaxed); }
  void note_dropped() { pending_.fetch_sub(1, std::memory_order_relaxed); }
  std::int64_t pending() const { return pending_.load(std::memory_order_relaxed); }

  class Server;
  class Connection;

 private:
  friend class Server;
  void complete(Completion c) noexcept;
  void event(Completion c) noexcept;
  Server* find(std::uint64_t id);
  // The connection of request REQ of server ID; null once either is gone.
  Connection* connection(std::uint64_t id, std::uint64_t req);

  uv_loop_t* loop_;
  Outbox& out_;
  bool closed_ = false;
  std::unordered_map<std::uint64_t, Server*> servers_;
  std::atomic<std::int64_t> pending_{0};
};

// A listening socket on HOST (an IPv4 or IPv6 address) and PORT (0:
// a free one), non-blocking and close-on-exec, for HttpServers::start.
// Returns the descriptor and sets *BOUND to its port; or returns -1,
// with *ERR an errno value (EINVAL for a HOST that is no address) and
// *WHAT the step that failed.
int listen_socket(const std::string& host, int port, int* bound, int* err, const char** what);

// The response head for STATUS and HEADERS: a status line, the fields,
// and the framing the server adds (content_length >= 0: Content-Length;
// chunked: Transfer-Encoding: chunked; CONNECTION, if not null, the
// value of a Connection field).
std::string response_head(int status, const std::vector<std::pair<std::string, std::string>>& headers,
                          std::int64_t content_length, bool chunked, const char* connection);

// Whether a response with STATUS to METHOD carries a body.
bool response_has_body(int status, const std::string& method);

}  // namespace aio
