// What the file jobs share: descriptors that close themselves, errno's
// text, and a base for jobs whose outcome is one value or one failure.
// Internal to file_jobs.cpp, file_ops.cpp and file_walk.cpp.
#pragma once

#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "datum.hpp"
#include "files.hpp"

namespace aio {

// strerror's text for ERR, from any thread.
std::string error_text(int err);

// An open descriptor, closed on destruction.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }
  // Closes now; returns close's errno, or 0.
  int close();
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// open(2) of PATH with FLAGS (close-on-exec added) that never waits: a
// FIFO without a peer would hold a pool thread, and so every later file
// job and Emacs's exit, until someone opened its other end. A FIFO
// opened for reading without a writer then reads as empty; for writing
// without a reader, fails with ENXIO. Once open, the descriptor blocks
// as usual. Returns the descriptor, or -1 with errno set.
int open_file(const char* path, int flags, mode_t mode = 0);

// One path in a failure's data: which of the job's paths (an index), or
// a path the job came upon (bytes).
using FailurePath = std::variant<int, std::string>;

// A failure as Emacs reports it (see file_jobs.hpp). ERR 0 with MESSAGE
// false gives data without strerror's text, e.g. ("File exists" PATH).
struct FileFailure {
  int err = 0;
  std::string what;
  std::vector<FailurePath> paths{0};
  bool message = true;
};

Completion failure_completion(std::uint64_t id, const FileFailure& f);

// A job that ends with one Datum (Status::ok) or one failure.
class OutcomeJob : public FileJob {
 public:
  Next next() const override { return finished_ || cancelled() ? Next::done : Next::step; }
  Completion result(std::uint64_t id) override;

 protected:
  void fail(int err, std::string what, std::vector<FailurePath> paths = {0}, bool message = true) {
    failure_ = FileFailure{err, std::move(what), std::move(paths), message};
    finished_ = true;
  }
  void succeed(Datum value = {}) {
    value_ = std::move(value);
    finished_ = true;
  }
  bool finished() const { return finished_; }
  bool failed() const { return failure_.has_value(); }

 private:
  bool finished_ = false;
  std::optional<FileFailure> failure_;
  Datum value_;
};

// Copies a regular file in bounded steps: copy_file_range where the
// kernel can, read and write elsewhere. Used by copy and by renames
// across file systems.
class Copier {
 public:
  Copier(std::string from, std::string to, bool overwrite, bool keep_time, int from_index = 0, int to_index = 1)
      : from_(std::move(from)), to_(std::move(to)), overwrite_(overwrite), keep_time_(keep_time),
        from_index_(from_index), to_index_(to_index) {}
  ~Copier();

  // One step; returns true when done (then failure() says how it ended).
  bool step();
  // Removes a destination this copier created, unless it has finished.
  void abandon();
  const std::optional<FileFailure>& failure() const { return failure_; }

 private:
  bool open();
  bool finish();
  bool fail(int err, std::string what, std::vector<FailurePath> paths, bool message = true);

  std::string from_, to_;
  bool overwrite_, keep_time_;
  int from_index_, to_index_;
  Fd in_, out_;
  bool opened_ = false;
  bool created_ = false;   // TO did not exist before
  bool finished_ = false;
  bool plain_io_ = false;  // copy_file_range is not available here
  std::uint64_t size_ = 0, done_ = 0;
  struct timespec times_[2] = {};
  std::optional<FileFailure> failure_;
};

}  // namespace aio
