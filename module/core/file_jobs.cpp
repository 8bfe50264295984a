// Reading and writing whole files: the jobs behind aio-file-read and
// aio-file-write.
#include "file_jobs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "file_util.hpp"

namespace aio {

namespace {

// Bytes one step reads or writes at most: long enough to amortise a
// trip through the pool, short enough that a cancellation is seen soon.
constexpr std::size_t io_step = 8u << 20;
// Read-ahead for insertion: bytes per step, and between two cuts.
constexpr std::size_t ahead_step = 4u << 20;
constexpr std::uint64_t cut_text = 128u << 10;
constexpr std::uint64_t cut_bytes = 1u << 20;
constexpr std::uint64_t cut_most = 1u << 20;
// set-auto-coding looks at the last 3 KiB of a file.
constexpr std::uint64_t tail_bytes = 3u << 10;

// Reads up to N bytes at OFFSET (or from the current position for a
// file that cannot seek). Returns the count, or -1 with errno.
ssize_t read_at(int fd, char* buffer, std::size_t n, std::uint64_t offset, bool seekable) {
  for (;;) {
    const ssize_t r = seekable ? ::pread(fd, buffer, n, static_cast<off_t>(offset)) : ::read(fd, buffer, n);
    if (r >= 0 || errno != EINTR) return r;
  }
}

// -- To memory ---------------------------------------------------------------

class ReadToMemory : public OutcomeJob {
 public:
  explicit ReadToMemory(ReadSpec spec) : spec_(std::move(spec)) {}

  void step() override {
    if (!fd_.ok() && !open()) return;
    if (cancelled()) return;
    std::size_t budget = io_step;
    while (budget > 0) {
      std::size_t want = budget;
      if (spec_.end >= 0) {
        const auto left = static_cast<std::uint64_t>(spec_.end) - std::min<std::uint64_t>(pos_, spec_.end);
        if (left == 0) return done();
        want = static_cast<std::size_t>(std::min<std::uint64_t>(want, left));
      }
      const std::size_t have = data_.size();
      data_.resize(have + want);
      const ssize_t r = read_at(fd_.get(), data_.data() + have, want, pos_, seekable_);
      if (r < 0) {
        data_.resize(have);
        return fail(errno, "Read error");
      }
      data_.resize(have + static_cast<std::size_t>(r));
      if (r == 0) return done();
      pos_ += static_cast<std::uint64_t>(r);
      budget -= static_cast<std::size_t>(r);
    }
  }

  Completion result(std::uint64_t id) override {
    Completion c = OutcomeJob::result(id);
    if (c.status == Status::ok) c.payload = std::move(data_);
    return c;
  }

 private:
  bool open() {
    fd_ = Fd(open_file(spec_.path.c_str(), O_RDONLY));
    if (!fd_.ok()) {
      fail(errno, "Opening input file");
      return false;
    }
    struct stat st;
    if (::fstat(fd_.get(), &st) != 0) {
      fail(errno, "Input file status");
      return false;
    }
    seekable_ = S_ISREG(st.st_mode) || S_ISBLK(st.st_mode);
    pos_ = static_cast<std::uint64_t>(std::max<std::int64_t>(spec_.start, 0));
    if (!seekable_ && pos_ > 0) {
      fail(ESPIPE, "Read error");
      return false;
    }
    if (S_ISREG(st.st_mode) && st.st_size > 0) {
      auto size = static_cast<std::uint64_t>(st.st_size);
      if (spec_.end >= 0) size = std::min<std::uint64_t>(size, spec_.end);
      if (size > pos_) data_.reserve(static_cast<std::size_t>(size - pos_));
    }
    return true;
  }

  void done() {
    fd_.reset();
    succeed();
  }

  ReadSpec spec_;
  Fd fd_;
  bool seekable_ = true;
  std::uint64_t pos_ = 0;
  std::string data_;
};

// -- For insertion by Emacs --------------------------------------------------

class ReadAhead : public FileJob {
 public:
  explicit ReadAhead(ReadSpec spec) : spec_(std::move(spec)) {}

