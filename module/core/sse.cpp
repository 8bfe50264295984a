#include "sse.hpp"

#include <cstddef>

namespace aio {

namespace {

constexpr std::string_view bom = "\xEF\xBB\xBF";

bool field_is(std::string_view field, std::string_view name) { return field == name; }

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// The length of the valid UTF-8 sequence at the start of S, or 0.
std::size_t utf8_sequence(std::string_view s) {
  const auto b = static_cast<unsigned char>(s[0]);
  std::size_t n;
  unsigned char lo = 0x80, hi = 0xBF;
  if (b < 0x80) return 1;
  if (b >= 0xC2 && b <= 0xDF) {
    n = 2;
  } else if (b >= 0xE0 && b <= 0xEF) {
    n = 3;
    if (b == 0xE0) lo = 0xA0;
    if (b == 0xED) hi = 0x9F;
  } else if (b >= 0xF0 && b <= 0xF4) {
    n = 4;
    if (b == 0xF0) lo = 0x90;
    if (b == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (s.size() < n) return 0;
  for (std::size_t i = 1; i < n; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < (i == 1 ? lo : 0x80) || c > (i == 1 ? hi : 0xBF)) return 0;
  }
  return n;
}

}  // namespace

std::string valid_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  while (!bytes.empty()) {
    const std::size_t n = utf8_sequence(bytes);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      bytes.remove_prefix(1);
    } else {
      out.append(bytes.data(), n);
      bytes.remove_prefix(n);
    }
  }
  return out;
}

void SseParser::feed(std::string_view bytes, std::vector<SseEvent>* out) {
  std::string joined;
  if (!started_) {
    // Wait for three bytes before deciding about a byte order mark.
    joined = partial_;
    joined.append(bytes);
    partial_.clear();
    std::string_view all(joined);
    if (all.size() < bom.size() && bom.substr(0, all.size()) == all) {
      partial_ = joined;
      return;
    }
    started_ = true;
    if (all.substr(0, bom.size()) == bom) all.remove_prefix(bom.size());
    bytes = all;
  }
  if (skip_lf_ && !bytes.empty()) {
    skip_lf_ = false;
    if (bytes.front() == '\n') bytes.remove_prefix(1);
  }
  while (!bytes.empty()) {
    const std::size_t end = bytes.find_first_of("\r\n");
    if (end == std::string_view::npos) {
      partial_.append(bytes);
      return;
    }
    if (partial_.empty()) {
      line(bytes.substr(0, end), out);
    } else {
      partial_.append(bytes.substr(0, end));
      line(partial_, out);
      partial_.clear();
    }
    const bool cr = bytes[end] == '\r';
    bytes.remove_prefix(end + 1);
    if (cr) {
      if (bytes.empty()) {
        skip_lf_ = true;
      } else if (bytes.front() == '\n') {
        bytes.remove_prefix(1);
      }
    }
  }
}

void SseParser::line(std::string_view text, std::vector<SseEvent>* out) {
  if (text.empty()) {
    if (has_data_) {
      SseEvent e;
      e.type = type_.empty() ? "message" : valid_utf8(type_);
      e.data = valid_utf8(data_);
      e.has_id = has_last_id_;
      if (has_last_id_) e.id = valid_utf8(last_id_);
      e.retry = retry_;
      out->push_back(std::move(e));
    }
    data_.clear();
    has_data_ = false;
    type_.clear();
    retry_ = -1;
    return;
  }
  if (text.front() == ':') return;  // a comment
  const std::size_t colon = text.find(':');
  std::string_view field = text.substr(0, colon);
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = text.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field_is(field, "data")) {
    if (has_data_) data_ += '\n';
    data_.append(value);
    has_data_ = true;
  } else if (field_is(field, "event")) {
    type_.assign(value);
  } else if (field_is(field, "id")) {
    if (value.find('\0') == std::string_view::npos) {
      last_id_.assign(value);
      has_last_id_ = true;
    }
  } else if (field_is(field, "retry")) {
    if (all_digits(value) && value.size() < 18) retry_ = std::stoll(std::string(value));
  }
}

}  // namespace aio
