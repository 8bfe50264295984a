// The HTTP server's responses: the head, bodies from Emacs, streamed
// bodies, and files sent by the loop thread.
#include <fcntl.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "http_server_conn.hpp"
#include "http_types.hpp"

namespace aio {

namespace {

// Bytes of a file read at once, and writes of it under way at most.
constexpr std::size_t file_chunk = 256 * 1024;
constexpr std::size_t file_writes = 2;

bool framing_field(const std::string& name) {
  for (const char* f : {"content-length", "transfer-encoding", "connection"}) {
    if (strcasecmp(name.c_str(), f) == 0) return true;
  }
  return false;
}

// Whether NAME: VALUE can go out as one field line: NAME a token, VALUE
// without CR, LF or NUL (which would end the line, or the head, early
// and let the rest be read as fields or a response of their own).
bool sendable_field(const std::string& name, const std::string& value) {
  return is_http_token(name) && value.find_first_of(std::string("\r\n\0", 3)) == std::string::npos;
}

// The Content-Length of a response with STATUS and a body of N bytes:
// none (-1) for a 1xx, 204 or 304, which have no body.
std::int64_t length_field(int status, std::uint64_t n) {
  return status < 200 || status == 204 || status == 304 ? -1 : static_cast<std::int64_t>(n);
}

}  // namespace

std::string response_head(int status, const std::vector<std::pair<std::string, std::string>>& headers,
                          std::int64_t content_length, bool chunked, const char* connection) {
  const char* reason = http_status_str(static_cast<http_status>(status));
  std::string head = "HTTP/1.1 " + std::to_string(status) + " " + (reason[0] == '<' ? "Unknown" : reason) + "\r\n";
  for (const auto& field : headers) {
    if (framing_field(field.first) || !sendable_field(field.first, field.second)) continue;
    head += field.first;
    head += ": ";
    head += field.second;
    head += "\r\n";
  }
  if (content_length >= 0) head += "Content-Length: " + std::to_string(content_length) + "\r\n";
  if (chunked) head += "Transfer-Encoding: chunked\r\n";
  if (connection) head += std::string("Connection: ") + connection + "\r\n";
  head += "\r\n";
  return head;
}

// Neither a HEAD's response nor a 1xx, 204 or 304 has a body.
static bool has_body(int status, bool head_only) {
  return !head_only && status >= 200 && status != 204 && status != 304;
}

bool response_has_body(int status, const std::string& method) { return has_body(status, method == "HEAD"); }

void HttpServers::Connection::respond(ServerResponse response) {
  if (state_ != State::handling) return;
  state_ = State::responding;
  if (server_->stopping()) close_after_ = true;
  // A final status only: a 1xx would leave the client waiting for the
  // real answer, and anything out of 200..599 is no status at all.
  if (response.status < 200 || response.status > 599) {
    response = ServerResponse{};
    response.status = 500;
  }
  kind_ = response.kind;
  const int status = response.status;
  const bool body = has_body(status, head_only_);
  // An HTTP/1.0 client keeps its connection only when it asked to.
  const char* connection = close_after_ ? "close" : http10_ ? "keep-alive" : nullptr;
  switch (response.kind) {
    case ServerResponse::Body::bytes: {
      std::string out = response_head(status, response.headers, length_field(status, response.body.size()), false,
                                      connection);
      if (body) out += response.body;
      body_done_ = true;
      send(std::move(out));
      break;
    }
    case ServerResponse::Body::stream:
      if (!body) {
        // No body goes out (HEAD, 204, 304), but its writer still
        // writes, and waits for room: what it writes is reported sent,
        // and the response ends with its end (end_stream), not before.
        send(response_head(status, response.headers, -1, false, connection));
        break;
      }
      // HTTP/1.0 knows no chunks: the body ends with the connection.
      chunked_ = !http10_;
      if (!chunked_) close_after_ = true;
      streaming_ = true;
      send(response_head(status, response.headers, -1, chunked_, close_after_ ? "close" : nullptr));
      break;
    case ServerResponse::Body::file:
      send_file(response.file_path, status, std::move(response.headers));
      break;
  }
}

void HttpServers::Connection::write_chunk(std::string bytes) {
  if (state_ != State::responding || bytes.empty()) return;
  const std::uint64_t n = bytes.size();
  if (!streaming_ || body_done_) {
    // A body nobody receives (the response to a HEAD): counted as sent,
    // so that its writer does not wait for room.
    emit_sent(n);
    return;
  }
  if (chunked_) {
    char size[24];
    std::snprintf(size, sizeof size, "%zx\r\n", bytes.size());
    bytes.insert(0, size);
    bytes += "\r\n";
  }
  send(std::move(bytes), n);
}

void HttpServers::Connection::end_stream() {
  // Only a streamed body has an end from Emacs; a file's is the loop
  // thread's to find.
  if (state_ != State::responding || kind_ != ServerResponse::Body::stream || body_done_) return;
  body_done_ = true;
  if (streaming_ && chunked_) send("0\r\n\r\n");
  if (writes_ == 0) finish_response();
}

// -- Files -------------------------------------------------------------------

void HttpServers::Connection::send_file(const std::string& path, int status,
                                        std::vector<std::pair<std::string, std::string>> headers) {
  file_status_ = status;
  file_headers_ = std::move(headers);
  fs_busy_ = true;
  ++holds_;
  fs_.data = this;
  // Non-blocking: opening a FIFO would otherwise hold a libuv worker
  // until some writer came (and the loop could not stop meanwhile); it
  // then fails the regular-file check below. Reads of a regular file
  // are not affected.
  const int rc = uv_fs_open(server_->owner()->loop_, &fs_, path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0,
                            &Connection::on_file_open);
  if (rc < 0) {
    fs_busy_ = false;
    --holds_;
    file_failed(rc);
  }
}

void HttpServers::Connection::on_file_open(uv_fs_t* req) {
  auto* self = static_cast<Connection*>(req->data);
  const auto result = req->result;
  uv_fs_req_cleanup(req);
  self->fs_busy_ = false;
  try {
    if (result < 0) {
      self->file_failed(static_cast<int>(result));
    } else {
      self->file_ = static_cast<uv_file>(result);
      if (self->state_ == State::closing) {
        self->close_file();
      } else {
        self->fs_busy_ = true;
        ++self->holds_;
        self->fs_.data = self;
        if (uv_fs_fstat(self->server_->owner()->loop_, &self->fs_, self->file_, &Connection::on_file_stat) < 0) {
          self->fs_busy_ = false;
          --self->holds_;
          self->file_failed(UV_EIO);
        }
      }
    }
  } catch (...) {
    self->close();
  }
  self->release();
}

void HttpServers::Connection::on_file_stat(uv_fs_t* req) {
  auto* self = static_cast<Connection*>(req->data);
  const auto result = req->result;
  const uv_stat_t st = req->statbuf;
  uv_fs_req_cleanup(req);
  self->fs_busy_ = false;
  try {
    if (self->state_ == State::closing) {
      self->close_file();
    } else if (result < 0) {
      self->file_failed(static_cast<int>(result));
    } else if (!S_ISREG(st.st_mode)) {
      // A directory, FIFO, device or socket is not served.
      self->file_failed(S_ISDIR(st.st_mode) ? UV_EISDIR : UV_EPERM);
    } else {
      const int status = self->file_status_;
      const bool body = has_body(status, self->head_only_);
      const char* connection = self->close_after_ ? "close" : self->http10_ ? "keep-alive" : nullptr;
      self->file_left_ = body ? st.st_size : 0;
      self->send(response_head(status, self->file_headers_, length_field(status, static_cast<std::uint64_t>(st.st_size)),
                               false, connection));
      self->file_headers_.clear();
      if (self->file_left_ == 0) {
        self->close_file();
        self->body_done_ = true;
        if (self->writes_ == 0) self->finish_response();
      } else {
        self->read_file();
      }
    }
  } catch (...) {
    self->close();
  }
  self->release();
}

void HttpServers::Connection::read_file() {
  if (fs_busy_ || file_ < 0 || state_ == State::closing || writes_ >= file_writes) return;
  file_buffer_.resize(static_cast<std::size_t>(std::min<std::uint64_t>(file_chunk, file_left_)));
  uv_buf_t buf = uv_buf_init(file_buffer_.data(), static_cast<unsigned>(file_buffer_.size()));
  fs_busy_ = true;
  ++holds_;
  fs_.data = this;
  if (uv_fs_read(server_->owner()->loop_, &fs_, file_, &buf, 1, -1, &Connection::on_file_read) < 0) {
    fs_busy_ = false;
    --holds_;
    close();
  }
}

void HttpServers::Connection::on_file_read(uv_fs_t* req) {
  auto* self = static_cast<Connection*>(req->data);
  const auto result = req->result;
  uv_fs_req_cleanup(req);
  self->fs_busy_ = false;
  try {
    if (self->state_ == State::closing) {
      self->close_file();
    } else if (result <= 0) {
      // Unreadable, or shorter than its Content-Length said, after the
      // head went out: the client can only tell from the connection.
      self->close_file();
      self->close();
    } else {
      const auto n = static_cast<std::size_t>(result);
      self->file_left_ -= std::min<std::uint64_t>(n, self->file_left_);
      self->send(std::string(self->file_buffer_.data(), n));
      if (self->file_left_ == 0) {
        self->close_file();
        self->body_done_ = true;
      } else {
        self->read_file();
      }
    }
  } catch (...) {
    self->close();
  }
  self->release();
}

void HttpServers::Connection::file_failed(int err) {
  close_file();
  if (state_ == State::closing) return;
  const int status = err == UV_ENOENT || err == UV_ENOTDIR ? 404 : err == UV_EACCES || err == UV_EPERM || err == UV_EISDIR ? 403 : 500;
  std::string text = std::to_string(status) + " " + http_status_str(static_cast<http_status>(status)) + "\n";
  const char* connection = close_after_ ? "close" : http10_ ? "keep-alive" : nullptr;
  body_done_ = true;
  send(response_head(status, {{"Content-Type", "text/plain; charset=utf-8"}}, static_cast<std::int64_t>(text.size()),
                     false, connection) +
       (head_only_ ? std::string() : text));
}

void HttpServers::Connection::close_file() {
  if (file_ >= 0) ::close(file_);
  file_ = -1;
}

}  // namespace aio