  void step() override {
    if (cancelled() || failure_) return;
    if (!fd_.ok()) {
      open();
      return;
    }
    const std::uint64_t stop = std::min({limit_, read_ + ahead_step, acked_ + spec_.window});
    if (stop <= read_) return;
    buffer_.resize(static_cast<std::size_t>(stop - read_));
    std::size_t got = 0;
    while (got < buffer_.size()) {
      const ssize_t r = read_at(fd_.get(), buffer_.data() + got, buffer_.size() - got, read_ + got, true);
      if (r < 0) return fail(errno, "Read error");
      if (r == 0) break;
      got += static_cast<std::size_t>(r);
    }
    const std::uint64_t from = read_;
    read_ += got;
    // The file shrank since it was opened: what is there is all there is.
    if (read_ < stop) limit_ = read_;
    find_cuts(from);
  }

  Next next() const override {
    if (failure_ || irregular_ || cancelled()) return Next::done;
    if (!fd_.ok()) return Next::step;
    if (acked_ >= limit_) return Next::done;
    if (read_ < limit_ && read_ - std::min(read_, acked_) < spec_.window) return Next::step;
    return Next::wait;
  }

  void ack(std::uint64_t n) override { acked_ += n; }

  std::vector<Completion> take_events(std::uint64_t id) override {
    std::vector<Completion> out;
    if (fd_.ok() && !announced_) {
      announced_ = true;
      Completion c{id, Status::event};
      c.error_kind = "open";
      c.data = std::make_shared<const Datum>(Datum::vector(
          {Datum::integer(fd_.get()), Datum::integer(static_cast<std::int64_t>(limit_))}));
      out.push_back(std::move(c));
    }
    if (!cuts_.empty()) {
      Completion c{id, Status::event};
      c.error_kind = "ready";
      std::vector<Datum> items;
      items.reserve(cuts_.size());
      for (std::uint64_t cut : cuts_) items.push_back(Datum::integer(static_cast<std::int64_t>(cut)));
      c.data = std::make_shared<const Datum>(Datum::vector(std::move(items)));
      cuts_.clear();
      out.push_back(std::move(c));
    }
    return out;
  }

  Completion result(std::uint64_t id) override {
    fd_.reset();
    if (failure_) return failure_completion(id, *failure_);
    if (cancelled()) return Completion{id, Status::cancelled};
    Completion c{id, Status::ok};
    // Not a regular file: Emacs reads it itself, in one go.
    if (irregular_) c.data = std::make_shared<const Datum>(Datum::symbol("irregular"));
    return c;
  }

 private:
  void fail(int err, const char* what) {
    failure_ = FileFailure{err, what, {0}, true};
    fd_.reset();
  }

  void open() {
    Fd fd(open_file(spec_.path.c_str(), O_RDONLY));
    if (!fd.ok()) return fail(errno, "Opening input file");
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return fail(errno, "Input file status");
    if (S_ISDIR(st.st_mode)) return fail(EISDIR, "Read error");
    // Emacs would read a FIFO or a socket itself, and wait on it in its
    // main thread for as long as the other end stays silent.
    if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) return fail(EINVAL, "Not a regular file");
    if (!S_ISREG(st.st_mode)) {
      irregular_ = true;
      return;
    }
    const auto size = static_cast<std::uint64_t>(st.st_size);
    read_ = acked_ = last_cut_ = std::min<std::uint64_t>(std::max<std::int64_t>(spec_.start, 0), size);
    limit_ = spec_.end >= 0 ? std::clamp<std::uint64_t>(spec_.end, read_, size) : size;
    if (spec_.cut_at_lines && size > tail_bytes) {
      // Emacs looks there for a coding cookie: have it in memory too.
      char tail[tail_bytes];
      if (read_at(fd.get(), tail, sizeof tail, size - tail_bytes, true) < 0) return fail(errno, "Read error");
    }
    fd_ = std::move(fd);
    if (limit_ == read_) cuts_.push_back(limit_);
  }

