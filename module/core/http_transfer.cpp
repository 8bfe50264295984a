#include "http_transfer.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <charconv>
#include <new>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "http_headers.hpp"

namespace aio {

namespace {

// The host part of URL, or "" when curl cannot parse it (curl then
// reports the malformed URL itself).
std::string host_of(const std::string& url) {
  std::string host;
  CURLU* u = curl_url();
  if (!u) return host;
  char* part = nullptr;
  if (curl_url_set(u, CURLUPART_URL, url.c_str(), CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_HOST, &part, 0) == CURLUE_OK) {
    host = part;
    curl_free(part);
  }
  curl_url_cleanup(u);
  return host;
}

// The scheme of URL, lower-cased, or "" when it has none curl can parse
// (curl then guesses http, or reports the malformed URL itself).
std::string scheme_of(const std::string& url) {
  std::string scheme;
  CURLU* u = curl_url();
  if (!u) return scheme;
  char* part = nullptr;
  if (curl_url_set(u, CURLUPART_URL, url.c_str(), CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_SCHEME, &part, 0) == CURLUE_OK) {
    scheme = part;
    curl_free(part);
  }
  curl_url_cleanup(u);
  for (char& c : scheme) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return scheme;
}

bool is_http_scheme(const std::string& scheme) { return scheme == "http" || scheme == "https"; }

// The schemes curl understands in a proxy URL; a proxy without one is http.
bool is_proxy_scheme(const std::string& proxy) {
  const auto sep = proxy.find("://");
  if (sep == std::string::npos) return true;
  std::string scheme = proxy.substr(0, sep);
  for (char& c : scheme) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  for (const char* ok : {"http", "https", "socks4", "socks4a", "socks5", "socks5h"}) {
    if (scheme == ok) return true;
  }
  return false;
}

// LOCATION made absolute against BASE the way curl does when it follows
// a redirect (same URL parser, same flags), so that the chain we report
// ends with curl's effective URL.
std::string resolve_location(const std::string& base, const std::string& location) {
  std::string out = location;
  CURLU* u = curl_url();
  if (!u) return out;
  char* full = nullptr;
  if (curl_url_set(u, CURLUPART_URL, base.c_str(), CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
      curl_url_set(u, CURLUPART_URL, location.c_str(),
                   CURLU_NON_SUPPORT_SCHEME | CURLU_URLENCODE | CURLU_ALLOW_SPACE) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_URL, &full, 0) == CURLUE_OK) {
    out = full;
    curl_free(full);
  }
  curl_url_cleanup(u);
  return out;
}

long status_of(std::string_view status_line) {
  const auto space = status_line.find(' ');
  if (space == std::string_view::npos) return 0;
  std::string_view rest = status_line.substr(space + 1);
  long code = 0;
  std::from_chars(rest.data(), rest.data() + rest.size(), code);
  return code;
}

const std::string* find_header(const HttpResponse& r, std::string_view name) {
  for (const auto& field : r.headers) {
    if (equal_ascii_nocase(field.first, name)) return &field.second;
  }
  return nullptr;
}

double seconds(CURL* easy, CURLINFO info) {
  curl_off_t us = 0;
  curl_easy_getinfo(easy, info, &us);
  return static_cast<double>(us) / 1e6;
}

const char* version_name(long v) {
  switch (v) {
    case CURL_HTTP_VERSION_1_0: return "1.0";
    case CURL_HTTP_VERSION_1_1: return "1.1";
    case CURL_HTTP_VERSION_2_0: return "2";
    case CURL_HTTP_VERSION_3: return "3";
    default: return "";
  }
}

// Bodies are never preallocated beyond this on the word of a header.
constexpr std::uint64_t max_reserve = 256u << 20;

}  // namespace

HttpErrorKind http_error_kind(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return HttpErrorKind::resolve;
    case CURLE_COULDNT_CONNECT:
      return HttpErrorKind::connect;
    case CURLE_OPERATION_TIMEDOUT:
      return HttpErrorKind::timeout;
    case CURLE_TOO_MANY_REDIRECTS:
      return HttpErrorKind::too_many_redirects;
    // Schemes are checked before curl sees a URL (Transfer's constructor,
    // end_of_block), so curl's own "unsupported protocol" is always about
    // the reply: HTTP/0.9, a bad version or status code.
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_BAD_CONTENT_ENCODING:
      return HttpErrorKind::malformed;
    case CURLE_FILESIZE_EXCEEDED:
      return HttpErrorKind::too_large;
    case CURLE_HTTP_RETURNED_ERROR:
      return HttpErrorKind::status;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
      return HttpErrorKind::tls;
    default:
      return HttpErrorKind::other;
  }
}

