// Files a transfer reads its body from or writes its body to, on the
// loop thread, so that bulk bytes never become Lisp strings.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace aio {

// A download: bytes go to a temporary file beside PATH, which replaces
// PATH only on commit(). Destroyed without a commit, it removes the
// temporary file: a failed or cancelled download leaves nothing behind.
class DownloadFile {
 public:
  explicit DownloadFile(std::string path) : path_(std::move(path)) {}
  ~DownloadFile();
  DownloadFile(const DownloadFile&) = delete;
  DownloadFile& operator=(const DownloadFile&) = delete;

  // Creates the temporary file (close-on-exec). Returns "" or why not.
  std::string open();
  // Appends N bytes of DATA. Returns "" or why not (disk full...).
  std::string write(const char* data, std::size_t n);
  // Renames the temporary file to PATH. Returns "" or why not.
  std::string commit();
  // Discards what was written: the next write starts an empty file (a
  // redirect's body came before the final one's).
  std::string truncate();

  const std::string& path() const { return path_; }
  std::uint64_t written() const { return written_; }
  bool is_open() const { return fd_ >= 0; }

 private:
  std::string path_;
  std::string temp_;
  int fd_ = -1;
  std::uint64_t written_ = 0;
};

// An upload: the request body, read from a file as curl asks for it.
class UploadFile {
 public:
  explicit UploadFile(std::string path) : path_(std::move(path)) {}
  ~UploadFile();
  UploadFile(const UploadFile&) = delete;
  UploadFile& operator=(const UploadFile&) = delete;

  // Opens the file (close-on-exec) and reads its size. Returns "" or why not.
  std::string open();
  // Reads up to N bytes into BUFFER; returns how many, 0 at the end, or
  // -1 on a read error.
  long read(char* buffer, std::size_t n);
  // Starts again from the first byte (curl rewinds on a redirect).
  bool rewind();

  std::uint64_t size() const { return size_; }

 private:
  std::string path_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

}  // namespace aio
