// A finished operation, as handed from the loop thread to Emacs.
// Plain data only: Emacs maps the id back to its promise.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace aio {

struct HttpResponse;  // http_types.hpp
struct SseEvent;      // sse.hpp
struct Datum;         // datum.hpp

enum class Status : int {
  ok = 0,
  cancelled = 1,
  error = 2,
  // Not the end: news of an operation that goes on (a streamed body's
  // headers or next bytes, progress). Its id stays pending.
  event = 3,
};

struct Completion {
  // A constructor rather than aggregate initialisation, so that the
  // optional members below need not be spelled out by every service.
  Completion() = default;
  Completion(std::uint64_t id_, Status status_, std::string payload_ = {})
      : id(id_), status(status_), payload(std::move(payload_)) {}

  std::uint64_t id = 0;
  Status status = Status::ok;
  // Empty for timers; an error message for Status::error.
  std::string payload;
  // For Status::error of services whose failures have kinds (HTTP):
  // the kind's name, e.g. "resolve"; for Status::event, what the news
  // is: "headers", "chunk" (PAYLOAD holds the bytes) or "progress".
  std::string error_kind;
  // For a "progress" event: bytes down, total down (-1: unknown), bytes
  // up, total up (-1: unknown).
  std::int64_t progress[4] = {0, -1, 0, -1};
  // A finished HTTP transfer's response (Status::ok). Shared, not
  // unique: a completion stays copyable, and this header need not see
  // the full type.
  std::shared_ptr<const HttpResponse> http;
  // For an "sse" event: the events parsed, and how many body bytes they
  // took (what the reader acknowledges).
  std::shared_ptr<const std::vector<SseEvent>> sse;
  std::uint64_t bytes = 0;
  // Structured results of other services (files, DNS, the HTTP
  // server): a Datum made into the Lisp value of the same shape.
  std::shared_ptr<const Datum> data;
  // Set by the Outbox: the order of pushes, and the lane pushed to.
  std::uint64_t seq = 0;
  bool urgent = false;
};

}  // namespace aio