  // Cuts in the bytes just read, from FROM to read_ (in buffer_).
  void find_cuts(std::uint64_t from) {
    const char* base = buffer_.data();
    for (;;) {
      if (read_ == limit_ && limit_ - last_cut_ <= (spec_.cut_at_lines ? cut_text : cut_bytes)) {
        if (limit_ > last_cut_) {
          cuts_.push_back(limit_);
          last_cut_ = limit_;
        }
        return;
      }
      if (!spec_.cut_at_lines) {
        if (last_cut_ + cut_bytes > read_) return;
        last_cut_ += cut_bytes;
        cuts_.push_back(last_cut_);
        continue;
      }
      const std::uint64_t lo = std::max(from, last_cut_);
      const std::uint64_t target = last_cut_ + cut_text;
      if (target > read_) return;
      std::uint64_t cut = 0;
      // The last newline before the target...
      const void* p = target > lo ? ::memrchr(base + (lo - from), '\n', target - lo) : nullptr;
      if (p) {
        cut = from + static_cast<std::uint64_t>(static_cast<const char*>(p) - base) + 1;
      } else if (last_cut_ + cut_most <= read_) {
        // ...else the first one after it, within the longest piece...
        const std::uint64_t most = last_cut_ + cut_most;
        // (Bytes before FROM were read by an earlier step and are gone.)
        const std::uint64_t scan = std::max(target, from);
        const void* q = most > scan ? std::memchr(base + (scan - from), '\n', most - scan) : nullptr;
        if (q) {
          cut = from + static_cast<std::uint64_t>(static_cast<const char*>(q) - base) + 1;
        } else {
          // ...else after a byte that no ASCII-compatible coding uses
          // inside a character (below 0x40 and no escape or shift), or
          // anywhere in bytes that are no text anyway.
          cut = most;
          for (std::uint64_t i = most; i > lo; --i) {
            const auto c = static_cast<unsigned char>(base[i - 1 - from]);
            if (c < 0x40 && c != 0x1B && c != 0x0E && c != 0x0F) {
              cut = i;
              break;
            }
          }
        }
      } else {
        // No newline near yet, and not enough read to decide.
        return;
      }
      cuts_.push_back(cut);
      last_cut_ = cut;
    }
  }

  ReadSpec spec_;
  Fd fd_;
  bool irregular_ = false;
  bool announced_ = false;
  std::uint64_t limit_ = 0;     // where reading stops
  std::uint64_t read_ = 0;      // bytes read ahead, from the start
  std::uint64_t acked_ = 0;     // bytes Emacs has inserted
  std::uint64_t last_cut_ = 0;  // the last cut handed out
  std::vector<std::uint64_t> cuts_;
  std::vector<char> buffer_;
  std::optional<FileFailure> failure_;
};

// -- Writing -----------------------------------------------------------------

class WriteJob : public OutcomeJob {
 public:
  explicit WriteJob(WriteSpec spec) : spec_(std::move(spec)) {}

  void step() override {
    if (cancelled()) return;
    if (!fd_.ok() && !open()) return;
    const std::string& data = *spec_.data;
    std::size_t budget = io_step;
    while (budget > 0 && written_ < data.size()) {
      const std::size_t want = std::min(budget, data.size() - written_);
      const ssize_t w = ::write(fd_.get(), data.data() + written_, want);
      if (w < 0) {
        if (errno == EINTR) continue;
        failed_write(errno, "Write error");
        return;
      }
      written_ += static_cast<std::size_t>(w);
      budget -= static_cast<std::size_t>(w);
    }
    if (written_ == data.size()) finish();
  }

  void abandon() override { remove_temp(); }

