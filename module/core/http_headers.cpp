#include "http_headers.hpp"

namespace aio {

namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool blank(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string_view strip_line_end(std::string_view line) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

bool is_status_line(std::string_view line) {
  return line.size() >= 5 && line.substr(0, 5) == "HTTP/";
}

bool is_continuation(std::string_view line) { return !line.empty() && blank(line.front()); }

bool split_header(std::string_view line, std::pair<std::string, std::string>* out) {
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return false;
  std::string_view name = trim(line.substr(0, colon));
  if (name.empty()) return false;
  out->first.assign(name);
  out->second.assign(trim(line.substr(colon + 1)));
  return true;
}

bool equal_ascii_nocase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string sanitize_request_headers(std::vector<std::string>* lines) {
  std::size_t total = 0;
  bool has_host = false;
  std::vector<std::string> kept;
  kept.reserve(lines->size());
  for (std::string& line : *lines) {
    const auto end = line.find_first_of(":;");
    std::string_view name = end == std::string::npos ? std::string_view() : trim(std::string_view(line).substr(0, end));
    if (name.empty()) return "Not a header line: " + line.substr(0, 64);
    if (equal_ascii_nocase(name, "Content-Length") || equal_ascii_nocase(name, "Transfer-Encoding")) continue;
    if (equal_ascii_nocase(name, "Host")) {
      if (has_host) return "More than one Host header";
      if (line[end] == ';' || trim(std::string_view(line).substr(end + 1)).empty()) return "Empty Host header";
      has_host = true;
    }
    total += line.size() + 2;
    if (total > max_request_header_bytes) {
      return "Request headers larger than " + std::to_string(max_request_header_bytes) + " bytes";
    }
    kept.push_back(std::move(line));
  }
  lines->swap(kept);
  return {};
}

bool is_reserved_invalid_host(std::string_view host) {
  // A fully qualified name may end with a dot.
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  constexpr std::string_view tld = "invalid";
  if (host.size() < tld.size()) return false;
  if (!equal_ascii_nocase(host.substr(host.size() - tld.size()), tld)) return false;
  return host.size() == tld.size() || host[host.size() - tld.size() - 1] == '.';
}

}  // namespace aio