Transfer::Transfer(std::uint64_t id, HttpRequest request)
    : id_(id), request_(std::move(request)), current_url_(request_.url) {
  // Before setup(), which hands the header lines and the files to curl.
  const std::string unsafe_headers = sanitize_request_headers(&request_.headers);
  std::string file_problem;
  if (request_.upload_path) {
    upload_ = std::make_unique<UploadFile>(*request_.upload_path);
    file_problem = upload_->open();
  }
  if (request_.sink == BodySink::file) download_ = std::make_unique<DownloadFile>(request_.file_path);
  if (request_.stream_waits) mode_ = StreamMode::held;
  easy_ = curl_easy_init();
  if (!easy_) throw std::runtime_error("curl_easy_init failed");
  try {
    setup();
  } catch (...) {
    curl_easy_cleanup(easy_);
    curl_slist_free_all(header_list_);
    throw;
  }
  const std::string scheme = scheme_of(request_.url);
  const std::string host = host_of(request_.url);
  if (!unsafe_headers.empty()) {
    refused_ = error(HttpErrorKind::other, unsafe_headers);
  } else if (!file_problem.empty()) {
    refused_ = error(HttpErrorKind::file, file_problem);
  } else if (!scheme.empty() && !is_http_scheme(scheme)) {
    refused_ = error(HttpErrorKind::protocol, "Protocol \"" + scheme + "\" not supported");
  } else if (request_.proxy && !is_proxy_scheme(*request_.proxy)) {
    refused_ = error(HttpErrorKind::protocol, "Proxy protocol not supported: " + *request_.proxy);
  } else if (is_reserved_invalid_host(host)) {
    refused_ = error(HttpErrorKind::resolve, "Could not resolve host: " + host);
  }
}

Transfer::~Transfer() {
  curl_easy_cleanup(easy_);
  curl_slist_free_all(header_list_);
}

