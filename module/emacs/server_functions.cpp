// Module functions for the native HTTP server.
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <utility>

#include "../core/file_util.hpp"
#include "../core/http_server.hpp"
#include "../core/http_types.hpp"
#include "args.hpp"
#include "registry.hpp"
#include "state.hpp"

namespace aio::emacs {

namespace {

std::uint64_t count_option(Env& env, const Options& options, const char* key, std::uint64_t dflt, std::intmax_t max) {
  emacs_value v = options.get(key);
  return env.is_nil(v) ? dflt : static_cast<std::uint64_t>(env.integer_in(v, 1, max));
}

std::uint64_t ms_option(Env& env, const Options& options, const char* key, std::uint64_t dflt) {
  emacs_value v = options.get(key);
  return env.is_nil(v) ? dflt
                       : static_cast<std::uint64_t>(std::ceil(env.number_in(v, 0.001, max_seconds) * 1000.0));
}

emacs_value server_start(Env& env, std::ptrdiff_t, emacs_value* args) {
  const std::uint64_t id = id_of(env, args[0]);
  const std::string host = line_of(env, args[1]);
  const int port = static_cast<int>(env.integer_in(args[2], 0, 65535));
  emacs_value opts = args[3];
  const Options options(env, opts);
  ServerLimits limits;
  limits.max_header_bytes = count_option(env, options, ":max-header-bytes", limits.max_header_bytes, 1 << 24);
  limits.max_body_bytes =
      count_option(env, options, ":max-body-bytes", limits.max_body_bytes, std::numeric_limits<std::int64_t>::max());
  limits.request_timeout_ms = ms_option(env, options, ":request-timeout", limits.request_timeout_ms);
  limits.keep_alive_ms = ms_option(env, options, ":keep-alive-timeout", limits.keep_alive_ms);
  limits.max_connections = count_option(env, options, ":max-connections", limits.max_connections, 100000);
  Loop& loop = running_loop(env);
  int bound = 0, err = 0;
  const char* what = nullptr;
  // Bound here, on Emacs's thread (binding a numeric address never
  // waits), so that the port is known, and an error signaled, at once.
  const int fd = listen_socket(host, port, &bound, &err, &what);
  if (fd < 0) env.signal("file-error", {env.string(what), env.string(error_text(err)), args[1], args[2]});
  try {
    loop.serve_http(id, fd, limits);
  } catch (...) {
    // Not handed over (no memory for the command): still ours to close.
    ::close(fd);
    throw;
  }
  return env.integer(bound);
}

emacs_value server_stop(Env& env, std::ptrdiff_t, emacs_value* args) {
  running_loop(env).stop_http_server(id_of(env, args[0]));
  return env.nil();
}

emacs_value server_respond(Env& env, std::ptrdiff_t, emacs_value* args) {
  const std::uint64_t id = id_of(env, args[0]);
  const std::uint64_t req = id_of(env, args[1]);
  ServerResponse r;
  r.status = static_cast<int>(env.integer_in(args[2], 200, 599));
  check_list(env, args[3]);
  for (emacs_value tail = args[3]; !env.is_nil(tail); tail = env.call("cdr", {tail})) {
    emacs_value field = env.call("car", {tail});
    if (env.is_nil(env.call("consp", {field}))) env.wrong_type("consp", field);
    std::string name = line_of(env, env.call("car", {field}));
    if (!is_http_token(name)) env.signal("args-out-of-range", {env.call("car", {field})});
    r.headers.emplace_back(std::move(name), line_of(env, env.call("cdr", {field})));
  }
  emacs_value body = args[4];
  if (env.eq(body, env.intern("stream"))) {
    r.kind = ServerResponse::Body::stream;
  } else if (!env.is_nil(env.call("consp", {body}))) {
    if (!env.eq(env.call("car", {body}), env.intern("file"))) env.signal("args-out-of-range", {body});
    r.kind = ServerResponse::Body::file;
    r.file_path = path_of(env, env.call("car-safe", {env.call("cdr", {body})}));
  } else if (!env.is_nil(body)) {
    r.body = bytes_of(env, body);
  }
  running_loop(env).respond_http(id, req, std::move(r));
  return env.nil();
}

emacs_value server_write(Env& env, std::ptrdiff_t, emacs_value* args) {
  running_loop(env).write_http(id_of(env, args[0]), id_of(env, args[1]), bytes_of(env, args[2]));
  return env.nil();
}

emacs_value server_end(Env& env, std::ptrdiff_t, emacs_value* args) {
  running_loop(env).end_http(id_of(env, args[0]), id_of(env, args[1]));
  return env.nil();
}

emacs_value server_abort(Env& env, std::ptrdiff_t, emacs_value* args) {
  running_loop(env).abort_http(id_of(env, args[0]), id_of(env, args[1]));
  return env.nil();
}

const Function functions[] = {
    {"aio-native--server-start", 4, 4, boundary<server_start>,
     "Serve HTTP on HOST (an IP address string) and PORT (0: a free one) as ID.\n"
     "OPTIONS is a plist of :max-header-bytes, :max-body-bytes,\n"
     ":request-timeout and :keep-alive-timeout (seconds) and\n"
     ":max-connections.  The server sends (request . [REQ METHOD TARGET\n"
     "VERSION HEADERS BODY REMOTE]), (sent . [REQ BYTES]) and (closed . REQ)\n"
     "events, and completes once stopped.  Return the port it listens on;\n"
     "signal `file-error' if it cannot.\n\n"
     "(fn ID HOST PORT OPTIONS)"},
    {"aio-native--server-stop", 1, 1, boundary<server_stop>,
     "Stop server ID: close its socket and every connection.\n\n(fn ID)"},
    {"aio-native--server-respond", 5, 5, boundary<server_respond>,
     "Answer request REQ of server ID with STATUS (200 to 599) and HEADERS.\n"
     "HEADERS is a list of (NAME . VALUE) strings.  BODY is a unibyte string,\n"
     "nil, (file PATH) for a file the loop thread sends, or `stream' for a\n"
     "body sent with `aio-native--server-write' and `aio-native--server-end'.\n\n"
     "(fn ID REQ STATUS HEADERS BODY)"},
    {"aio-native--server-write", 3, 3, boundary<server_write>,
     "Send BYTES, more of the streamed body of request REQ of server ID.\n\n(fn ID REQ BYTES)"},
    {"aio-native--server-end", 2, 2, boundary<server_end>,
     "End the streamed body of request REQ of server ID.\n\n(fn ID REQ)"},
    {"aio-native--server-abort", 2, 2, boundary<server_abort>,
     "Drop the connection of request REQ of server ID.\n\n(fn ID REQ)"},
};

}  // namespace

void define_server_functions(Env& env) { define_functions(env, functions); }

}  // namespace aio::emacs
