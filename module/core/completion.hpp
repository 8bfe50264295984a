// A finished operation, as handed from the loop thread to Emacs.
// Plain data only: Emacs maps the id back to its promise.
#pragma once

#include <cstdint>
#include <string>

namespace aio {

enum class Status : int {
  ok = 0,
  cancelled = 1,
  error = 2,
};

struct Completion {
  std::uint64_t id = 0;
  Status status = Status::ok;
  // Empty for timers; an error message for Status::error.
  std::string payload;
};

}  // namespace aio