void Transfer::setup() {
  auto check = [](CURLcode rc, const char* what) {
    if (rc != CURLE_OK) throw std::runtime_error(std::string(what) + ": " + curl_easy_strerror(rc));
  };
  const HttpRequest& r = request_;
  check(curl_easy_setopt(easy_, CURLOPT_URL, r.url.c_str()), "URL");
  check(curl_easy_setopt(easy_, CURLOPT_PRIVATE, this), "PRIVATE");
  // The loop thread has no business with signals (curl would use SIGALRM
  // for synchronous DNS timeouts otherwise).
  check(curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L), "NOSIGNAL");
  check(curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, errbuf_), "ERRORBUFFER");
  check(curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, &Transfer::on_header), "HEADERFUNCTION");
  check(curl_easy_setopt(easy_, CURLOPT_HEADERDATA, this), "HEADERDATA");
  check(curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &Transfer::on_body), "WRITEFUNCTION");
  check(curl_easy_setopt(easy_, CURLOPT_WRITEDATA, this), "WRITEDATA");
  check(curl_easy_setopt(easy_, CURLOPT_OPENSOCKETFUNCTION, &Transfer::on_open_socket), "OPENSOCKETFUNCTION");
  check(curl_easy_setopt(easy_, CURLOPT_OPENSOCKETDATA, this), "OPENSOCKETDATA");
  // Nothing but HTTP, even when a server redirects to file: or ftp:.
  check(curl_easy_setopt(easy_, CURLOPT_PROTOCOLS_STR, "http,https"), "PROTOCOLS_STR");
  check(curl_easy_setopt(easy_, CURLOPT_REDIR_PROTOCOLS_STR, "http,https"), "REDIR_PROTOCOLS_STR");
  // "": offer and undo every encoding this libcurl supports.
  check(curl_easy_setopt(easy_, CURLOPT_ACCEPT_ENCODING, ""), "ACCEPT_ENCODING");
  check(curl_easy_setopt(easy_, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L), "SUPPRESS_CONNECT_HEADERS");
  check(curl_easy_setopt(easy_, CURLOPT_FOLLOWLOCATION, r.follow_redirects ? 1L : 0L), "FOLLOWLOCATION");
  check(curl_easy_setopt(easy_, CURLOPT_MAXREDIRS, r.max_redirects), "MAXREDIRS");
  if (r.connect_timeout_ms > 0) {
    check(curl_easy_setopt(easy_, CURLOPT_CONNECTTIMEOUT_MS, r.connect_timeout_ms), "CONNECTTIMEOUT_MS");
  }
  if (r.timeout_ms > 0) check(curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, r.timeout_ms), "TIMEOUT_MS");
  check(curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYPEER, r.verify_tls ? 1L : 0L), "SSL_VERIFYPEER");
  check(curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYHOST, r.verify_tls ? 2L : 0L), "SSL_VERIFYHOST");
  if (!r.ca_file.empty()) check(curl_easy_setopt(easy_, CURLOPT_CAINFO, r.ca_file.c_str()), "CAINFO");
  if (r.proxy) check(curl_easy_setopt(easy_, CURLOPT_PROXY, r.proxy->c_str()), "PROXY");
  if (r.max_size > 0) {
    // Refuses a too large Content-Length before any body arrives; on_body
    // enforces the limit for bodies of unknown or lying length.
    check(curl_easy_setopt(easy_, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(r.max_size)),
          "MAXFILESIZE_LARGE");
  }

  bool has_expect = false;
  for (const std::string& line : r.headers) {
    std::pair<std::string, std::string> field;
    if (split_header(line, &field) && equal_ascii_nocase(field.first, "Expect")) has_expect = true;
    curl_slist* next = curl_slist_append(header_list_, line.c_str());
    if (!next) throw std::bad_alloc();
    header_list_ = next;
  }
  if (!has_expect) {
    // curl adds "Expect: 100-continue" to large bodies and then waits up
    // to a second for servers that never answer it.
    curl_slist* next = curl_slist_append(header_list_, "Expect:");
    if (!next) throw std::bad_alloc();
    header_list_ = next;
  }
  check(curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, header_list_), "HTTPHEADER");

  if (r.fail_on_error_status) check(curl_easy_setopt(easy_, CURLOPT_FAILONERROR, 1L), "FAILONERROR");
  if (r.idle_timeout_s > 0) {
    // Less than a byte a second for that long: curl's own speed check.
    check(curl_easy_setopt(easy_, CURLOPT_LOW_SPEED_LIMIT, 1L), "LOW_SPEED_LIMIT");
    check(curl_easy_setopt(easy_, CURLOPT_LOW_SPEED_TIME, r.idle_timeout_s), "LOW_SPEED_TIME");
  }
  if (r.progress) {
    check(curl_easy_setopt(easy_, CURLOPT_XFERINFOFUNCTION, &Transfer::on_progress), "XFERINFOFUNCTION");
    check(curl_easy_setopt(easy_, CURLOPT_XFERINFODATA, this), "XFERINFODATA");
    check(curl_easy_setopt(easy_, CURLOPT_NOPROGRESS, 0L), "NOPROGRESS");
  }
  setup_body();
}

// curl's callbacks are C: an exception leaving one would end in
// std::terminate, that is, abort Emacs. Each catches everything and
// fails its transfer instead.

