// The parts of the HTTP server (http_server.hpp): a listening Server and
// its Connections. Internal to http_server*.cpp.
#pragma once

#include <http_parser.h>
#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "http_server.hpp"

namespace aio {

class HttpServers::Server {
 public:
  Server(HttpServers* owner, std::uint64_t id, const ServerLimits& limits);
  // Starts listening on FD; false (FD closed) on failure.
  bool open(int fd, std::string* why);
  // Closes the listener and every connection; deletes itself once all
  // are closed.
  void stop();

  std::uint64_t id() const { return id_; }
  const ServerLimits& limits() const { return limits_; }
  bool stopping() const { return stopping_; }
  HttpServers* owner() const { return owner_; }

  // A request handed to Emacs, and the connection that waits for its
  // answer.
  std::uint64_t add_request(Connection* c);
  void drop_request(std::uint64_t req) { requests_.erase(req); }
  Connection* connection_of(std::uint64_t req);
  void connection_closed(Connection* c);

 private:
  static void on_connection(uv_stream_t* listener, int status);
  static void on_listener_closed(uv_handle_t* handle);
  void maybe_delete();

  HttpServers* owner_;
  std::uint64_t id_;
  ServerLimits limits_;
  uv_tcp_t listener_{};
  bool listening_ = false;
  bool stopping_ = false;
  std::unordered_set<Connection*> connections_;
  std::unordered_map<std::uint64_t, Connection*> requests_;
  std::uint64_t next_request_ = 1;
};

class HttpServers::Connection {
 public:
  // REFUSE: over the connection cap, answer 503 and close.
  Connection(Server* server, bool refuse);
  // Accepts from the server's LISTENER; false if that failed (then
  // close() has been called).
  bool accept(uv_stream_t* listener);
  // Closes the socket (RESET: abortively, dropping what the kernel
  // still holds to send); the object deletes itself when nothing of
  // libuv refers to it any more. Tells Emacs if a request of its is
  // still open.
  void close(bool reset = false);

  // Emacs's side.
  void respond(ServerResponse response);
  void write_chunk(std::string bytes);
  void end_stream();

 private:
  // draining: the last response went out and the write side is shut
  // down; what the client still sends is read and dropped for a while,
  // so that closing with unread bytes (a reset) cannot destroy the
  // response before the client has read it.
  enum class State { reading, handling, responding, draining, closing };

  // Parsing (http_server_parse.cpp).
  static int on_message_begin(http_parser* p);
  static int on_url(http_parser* p, const char* at, std::size_t n);
  static int on_header_field(http_parser* p, const char* at, std::size_t n);
  static int on_header_value(http_parser* p, const char* at, std::size_t n);
  static int on_headers_complete(http_parser* p);
  static int on_body(http_parser* p, const char* at, std::size_t n);
  static int on_message_complete(http_parser* p);
  // Runs STEP, part of a parser callback, which is called from C:
  // nothing may escape. A STEP that throws (no memory) ends the request
  // with a 500. Returns STEP's result, -1 after a throw.
  template <typename Step>
  int guarded(Step step);
  static const http_parser_settings settings;
  bool count_header_bytes(std::size_t n);
  int check_head(http_parser* p);
  void parse(const char* data, std::size_t n);
  void hand_over();

  // The socket.
  static void on_alloc(uv_handle_t* handle, std::size_t suggested, uv_buf_t* buf);
  static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void on_write(uv_write_t* req, int status);
  static void on_timer(uv_timer_t* timer);
  static void on_closed(uv_handle_t* handle);
  static void on_shutdown(uv_shutdown_t* req, int status);
  // A write under way and the bytes it holds; STREAM_BYTES of them
  // are a streamed body's, reported to Emacs once written.
  struct Write {
    uv_write_t req;
    std::string data;
    std::uint64_t stream_bytes;
  };

  void read_more();
  void send(std::string bytes, std::uint64_t stream_bytes = 0);
  void emit_sent(std::uint64_t bytes);
  void reject(int status);
  void arm_timer(std::uint64_t ms);
  // The send timeout: (re)starts the timer from now, with the progress
  // so far as the mark to make progress from.
  void watch_send();
  std::uint64_t send_progress() const;
  void finish_response();
  void linger();
  void release();

  // Responses (http_server_response.cpp).
  void send_file(const std::string& path, int status, std::vector<std::pair<std::string, std::string>> headers);
  static void on_file_open(uv_fs_t* req);
  static void on_file_stat(uv_fs_t* req);
  static void on_file_read(uv_fs_t* req);
  void read_file();
  void file_failed(int err);
  void close_file();

  Server* server_;
  bool refuse_;
  uv_tcp_t tcp_{};
  uv_timer_t timer_{};
  uv_shutdown_t shutdown_{};
  http_parser parser_{};
  int holds_ = 0;  // libuv handles and requests that still point here
  State state_ = State::reading;
  bool reading_ = false;  // uv_read_start is in effect
  std::string remote_;

  // The request being read.
  bool in_message_ = false;
  std::string method_, target_;
  std::vector<std::string> fields_;  // name, value, name, value...
  bool last_was_value_ = false;
  bool headers_done_ = false;  // what follows are trailers: not kept
  std::string body_;
  std::size_t header_bytes_ = 0;
  int reject_status_ = 0;
  bool keep_alive_ = true;
  bool http10_ = false;
  std::string unparsed_;  // read while a request is with Emacs

  // The request with Emacs, and its response.
  std::uint64_t request_ = 0;
  bool head_only_ = false;
  bool close_after_ = false;
  bool chunked_ = false;
  ServerResponse::Body kind_ = ServerResponse::Body::bytes;
  bool streaming_ = false;   // a streamed body is being written
  bool body_done_ = false;   // nothing more of the body will be sent
  std::uint64_t drained_ = 0;  // bytes dropped while draining
  std::size_t writes_ = 0;   // uv_writes under way
  std::uint64_t queued_ = 0;        // bytes ever given to uv_write
  std::uint64_t progress_mark_ = 0;  // send_progress() when the send clock started

  // A file body.
  uv_fs_t fs_{};
  bool fs_busy_ = false;  // fs_ is under way
  uv_file file_ = -1;
  std::uint64_t file_left_ = 0;
  std::vector<char> file_buffer_;
  int file_status_ = 200;
  std::vector<std::pair<std::string, std::string>> file_headers_;
};

}  // namespace aio
