// The TLS connection engine: connections made and verified by libcurl
// on a multi handle of their own (not the HTTP engine's: connections
// kept open for the caller count in a multi handle's cache and would
// crowd out HTTP's idle ones), then carried on by TlsConnection.
//
// Every method but note_submitted(), note_dropped() and pending() runs on
// the loop thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "curl_driver.hpp"
#include "http_types.hpp"
#include "outbox.hpp"
#include "tls_connection.hpp"

namespace aio {

class TlsConnections {
 public:
  TlsConnections(uv_loop_t* loop, Outbox& out) : loop_(loop), out_(out), driver_(loop, [this] { reap(); }) {}
  ~TlsConnections();
  TlsConnections(const TlsConnections&) = delete;
  TlsConnections& operator=(const TlsConnections&) = delete;

  // Starts connecting as ID; see TlsConnection for what it reports.
  // Failures to start complete ID with Status::error.
  void connect(std::uint64_t id, const TlsRequest& request);
  // Sends BYTES on connection ID, as WRITE_ID. On a connection that is
  // gone, WRITE_ID fails at once.
  void write(std::uint64_t id, std::uint64_t write_id, std::string bytes);
  void cancel_write(std::uint64_t id, std::uint64_t write_id);
  void ack(std::uint64_t id, std::uint64_t bytes);
  // Closes connection ID at once; it completes as cancelled. An id not
  // open is ignored.
  void close(std::uint64_t id);
  // Shutdown: drops every connection without completing it.
  void close_all();

  // Counted from submission (any thread) to the final completion, of
  // connections and writes alike.
  void note_submitted() { pending_.fetch_add(1, std::memory_order_relaxed); }
  void note_dropped() { pending_.fetch_sub(1, std::memory_order_relaxed); }
  std::int64_t pending() const { return pending_.load(std::memory_order_relaxed); }

 private:
  void reap();
  // Sends what CONNECTION gathered; frees it if it ended.
  void deliver(TlsConnection* connection) noexcept;
  // Ends CONNECTION: no more watching, out of the multi handle, freed.
  void drop(std::unique_ptr<TlsConnection> connection) noexcept;
  void fail(std::uint64_t id, const std::string& message,
            HttpErrorKind kind = HttpErrorKind::other) noexcept;
  static void on_ready(void* self, TlsConnection* connection, int status, int events);

  uv_loop_t* loop_;
  Outbox& out_;
  CurlDriver driver_;
  std::unordered_map<std::uint64_t, std::unique_ptr<TlsConnection>> open_;
  std::atomic<std::int64_t> pending_{0};
};

}  // namespace aio
