// The HTTP server's reading of requests: http_parser's callbacks, the
// limits they enforce, and the hand-over of a complete request.
#include <strings.h>

#include <cctype>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "datum.hpp"
#include "http_server_conn.hpp"
#include "http_types.hpp"

namespace aio {

namespace {

// Bytes of a request's head that reach no callback: the request line's
// method, spaces and version, and each field's ": " and CRLF. Counted,
// so that a head of many tiny fields (each of them a few strings in
// memory) cannot hide from the limit.
constexpr std::size_t request_line_overhead = 14;  // "GET " " HTTP/1.1\r\n"
constexpr std::size_t field_overhead = 4;          // ": " "\r\n"

// S without the spaces and tabs around it, in lower case.
std::string trimmed_lower(const std::string& s) {
  const std::size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  const std::size_t e = s.find_last_not_of(" \t");
  std::string out = s.substr(b, e - b + 1);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

const http_parser_settings HttpServers::Connection::settings = {
    &Connection::on_message_begin,    &Connection::on_url,  nullptr,
    &Connection::on_header_field,     &Connection::on_header_value,
    &Connection::on_headers_complete, &Connection::on_body, &Connection::on_message_complete,
    nullptr,                          nullptr,
};

void HttpServers::Connection::parse(const char* data, std::size_t n) {
  const std::size_t used = http_parser_execute(&parser_, &settings, data, n);
  const auto err = HTTP_PARSER_ERRNO(&parser_);
  if (err == HPE_PAUSED) {
    // A request went to Emacs: what follows it waits for the answer.
    if (used < n) unparsed_.append(data + used, n - used);
    return;
  }
  if (err != HPE_OK || used < n) reject(reject_status_ ? reject_status_ : 400);
}

bool HttpServers::Connection::count_header_bytes(std::size_t n) {
  header_bytes_ += n;
  if (header_bytes_ <= server_->limits().max_header_bytes) return true;
  reject_status_ = 431;
  return false;
}

int HttpServers::Connection::on_message_begin(http_parser* p) {
  auto* self = static_cast<Connection*>(p->data);
  self->in_message_ = true;
  self->method_.clear();
  self->target_.clear();
  self->fields_.clear();
  self->body_.clear();
  self->last_was_value_ = false;
  self->headers_done_ = false;
  self->header_bytes_ = request_line_overhead;
  self->reject_status_ = 0;
  self->arm_timer(self->server_->limits().request_timeout_ms);
  return 0;
}

template <typename Step>
int HttpServers::Connection::guarded(Step step) {
  try {
    return step();
  } catch (...) {
    reject_status_ = 500;
    return -1;
  }
}

int HttpServers::Connection::on_url(http_parser* p, const char* at, std::size_t n) {
  auto* self = static_cast<Connection*>(p->data);
  if (!self->count_header_bytes(n)) return -1;
  return self->guarded([&] {
    self->target_.append(at, n);
    return 0;
  });
}

int HttpServers::Connection::on_header_field(http_parser* p, const char* at, std::size_t n) {
  auto* self = static_cast<Connection*>(p->data);
  const bool starts = self->fields_.empty() || self->last_was_value_;
  if (!self->count_header_bytes(n + (starts ? field_overhead : 0))) return -1;
  self->last_was_value_ = false;
  // Trailers (fields after a chunked body) are counted and dropped: were
  // they kept, a client could add fields that its proxy never checked.
  if (self->headers_done_) return 0;
  return self->guarded([&] {
    if (starts) {
      self->fields_.emplace_back();
      self->fields_.emplace_back();
    }
    self->fields_[self->fields_.size() - 2].append(at, n);
    return 0;
  });
}

int HttpServers::Connection::on_header_value(http_parser* p, const char* at, std::size_t n) {
  auto* self = static_cast<Connection*>(p->data);
  if (!self->count_header_bytes(n)) return -1;
  self->last_was_value_ = true;
  if (self->headers_done_) return 0;
  return self->guarded([&] {
    self->fields_.back().append(at, n);
    return 0;
  });
}

int HttpServers::Connection::on_headers_complete(http_parser* p) {
  auto* self = static_cast<Connection*>(p->data);
  return self->guarded([&] { return self->check_head(p); });
}

int HttpServers::Connection::check_head(http_parser* p) {
  Connection* self = this;
  self->headers_done_ = true;
  if (p->http_major != 1 || p->http_minor > 1) {
    self->reject_status_ = 505;
    return -1;
  }
  const std::uint64_t max_body = self->server_->limits().max_body_bytes;
  // Refused before any byte of it is read.
  if ((p->flags & F_CONTENTLENGTH) && p->content_length > max_body) {
    self->reject_status_ = 413;
    return -1;
  }
  self->method_ = http_method_str(static_cast<http_method>(p->method));
  self->http10_ = p->http_minor == 0;
  self->keep_alive_ = http_should_keep_alive(p) != 0;
  bool expect_continue = false;
  int transfer_encodings = 0;
  for (std::size_t i = 0; i + 1 < self->fields_.size(); i += 2) {
    const std::string& name = self->fields_[i];
    // http_parser (as built) lets "Name : value" and "Na me: value"
    // through; a proxy in front may read them otherwise (smuggling).
    if (!is_http_token(name)) {
      self->reject_status_ = 400;
      return -1;
    }
    if (strcasecmp(name.c_str(), "transfer-encoding") == 0) {
      // Only "chunked", once: another coding would reach Emacs still
      // encoded, and a repeated one is read differently by different
      // parsers.
      if (++transfer_encodings > 1) {
        self->reject_status_ = 400;
        return -1;
      }
      if (trimmed_lower(self->fields_[i + 1]) != "chunked") {
        self->reject_status_ = 501;
        return -1;
      }
    } else if (strcasecmp(name.c_str(), "expect") == 0) {
      if (strcasecmp(trimmed_lower(self->fields_[i + 1]).c_str(), "100-continue") != 0) {
        self->reject_status_ = 417;
        return -1;
      }
      expect_continue = true;
    }
  }
  // Once, and only to a client that will send a body.
  const bool has_body = (p->flags & F_CHUNKED) || ((p->flags & F_CONTENTLENGTH) && p->content_length > 0);
  if (expect_continue && has_body && !self->http10_) self->send("HTTP/1.1 100 Continue\r\n\r\n");
  return 0;
}

int HttpServers::Connection::on_body(http_parser* p, const char* at, std::size_t n) {
  auto* self = static_cast<Connection*>(p->data);
  if (self->body_.size() + n > self->server_->limits().max_body_bytes) {
    self->reject_status_ = 413;
    return -1;
  }
  try {
    self->body_.append(at, n);
  } catch (...) {
    self->reject_status_ = 413;
    return -1;
  }
  return 0;
}

int HttpServers::Connection::on_message_complete(http_parser* p) {
  auto* self = static_cast<Connection*>(p->data);
  uv_timer_stop(&self->timer_);
  self->in_message_ = false;
  return self->guarded([&] {
    self->hand_over();
    http_parser_pause(p, 1);
    return 0;
  });
}

void HttpServers::Connection::hand_over() {
  std::vector<Datum> headers;
  headers.reserve(fields_.size());
  for (std::string& f : fields_) headers.push_back(Datum::bytes(std::move(f)));
  fields_.clear();
  request_ = server_->add_request(this);
  state_ = State::handling;
  head_only_ = method_ == "HEAD";
  // A protocol switch is not served: the connection ends after this.
  close_after_ = parser_.upgrade || !keep_alive_;
  Completion c{server_->id(), Status::event};
  c.error_kind = "request";
  c.data = std::make_shared<const Datum>(Datum::vector({
      Datum::integer(static_cast<std::int64_t>(request_)),
      Datum::bytes(method_),
      Datum::bytes(std::move(target_)),
      Datum::text(http10_ ? "1.0" : "1.1"),
      Datum::vector(std::move(headers)),
      Datum::bytes(std::move(body_)),
      Datum::text(remote_),
  }));
  target_.clear();
  body_.clear();
  server_->owner()->event(std::move(c));
}

}  // namespace aio
