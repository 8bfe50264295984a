#include "http_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace aio {

namespace {

std::string why(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

}  // namespace

DownloadFile::~DownloadFile() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(temp_.c_str());
  }
}

std::string DownloadFile::open() {
  if (fd_ >= 0) return {};
  // Beside PATH, so that the final rename stays on one file system;
  // hidden, so that nobody mistakes it for the finished file.
  const auto slash = path_.rfind('/');
  const std::string dir = slash == std::string::npos ? std::string() : path_.substr(0, slash + 1);
  const std::string name = slash == std::string::npos ? path_ : path_.substr(slash + 1);
  std::string templ = dir + "." + name + ".aio-XXXXXX";
  std::vector<char> buffer(templ.begin(), templ.end());
  buffer.push_back('\0');
  const int fd = mkostemp(buffer.data(), O_CLOEXEC);
  if (fd < 0) return why("Cannot create a file beside", path_);
  fd_ = fd;
  temp_.assign(buffer.data());
  // mkostemp makes it 0600; a download is an ordinary file.
  const mode_t mask = ::umask(0);
  ::umask(mask);
  ::fchmod(fd_, 0666 & ~mask);
  return {};
}

std::string DownloadFile::write(const char* data, std::size_t n) {
  if (fd_ < 0) {
    if (std::string e = open(); !e.empty()) return e;
  }
  while (n > 0) {
    const ssize_t w = ::write(fd_, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return why("Cannot write", temp_);
    }
    data += w;
    n -= static_cast<std::size_t>(w);
    written_ += static_cast<std::uint64_t>(w);
  }
  return {};
}

std::string DownloadFile::truncate() {
  written_ = 0;
  if (fd_ < 0) return {};
  if (::ftruncate(fd_, 0) != 0 || ::lseek(fd_, 0, SEEK_SET) != 0) return why("Cannot truncate", temp_);
  return {};
}

std::string DownloadFile::commit() {
  // An empty body still makes a file.
  if (fd_ < 0) {
    if (std::string e = open(); !e.empty()) return e;
  }
  if (::close(fd_) != 0) {
    fd_ = -1;
    ::unlink(temp_.c_str());
    return why("Cannot write", temp_);
  }
  fd_ = -1;
  if (::rename(temp_.c_str(), path_.c_str()) != 0) {
    std::string e = why("Cannot rename the download to", path_);
    ::unlink(temp_.c_str());
    return e;
  }
  return {};
}

UploadFile::~UploadFile() {
  if (fd_ >= 0) ::close(fd_);
}

std::string UploadFile::open() {
  fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) return why("Cannot open", path_);
  struct stat st;
  if (::fstat(fd_, &st) != 0) return why("Cannot read", path_);
  if (!S_ISREG(st.st_mode)) return "Not a regular file: " + path_;
  size_ = static_cast<std::uint64_t>(st.st_size);
  return {};
}

long UploadFile::read(char* buffer, std::size_t n) {
  for (;;) {
    const ssize_t r = ::read(fd_, buffer, n);
    if (r >= 0) return static_cast<long>(r);
    if (errno != EINTR) return -1;
  }
}

bool UploadFile::rewind() { return ::lseek(fd_, 0, SEEK_SET) == 0; }

}  // namespace aio
