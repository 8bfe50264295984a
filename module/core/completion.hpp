// A finished operation, as handed from the loop thread to Emacs.
// Plain data only: Emacs maps the id back to its promise.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

namespace aio {

struct HttpResponse;  // http_types.hpp

enum class Status : int {
  ok = 0,
  cancelled = 1,
  error = 2,
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
  // the kind's name, e.g. "resolve"; empty otherwise.
  std::string error_kind;
  // A finished HTTP transfer's response (Status::ok). Shared, not
  // unique: a completion stays copyable, and this header need not see
  // the full type.
  std::shared_ptr<const HttpResponse> http;
};

}  // namespace aio
