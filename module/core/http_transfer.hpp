// One HTTP transfer: a curl easy handle set up from an HttpRequest, and
// the response its callbacks collect. Lives on the loop thread, owned by
// the engine (http.hpp) from start to completion or cancellation.
#pragma once

#include <curl/curl.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "completion.hpp"
#include "http_files.hpp"
#include "http_types.hpp"
#include "sse.hpp"

namespace aio {

class Transfer {
 public:
  // Throws std::runtime_error when curl cannot make or set up the handle.
  Transfer(std::uint64_t id, HttpRequest request);
  ~Transfer();
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;

  std::uint64_t id() const { return id_; }
  CURL* easy() const { return easy_; }

  // An error found before any network work (a host under .invalid), to
  // be reported instead of starting the transfer.
  const std::optional<Completion>& refused() const { return refused_; }

  // The completion for curl's result CODE; call once, while the handle
  // is still attached (it reads the handle's info).
  Completion finish(CURLcode code);

  // Whether this transfer sends events (a streamed body, progress).
  bool has_events() const { return request_.sink == BodySink::stream || request_.progress; }
  // The events gathered since last asked, oldest first: the headers of a
  // streamed response, the bytes of its body that arrived (one "chunk"),
  // the latest progress.
  std::vector<Completion> take_events();
  // The reader took BYTES of a streamed body: resumes a paused transfer
  // once there is room again. May call on_body at once.
  void ack(std::uint64_t bytes);
  // Lets a streamed body held by HttpRequest::stream_waits go: as
  // "chunk" events, or with SSE, as "sse" events of parsed server-sent
  // events. May call on_body at once.
  void start_stream(bool sse);

 private:
  static std::size_t on_header(char* data, std::size_t size, std::size_t n, void* self);
  static std::size_t on_body(char* data, std::size_t size, std::size_t n, void* self);
  static curl_socket_t on_open_socket(void* self, curlsocktype purpose, curl_sockaddr* address);
  static int on_progress(void* self, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                         curl_off_t ulnow);
  static std::size_t on_upload(char* buffer, std::size_t size, std::size_t n, void* self);
  static int on_upload_seek(void* self, curl_off_t offset, int origin);
  std::size_t take_body(const char* data, std::size_t len);
  void setup_body();
  void headers_event();
  void flush_chunk();
  void flush_sse();
  Completion event(const char* kind) const;
  bool header_line(std::string_view line);
  bool end_of_block();
  Completion error(HttpErrorKind kind, std::string message) const;
  // The body went over request_.max_size.
  Completion too_large() const;
  Completion failure(CURLcode code) const;
  void setup();

  std::uint64_t id_;
  HttpRequest request_;
  CURL* easy_ = nullptr;
  curl_slist* header_list_ = nullptr;
  char errbuf_[CURL_ERROR_SIZE] = {};

  std::unique_ptr<HttpResponse> response_ = std::make_unique<HttpResponse>();
  long block_status_ = 0;     // status of the header block being read
  std::string current_url_;   // the URL the block being read answers
  std::optional<Completion> refused_;
  // Set by a callback that aborts the transfer: it overrides curl's
  // CURLE_WRITE_ERROR with the real reason.
  std::optional<Completion> aborted_;
  // Set by callbacks without allocating, since memory may be what ran
  // out: the body size at which an allocation failed (0: none)...
  std::uint64_t out_of_memory_at_ = 0;
  // ...whether the final response's header block was read whole...
  bool final_headers_ = false;
  // ...and whether a socket could not be made for want of descriptors.
  bool no_descriptor_ = false;

  // Bodies that are not kept in memory (see http_sinks.cpp).
  std::unique_ptr<DownloadFile> download_;
  std::unique_ptr<UploadFile> upload_;
  std::string chunk_;           // streamed bytes not yet made an event
  // How a streamed body goes: held, as bytes, or parsed as events.
  enum class StreamMode { held, bytes, sse } mode_ = StreamMode::bytes;
  SseParser sse_;
  std::vector<SseEvent> sse_batch_;  // events not yet made an event
  std::uint64_t sse_bytes_ = 0;      // the body bytes they took
  std::uint64_t unacked_ = 0;   // streamed bytes handed over, not yet taken
  bool paused_ = false;         // on_body said CURL_WRITEFUNC_PAUSE
  std::vector<Completion> events_;
  std::optional<Completion> progress_;
  std::chrono::steady_clock::time_point last_progress_{};
};

// The kind of failure curl's CODE stands for.
HttpErrorKind http_error_kind(CURLcode code);

}  // namespace aio