 private:
  bool open() {
    target_ = spec_.path;
    if (!spec_.atomic) {
      const int flags = O_WRONLY | O_CREAT | (spec_.append ? O_APPEND : O_TRUNC);
      fd_ = Fd(open_file(target_.c_str(), flags, spec_.mode >= 0 ? spec_.mode : 0666));
      if (!fd_.ok()) return failed_write(errno, "Opening output file");
      if (spec_.mode >= 0 && ::fchmod(fd_.get(), static_cast<mode_t>(spec_.mode)) != 0) {
        return failed_write(errno, "Doing chmod");
      }
      return true;
    }
    // A symbolic link stays one: the file it points to is replaced.
    struct stat st;
    if (::lstat(target_.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
      if (char* real = ::realpath(target_.c_str(), nullptr)) {
        target_ = real;
        std::free(real);
      }
    }
    const bool existed = ::stat(target_.c_str(), &st) == 0;
    if (existed && S_ISDIR(st.st_mode)) return failed_write(EISDIR, "Opening output file");
    // Beside the target, so that the rename stays in one file system;
    // hidden, so that nobody takes it for the finished file. Opened with
    // O_EXCL under a random name rather than mkstemp, so that the kernel
    // applies the umask to a new file's mode.
    const auto slash = target_.rfind('/');
    const std::string dir = slash == std::string::npos ? std::string() : target_.substr(0, slash + 1);
    const std::string name = slash == std::string::npos ? target_ : target_.substr(slash + 1);
    std::random_device seed;
    std::mt19937_64 random(seed());
    const mode_t create_mode = spec_.mode >= 0 || existed ? 0600 : 0666;
    for (int attempt = 0; attempt < 100 && !fd_.ok(); ++attempt) {
      char suffix[17];
      std::snprintf(suffix, sizeof suffix, "%016llx", static_cast<unsigned long long>(random()));
      temp_ = dir + "." + name + ".aio-" + suffix;
      fd_ = Fd(::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, create_mode));
      if (!fd_.ok() && errno != EEXIST) {
        temp_.clear();
        return failed_write(errno, "Opening output file");
      }
    }
    if (!fd_.ok()) {
      temp_.clear();
      return failed_write(EEXIST, "Opening output file");
    }
    if (spec_.mode >= 0 || existed) {
      const mode_t mode = spec_.mode >= 0 ? static_cast<mode_t>(spec_.mode) : st.st_mode & 07777;
      if (::fchmod(fd_.get(), mode) != 0) return failed_write(errno, "Doing chmod");
      // Keep the owner too where allowed (a root that writes somebody's
      // file); a failure here leaves the writer's.
      if (existed && (st.st_uid != ::geteuid() || st.st_gid != ::getegid())) {
        [[maybe_unused]] const int ignored = ::fchown(fd_.get(), st.st_uid, st.st_gid);
      }
    }
    return true;
  }

  void finish() {
    if (spec_.atomic) {
      if (::fsync(fd_.get()) != 0) return (void)failed_write(errno, "Write error");
    }
    if (const int err = fd_.close()) return (void)failed_write(err, "Write error");
    if (spec_.atomic) {
      if (::rename(temp_.c_str(), target_.c_str()) != 0) return (void)failed_write(errno, "Renaming");
      temp_.clear();
      // The rename itself reaches the disk with the directory.
      const auto slash = target_.rfind('/');
      const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : target_.substr(0, slash);
      Fd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (d.ok()) ::fsync(d.get());
    }
    succeed();
  }

  bool failed_write(int err, const char* what) {
    remove_temp();
    fail(err, what);
    return false;
  }

  void remove_temp() {
    fd_.reset();
    if (!temp_.empty()) {
      ::unlink(temp_.c_str());
      temp_.clear();
    }
  }

  WriteSpec spec_;
  std::string target_;
  std::string temp_;
  Fd fd_;
  std::size_t written_ = 0;
};

}  // namespace

std::unique_ptr<FileJob> make_read_job(ReadSpec spec) {
  if (spec.insert_from_fd) return std::make_unique<ReadAhead>(std::move(spec));
  return std::make_unique<ReadToMemory>(std::move(spec));
}

std::unique_ptr<FileJob> make_write_job(WriteSpec spec) { return std::make_unique<WriteJob>(std::move(spec)); }

}  // namespace aio
