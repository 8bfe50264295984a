#include "http_types.hpp"

#include <cstring>

namespace aio {

const char* http_error_kind_name(HttpErrorKind kind) {
  switch (kind) {
    case HttpErrorKind::resolve: return "resolve";
    case HttpErrorKind::connect: return "connect";
    case HttpErrorKind::tls: return "tls";
    case HttpErrorKind::timeout: return "timeout";
    case HttpErrorKind::too_many_redirects: return "too-many-redirects";
    case HttpErrorKind::protocol: return "protocol";
    case HttpErrorKind::too_large: return "too-large";
    case HttpErrorKind::malformed: return "malformed";
    case HttpErrorKind::descriptors: return "descriptors";
    case HttpErrorKind::file: return "file";
    case HttpErrorKind::status: return "status";
    case HttpErrorKind::other: break;
  }
  return "other";
}

bool is_http_token(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (c <= 32 || c >= 127 || std::strchr("\"(),/:;<=>?@[\\]{}", c)) return false;
  }
  return true;
}

}  // namespace aio