std::size_t Transfer::on_header(char* data, std::size_t size, std::size_t n, void* p) {
  auto* self = static_cast<Transfer*>(p);
  const std::size_t len = size * n;
  try {
    return self->header_line(std::string_view(data, len)) ? len : 0;
  } catch (...) {
    self->out_of_memory_at_ = self->response_->body.size() + 1;
    return 0;
  }
}

curl_socket_t Transfer::on_open_socket(void* p, curlsocktype, curl_sockaddr* address) {
  // Close-on-exec from birth: a process Emacs starts must not inherit
  // the connection, or the server would never see it closed.
  const int fd = ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
  if (fd < 0) {
    if (errno == EMFILE || errno == ENFILE) static_cast<Transfer*>(p)->no_descriptor_ = true;
    return CURL_SOCKET_BAD;
  }
  return fd;
}

bool Transfer::header_line(std::string_view raw) {
  const std::string_view line = strip_line_end(raw);
  HttpResponse& r = *response_;
  if (is_status_line(line)) {
    // Each status line starts a new response (1xx, proxy CONNECT, a
    // redirect, or the final one): only the last block is kept.
    r.headers.clear();
    r.body.clear();
    r.status_line.assign(line);
    block_status_ = status_of(line);
    final_headers_ = false;
    return true;
  }
  if (line.empty()) return end_of_block();
  if (is_continuation(line) && !r.headers.empty()) {
    std::pair<std::string, std::string> folded;
    if (split_header(std::string("x:") + std::string(line), &folded) && !folded.second.empty()) {
      r.headers.back().second += ' ';
      r.headers.back().second += folded.second;
    }
    return true;
  }
  std::pair<std::string, std::string> field;
  if (split_header(line, &field)) r.headers.push_back(std::move(field));
  return true;
}

bool Transfer::end_of_block() {
  HttpResponse& r = *response_;
  const bool redirect = block_status_ >= 300 && block_status_ <= 399;
  const std::string* location = redirect ? find_header(r, "Location") : nullptr;
  if (!request_.follow_redirects || !location) {
    // 1xx blocks (100 Continue, 103 Early Hints) come before the final one.
    final_headers_ = block_status_ >= 200;
    if (final_headers_ && request_.sink == BodySink::stream) headers_event();
    // Possibly the final response: make room for a body of known length.
    const std::string* length = find_header(r, "Content-Length");
    std::uint64_t n = 0;
    if (request_.sink == BodySink::memory && length &&
        std::from_chars(length->data(), length->data() + length->size(), n).ec == std::errc() &&
        n <= max_reserve && (request_.max_size == 0 || n <= request_.max_size)) {
      // Only a hint: a body that does not fit fails in on_body instead.
      try {
        r.body.reserve(n);
      } catch (const std::bad_alloc&) {
      }
    }
    return true;
  }
  // curl follows any 3xx with a Location when asked to: record where to.
  current_url_ = resolve_location(current_url_, *location);
  r.redirects.push_back(current_url_);
  const bool will_follow = request_.max_redirects < 0 ||
                           r.redirects.size() <= static_cast<std::size_t>(request_.max_redirects);
  const std::string scheme = scheme_of(current_url_);
  if (will_follow && !scheme.empty() && !is_http_scheme(scheme)) {
    aborted_ = error(HttpErrorKind::protocol, "Redirect to protocol \"" + scheme + "\" not allowed");
    return false;
  }
  const std::string host = host_of(current_url_);
  if (will_follow && is_reserved_invalid_host(host)) {
    aborted_ = error(HttpErrorKind::resolve, "Could not resolve host: " + host);
    return false;
  }
  return true;
}

Completion Transfer::error(HttpErrorKind kind, std::string message) const {
  Completion c{id_, Status::error, std::move(message)};
  c.error_kind = http_error_kind_name(kind);
  return c;
}

Completion Transfer::too_large() const {
  return error(HttpErrorKind::too_large, "Response body larger than " + std::to_string(request_.max_size) + " bytes");
}

