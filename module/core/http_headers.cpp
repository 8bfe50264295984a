#include "http_headers.hpp"

#include "http_types.hpp"

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

const char* http_error_kind_name(HttpErrorKind kind) {
  switch (kind) {
    case HttpErrorKind::resolve: return "resolve";
    case HttpErrorKind::connect: return "connect";
    case HttpErrorKind::tls: return "tls";
    case HttpErrorKind::timeout: return "timeout";
    case HttpErrorKind::too_many_redirects: return "too-many-redirects";
    case HttpErrorKind::protocol: return "protocol";
    case HttpErrorKind::too_large: return "too-large";
    case HttpErrorKind::other: break;
  }
  return "other";
}

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

bool is_reserved_invalid_host(std::string_view host) {
  // A fully qualified name may end with a dot.
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  constexpr std::string_view tld = "invalid";
  if (host.size() < tld.size()) return false;
  if (!equal_ascii_nocase(host.substr(host.size() - tld.size()), tld)) return false;
  return host.size() == tld.size() || host[host.size() - tld.size() - 1] == '.';
}

}  // namespace aio
