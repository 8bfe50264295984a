#include "file_util.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <vector>

#include "file_jobs.hpp"

namespace aio {

namespace {

// strerror_r is the GNU one (returning the text) or the XSI one
// (returning a status), depending on the C library.
[[maybe_unused]] const char* pick_text(int rc, const char* buffer) { return rc == 0 ? buffer : "Unknown error"; }
[[maybe_unused]] const char* pick_text(const char* text, const char*) { return text; }

// Bytes one step of a copy moves at most.
constexpr std::size_t copy_step = 8u << 20;

const char* kind_of(int err) {
  switch (err) {
    case ENOENT:
      return "missing";
    case EEXIST:
      return "exists";
    case EACCES:
      return "denied";
    default:
      return "other";
  }
}

}  // namespace

std::string error_text(int err) {
  char buffer[256] = {};
  return pick_text(strerror_r(err, buffer, sizeof buffer), buffer);
}

int Fd::close() {
  if (fd_ < 0) return 0;
  const int rc = ::close(fd_);
  fd_ = -1;
  return rc == 0 || errno == EINTR ? 0 : errno;
}

Completion failure_completion(std::uint64_t id, const FileFailure& f) {
  Completion c{id, Status::error};
  c.error_kind = "file";
  std::vector<Datum> items;
  items.push_back(Datum::symbol(kind_of(f.err)));
  items.push_back(Datum::text(f.what));
  items.push_back(f.message ? Datum::text(error_text(f.err)) : Datum());
  for (const FailurePath& p : f.paths) {
    if (const int* index = std::get_if<int>(&p)) {
      items.push_back(Datum::integer(*index));
    } else {
      items.push_back(Datum::bytes(std::get<std::string>(p)));
    }
  }
  c.data = std::make_shared<const Datum>(Datum::vector(std::move(items)));
  return c;
}

Completion file_error(std::uint64_t id, int err, const std::string& what, std::vector<int> paths) {
  FileFailure f{err, what, {}, true};
  for (int p : paths) f.paths.emplace_back(p);
  return failure_completion(id, f);
}

Completion OutcomeJob::result(std::uint64_t id) {
  if (failure_) return failure_completion(id, *failure_);
  if (cancelled()) return Completion{id, Status::cancelled};
  Completion c{id, Status::ok};
  if (value_.kind != Datum::Kind::nil) c.data = std::make_shared<const Datum>(std::move(value_));
  return c;
}

// -- Copier ------------------------------------------------------------------

Copier::~Copier() = default;

bool Copier::fail(int err, std::string what, std::vector<FailurePath> paths, bool message) {
  failure_ = FileFailure{err, std::move(what), std::move(paths), message};
  abandon();
  finished_ = true;
  return true;
}

void Copier::abandon() {
  if (finished_) return;
  in_.reset();
  out_.reset();
  if (created_) {
    ::unlink(to_.c_str());
    created_ = false;
  }
}

int open_file(const char* path, int flags, mode_t mode) {
  const int fd = ::open(path, flags | O_CLOEXEC | O_NONBLOCK, mode);
  if (fd < 0) return -1;
  const int now = ::fcntl(fd, F_GETFL);
  if (now < 0 || ::fcntl(fd, F_SETFL, now & ~O_NONBLOCK) < 0) {
    const int err = errno;
    ::close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

bool Copier::open() {
  opened_ = true;
  in_ = Fd(open_file(from_.c_str(), O_RDONLY));
  if (!in_.ok()) return fail(errno, "Opening input file", {from_index_});
  struct stat st;
  if (::fstat(in_.get(), &st) != 0) return fail(errno, "Input file status", {from_index_});
  if (S_ISDIR(st.st_mode)) return fail(EISDIR, "Non-regular file", {from_index_});
  if (!S_ISREG(st.st_mode)) return fail(EINVAL, "Non-regular file", {from_index_});
  size_ = static_cast<std::uint64_t>(st.st_size);
  times_[0] = st.st_atim;
  times_[1] = st.st_mtim;
  struct stat old;
  if (::stat(to_.c_str(), &old) == 0) {
    // In copy-file's order: an existing file first, then the same one.
    if (!overwrite_) return fail(EEXIST, "File already exists", {to_index_}, false);
    if (old.st_dev == st.st_dev && old.st_ino == st.st_ino) {
      return fail(0, "Input and output files are the same", {from_index_, to_index_});
    }
  }
  const int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | (overwrite_ ? 0 : O_EXCL);
  const mode_t mode = st.st_mode & 07777;
  const bool existed = ::access(to_.c_str(), F_OK) == 0;
  out_ = Fd(open_file(to_.c_str(), flags, mode));
  if (!out_.ok()) {
    if (errno == EEXIST) return fail(EEXIST, "File already exists", {to_index_}, false);
    return fail(errno, "Opening output file", {to_index_});
  }
  created_ = !existed;
  // copy-file gives the copy the original's permission bits whatever
  // the umask.
  if (::fchmod(out_.get(), mode) != 0) return fail(errno, "Doing chmod", {to_index_});
  return false;
}

bool Copier::step() {
  if (finished_) return true;
  if (!opened_ && open()) return true;
  std::size_t budget = copy_step;
  std::vector<char> buffer;
  while (budget > 0) {
    if (!plain_io_) {
      const ssize_t n = ::copy_file_range(in_.get(), nullptr, out_.get(), nullptr, budget, 0);
      if (n > 0) {
        done_ += static_cast<std::uint64_t>(n);
        budget -= static_cast<std::size_t>(n);
        continue;
      }
      if (n == 0) return finish();
      if (errno == EINTR) continue;
      if (errno == ENOSYS || errno == EXDEV || errno == EINVAL || errno == EOPNOTSUPP) {
        plain_io_ = true;
        continue;
      }
      return fail(errno, "Write error", {to_index_});
    }
    if (buffer.empty()) buffer.resize(1u << 20);
    const std::size_t want = std::min(budget, buffer.size());
    const ssize_t r = ::read(in_.get(), buffer.data(), want);
    if (r < 0) {
      if (errno == EINTR) continue;
      return fail(errno, "Read error", {from_index_});
    }
    if (r == 0) return finish();
    std::size_t off = 0;
    while (off < static_cast<std::size_t>(r)) {
      const ssize_t w = ::write(out_.get(), buffer.data() + off, static_cast<std::size_t>(r) - off);
      if (w < 0) {
        if (errno == EINTR) continue;
        return fail(errno, "Write error", {to_index_});
      }
      off += static_cast<std::size_t>(w);
    }
    done_ += static_cast<std::uint64_t>(r);
    budget -= static_cast<std::size_t>(r);
  }
  return false;
}

bool Copier::finish() {
  if (keep_time_ && ::futimens(out_.get(), times_) != 0) return fail(errno, "Resetting file times", {to_index_});
  if (const int err = out_.close()) return fail(err, "Write error", {to_index_});
  in_.reset();
  finished_ = true;
  return true;
}

}  // namespace aio