Completion Transfer::failure(CURLcode code) const {
  const std::string message = errbuf_[0] ? std::string(errbuf_) : curl_easy_strerror(code);
  if (code == CURLE_FILESIZE_EXCEEDED && request_.max_size > 0) {
    return too_large();
  }
  if (no_descriptor_ && code == CURLE_COULDNT_CONNECT) {
    return error(HttpErrorKind::descriptors,
                 "No file descriptor left for a new connection (too many open files)");
  }
  // curl 7.88 reports a header line over its 100 KiB limit as "Out of
  // memory" (which it is not: saying so would send users looking for a
  // leak), and a header block over 300 KiB, a broken chunk or a
  // connection reset all as receive errors; only a reset says "Recv failure".
  if (code == CURLE_OUT_OF_MEMORY && !final_headers_) {
    return error(HttpErrorKind::malformed, "Response header too large or malformed");
  }
  if (code == CURLE_RECV_ERROR && message.rfind("Recv failure", 0) != 0) {
    return error(HttpErrorKind::malformed, message);
  }
  return error(http_error_kind(code), message);
}

Completion Transfer::event(const char* kind) const {
  Completion c{id_, Status::event};
  c.error_kind = kind;
  return c;
}

void Transfer::headers_event() {
  // What the final response will say, less its body and timings.
  auto r = std::make_shared<HttpResponse>(*response_);
  r->status = block_status_;
  long version = 0;
  curl_easy_getinfo(easy_, CURLINFO_HTTP_VERSION, &version);
  r->version = version_name(version);
  r->url = current_url_;
  const std::string* encoding = find_header(*r, "Content-Encoding");
  r->decoded = encoding && !encoding->empty() && !equal_ascii_nocase(*encoding, "identity");
  Completion c = event("headers");
  c.http = std::move(r);
  events_.push_back(std::move(c));
}

Completion Transfer::finish(CURLcode code) {
  if (aborted_) return std::move(*aborted_);
  if (out_of_memory_at_ > 0) {
    return error(HttpErrorKind::too_large,
                 "Out of memory for a response of " + std::to_string(out_of_memory_at_) + " bytes");
  }
  if (code != CURLE_OK) return failure(code);
  if (request_.progress) {
    // The last report has the final counts, however recent the one before.
    curl_off_t down = 0, up = 0;
    curl_easy_getinfo(easy_, CURLINFO_SIZE_DOWNLOAD_T, &down);
    curl_easy_getinfo(easy_, CURLINFO_SIZE_UPLOAD_T, &up);
    Completion p = event("progress");
    p.progress[0] = p.progress[1] = down;
    p.progress[2] = p.progress[3] = up;
    progress_ = std::move(p);
  }
  if (download_) {
    if (std::string e = download_->commit(); !e.empty()) return error(HttpErrorKind::file, e);
  }
  HttpResponse& r = *response_;
  curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &r.status);
  long version = 0;
  curl_easy_getinfo(easy_, CURLINFO_HTTP_VERSION, &version);
  r.version = version_name(version);
  char* url = nullptr;
  if (curl_easy_getinfo(easy_, CURLINFO_EFFECTIVE_URL, &url) == CURLE_OK && url) r.url = url;
  r.timings.namelookup = seconds(easy_, CURLINFO_NAMELOOKUP_TIME_T);
  r.timings.connect = seconds(easy_, CURLINFO_CONNECT_TIME_T);
  r.timings.appconnect = seconds(easy_, CURLINFO_APPCONNECT_TIME_T);
  r.timings.starttransfer = seconds(easy_, CURLINFO_STARTTRANSFER_TIME_T);
  r.timings.total = seconds(easy_, CURLINFO_TOTAL_TIME_T);
  const std::string* encoding = find_header(r, "Content-Encoding");
  r.decoded = encoding && !encoding->empty() && !equal_ascii_nocase(*encoding, "identity");
  Completion c{id_, Status::ok, {}};
  c.http = std::shared_ptr<const HttpResponse>(std::move(response_));
  return c;
}

}  // namespace aio
