#include "http_types.hpp"

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

}  // namespace aio
