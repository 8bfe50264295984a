// One TLS connection whose bytes are the caller's own: libcurl connects
// and verifies it (CURLOPT_CONNECT_ONLY, on the engine's multi handle),
// then this class moves bytes with curl_easy_recv and curl_easy_send
// whenever a uv_poll says the socket is ready. Loop thread only; owned
// by the engine (tls.hpp) from connect to its end.
//
// What it reports, as completions gathered for the engine to send:
// events "connected" and "chunk" (PAYLOAD the bytes received) under the
// connection's id, then one final completion: ok when the peer closed
// it, error when it broke or could not be made, cancelled when closed
// here. Each write, under its own id: ok once handed to the system in
// full, else as the connection ended.
#pragma once

#include <curl/curl.h>
#include <uv.h>

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "completion.hpp"

namespace aio {

struct TlsRequest {
  std::string host;     // the name the certificate must carry
  int port = 0;
  std::string address;  // the numeric address to connect to; empty: HOST's
  bool verify = true;   // check the certificate and the name
  std::string ca_file;  // certificates to trust instead of the system's
  // Most bytes received and not yet taken by the reader (see ack()):
  // beyond it the socket is not read, so that the peer waits.
  std::uint64_t window = 256 * 1024;
};

class TlsConnection {
 public:
  // Throws std::runtime_error when curl cannot make or set up the handle.
  TlsConnection(uv_loop_t* loop, std::uint64_t id, const TlsRequest& request);
  // Frees the handle: out of the multi handle, that closes the
  // connection (stop_watching() first).
  ~TlsConnection();
  TlsConnection(const TlsConnection&) = delete;
  TlsConnection& operator=(const TlsConnection&) = delete;

  std::uint64_t id() const { return id_; }
  CURL* easy() const { return easy_; }
  // Whether the connection ended: its final completion is among those
  // taken last, and the engine frees it.
  bool ended() const { return ended_; }

  // curl is done connecting with CODE: on success the bytes start to
  // move, else the connection ends with the failure.
  void connected(CURLcode code);
  // Queues BYTES to send after the writes before, as WRITE_ID.
  void write(std::uint64_t write_id, std::string bytes);
  // Write WRITE_ID completes as cancelled; nothing of it is sent, unless
  // its sending began (then all of it is: see cancel_write()).
  void cancel_write(std::uint64_t write_id);
  // The reader took BYTES: the socket is read again once there is room.
  void ack(std::uint64_t bytes);
  // Closed by its owner: every write not yet sent completes as
  // cancelled, and the connection as cancelled.
  void close();

  // Stops watching the socket, for good: call before the handle leaves
  // the multi handle, which closes the socket.
  void stop_watching();

  // The completions gathered since last asked, oldest first.
  std::vector<Completion> take() { return std::move(out_); }

  // Who hears of the socket's readiness: the engine, which moves bytes
  // with on_ready() and then sends what it gathered.
  using Ready = void (*)(void* owner, TlsConnection* connection, int status, int events);
  void set_ready(Ready ready, void* owner) { ready_ = ready, owner_ = owner; }
  // The socket is ready for EVENTS (UV_READABLE, UV_WRITABLE); a
  // negative STATUS is a poll failure.
  void on_ready(int status, int events);

 private:
  void setup(const TlsRequest& r);
  void read_some();
  void write_some();
  void watch();
  void end(Completion c);
  Completion failure(CURLcode code) const;
  void finish_writes(Status status, const std::string& message);
  void event(const char* kind, std::string payload = {});

  static curl_socket_t on_open_socket(void* self, curlsocktype purpose, curl_sockaddr* address);
  static void on_poll(uv_poll_t* poll, int status, int events);
  static void on_poll_closed(uv_handle_t* handle);

  struct Write {
    std::uint64_t id;
    std::string bytes;
    std::size_t sent = 0;
    bool started = false;    // handed to curl_easy_send at least once
    bool cancelled = false;  // completed already: dropped, or sent in full once started
  };

  uv_loop_t* loop_;
  std::uint64_t id_;
  CURL* easy_ = nullptr;
  curl_slist* resolve_ = nullptr;
  char errbuf_[CURL_ERROR_SIZE] = {};
  std::uint64_t window_;
  uv_poll_t* poll_ = nullptr;  // once connected; freed by its close callback
  int watching_ = 0;           // the events poll_ waits for
  bool ended_ = false;
  std::uint64_t unacked_ = 0;
  std::deque<Write> writes_;
  std::vector<Completion> out_;
  Ready ready_ = nullptr;
  void* owner_ = nullptr;
};

}  // namespace aio
