// What an HTTP request asks for and what comes back: plain data that
// crosses threads by value. No libcurl here, so the Emacs binding can
// build requests and read responses without knowing the engine.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace aio {

// Where a response's body goes.
enum class BodySink {
  memory,  // whole, in the final completion
  stream,  // in "chunk" events as it arrives, after a "headers" event
  file,    // into HttpRequest::file_path, written by the loop thread
};

struct HttpRequest {
  std::string url;
  std::string method = "GET";
  // Complete header lines, "Name: value", without CR or LF.
  std::vector<std::string> headers;
  // Request body bytes; absent means no body at all (not an empty one).
  std::optional<std::string> body;
  // Milliseconds; 0 means curl's default (connect: 300 s; total: none).
  long connect_timeout_ms = 0;
  long timeout_ms = 0;
  bool follow_redirects = true;
  long max_redirects = 20;
  bool verify_tls = true;
  // A file of certificates to trust instead of the system's; empty: those.
  std::string ca_file;
  // Absent: the environment's proxy settings, as curl reads them
  // (http_proxy, https_proxy, no_proxy...). An empty string: no proxy.
  std::optional<std::string> proxy;
  // Largest decoded body accepted, in bytes; 0 means no limit.
  std::uint64_t max_size = 0;

  BodySink sink = BodySink::memory;
  // For BodySink::file: where the body goes once complete.
  std::string file_path;
  // For BodySink::stream: most bytes handed over and not yet taken by
  // the reader (see Http::ack); beyond it the transfer is paused.
  std::uint64_t stream_window = 1u << 20;
  // For BodySink::stream: hold the body until Http::start_stream says
  // whether it goes as bytes or as parsed server-sent events.
  bool stream_waits = false;
  // A file whose bytes are the request body (instead of BODY).
  std::optional<std::string> upload_path;
  // Whether to send "progress" events (at most about ten a second).
  bool progress = false;
  // Seconds without a byte in either direction after which the transfer
  // fails as timed out; 0: none.
  long idle_timeout_s = 0;
  // A final status of 400 or more fails the transfer (kind "status"),
  // and no body is kept: a download does not save an error page.
  bool fail_on_error_status = false;
};

// Seconds from the start of the transfer, as curl measures them.
struct HttpTimings {
  double namelookup = 0;
  double connect = 0;
  double appconnect = 0;  // TLS handshake done (0 for plain http)
  double starttransfer = 0;
  double total = 0;
};

struct HttpResponse {
  long status = 0;
  std::string version;      // "1.0", "1.1", "2" or "3"
  std::string status_line;  // the final status line as received, no CRLF
  // The final response's header fields in order, names as received.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // decoded (curl undoes gzip, br, zstd, deflate)
  std::string url;   // the effective URL, after redirects
  // Absolute URLs of the redirects followed, oldest first.
  std::vector<std::string> redirects;
  HttpTimings timings;
  // True when curl undid a Content-Encoding: the body no longer matches
  // that header.
  bool decoded = false;
};

// Caps on the engine's connections, shared by every transfer. Each
// connection is a descriptor in Emacs's own table (soft limit 1024), so
// these stay well under it; transfers beyond them wait for a free slot.
struct HttpLimits {
  long total = 256;     // connections open at once, in use or idle
  long per_host = 64;   // of those, to one host
  long idle = 64;       // idle connections kept for reuse
};

// Why a transfer produced no response. The names are part of the
// contract with the Lisp side, which maps each to an error symbol.
enum class HttpErrorKind {
  resolve,
  connect,
  tls,
  timeout,
  too_many_redirects,
  protocol,
  too_large,
  // The server's reply is not HTTP curl can read: garbage, a bad status
  // line or version, a header too large, broken chunking or encoding.
  malformed,
  // No file descriptor was left for a new connection (EMFILE, ENFILE).
  descriptors,
  // A file to upload or download to could not be read or written.
  file,
  // The server answered with an error status (fail_on_error_status).
  status,
  other,
};

const char* http_error_kind_name(HttpErrorKind kind);

// Whether S is an HTTP token (RFC 9110), as a method or a field name
// must be: not empty, no control, space or separator.
bool is_http_token(std::string_view s);

}  // namespace aio
