// Module functions for the HTTP engine, and the Lisp form of a response.
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "../core/http_headers.hpp"
#include "../core/http_types.hpp"
#include "args.hpp"
#include "registry.hpp"
#include "state.hpp"

namespace aio::emacs {

namespace {

long milliseconds(Env& env, emacs_value seconds) {
  return static_cast<long>(std::ceil(env.number_in(seconds, 0.001, max_seconds) * 1000.0));
}

emacs_value http_start(Env& env, std::ptrdiff_t, emacs_value* args) {
  auto id = static_cast<std::uint64_t>(env.integer_in(args[0], 0, max_id));
  HttpRequest r;
  r.url = line_of(env, args[1]);
  r.method = line_of(env, args[2]);
  if (r.method.empty() || r.method.find_first_of(" \t") != std::string::npos) {
    env.signal("args-out-of-range", {args[2]});
  }
  check_list(env, args[3]);
  for (emacs_value tail = args[3]; !env.is_nil(tail); tail = env.call("cdr", {tail})) {
    r.headers.push_back(line_of(env, env.call("car", {tail})));
  }
  if (std::string why = sanitize_request_headers(&r.headers); !why.empty()) {
    env.signal("args-out-of-range", {env.string(why), args[3]});
  }
  if (!env.is_nil(args[4])) r.body = bytes_of(env, args[4]);

  emacs_value opts = args[5];
  const Options options(env, opts);
  emacs_value v = options.get(":connect-timeout");
  if (!env.is_nil(v)) r.connect_timeout_ms = milliseconds(env, v);
  v = options.get(":timeout");
  if (!env.is_nil(v)) r.timeout_ms = milliseconds(env, v);
  r.follow_redirects = !env.is_nil(options.get(":follow-redirects"));
  v = options.get(":max-redirects");
  if (!env.is_nil(v)) r.max_redirects = static_cast<long>(env.integer_in(v, 0, 1000));
  r.verify_tls = !env.is_nil(options.get(":verify-tls"));
  v = options.get(":ca-file");
  if (!env.is_nil(v)) r.ca_file = path_of(env, v);
  v = options.get(":max-size");
  if (!env.is_nil(v)) {
    r.max_size = static_cast<std::uint64_t>(env.integer_in(v, 1, std::numeric_limits<std::int64_t>::max()));
  }
  v = options.get(":proxy");
  if (!env.is_nil(v)) r.proxy = line_of(env, v);
  v = options.get(":sink");
  if (env.eq(v, env.intern("stream"))) {
    r.sink = BodySink::stream;
  } else if (!env.is_nil(env.call("consp", {v})) && env.eq(env.call("car", {v}), env.intern("file"))) {
    r.sink = BodySink::file;
    r.file_path = line_of(env, env.call("car-safe", {env.call("cdr", {v})}));
  } else if (!env.is_nil(v)) {
    env.signal("args-out-of-range", {v});
  }
  r.stream_waits = !env.is_nil(options.get(":stream-waits"));
  v = options.get(":window");
  if (!env.is_nil(v)) r.stream_window = static_cast<std::uint64_t>(env.integer_in(v, 1, std::int64_t{1} << 40));
  v = options.get(":upload-file");
  if (!env.is_nil(v)) r.upload_path = line_of(env, v);
  r.progress = !env.is_nil(options.get(":progress"));
  r.fail_on_error_status = !env.is_nil(options.get(":fail-on-error-status"));
  v = options.get(":idle-timeout");
  if (!env.is_nil(v)) r.idle_timeout_s = static_cast<long>(std::ceil(env.number_in(v, 0.001, max_seconds)));

  running_loop(env).start_http(id, std::move(r));
  return args[0];
}

emacs_value http_ack(Env& env, std::ptrdiff_t, emacs_value* args) {
  auto id = static_cast<std::uint64_t>(env.integer_in(args[0], 0, max_id));
  auto bytes = static_cast<std::uint64_t>(env.integer_in(args[1], 0, std::numeric_limits<std::int64_t>::max()));
  running_loop(env).ack_http(id, bytes);
  return env.nil();
}

emacs_value http_stream_start(Env& env, std::ptrdiff_t, emacs_value* args) {
  auto id = static_cast<std::uint64_t>(env.integer_in(args[0], 0, max_id));
  running_loop(env).start_http_stream(id, !env.is_nil(args[1]));
  return env.nil();
}

emacs_value http_limits(Env& env, std::ptrdiff_t, emacs_value* args) {
  HttpLimits limits;
  limits.total = static_cast<long>(env.integer_in(args[0], 1, 100000));
  limits.per_host = static_cast<long>(env.integer_in(args[1], 1, 100000));
  limits.idle = static_cast<long>(env.integer_in(args[2], 0, 100000));
  running_loop(env).set_http_limits(limits);
  return env.nil();
}

emacs_value http_cancel(Env& env, std::ptrdiff_t, emacs_value* args) {
  auto id = static_cast<std::uint64_t>(env.integer_in(args[0], 0, max_id));
  running_loop(env).cancel_http(id);
  return env.nil();
}

const Function functions[] = {
    {"aio-native--http-start", 6, 6, boundary<http_start>,
     "Start HTTP transfer ID of URL with METHOD, HEADERS and BODY.\n"
     "HEADERS is a list of \"Name: value\" strings, BODY a unibyte string or\n"
     "nil for no body; Content-Length and Transfer-Encoding in HEADERS are\n"
     "dropped (the body's own length is sent), and a second or empty Host\n"
     "is refused.  OPTIONS is a plist of :connect-timeout and :timeout\n"
     "(seconds), :follow-redirects and :verify-tls (booleans), :ca-file (a\n"
     "file of certificates to trust instead of the system's), :max-redirects,\n"
     ":max-size (bytes) and :proxy (a string; \"\" for none; nil for the\n"
     "environment's), :sink (nil: the body in the response; `stream': events\n"
     "\\=(headers . RESPONSE) then (chunk . BYTES), paused while more than\n"
     ":window bytes are not acknowledged with `aio-native--http-ack', and\n"
     "with :stream-waits held until `aio-native--http-stream-start'; or\n"
     "\\=(file PATH): written to PATH), :upload-file (a file whose bytes are\n"
     "the body), :progress (non-nil for (progress . [DOWN TOTAL UP TOTAL])\n"
     "events), :idle-timeout (seconds without a byte) and\n"
     ":fail-on-error-status (a status of 400 or more fails, kind `status').\n"
     "The completion's payload is a response vector, see `aio-native--drain'.\n"
     "Return ID.\n\n"
     "(fn ID URL METHOD HEADERS BODY OPTIONS)"},
    {"aio-native--http-ack", 2, 2, boundary<http_ack>,
     "Tell streamed HTTP transfer ID that its reader took BYTES of its body.\n"
     "A transfer paused for want of room goes on once half its window is\n"
     "free.  An ID that is not pending is ignored.\n\n(fn ID BYTES)"},
    {"aio-native--http-stream-start", 2, 2, boundary<http_stream_start>,
     "Let the held body of streamed HTTP transfer ID go.\n"
     "With SSE nil, as (chunk . BYTES) events; else parsed as server-sent\n"
     "events, in (sse . [BYTES EVENT...]) events, BYTES the body bytes\n"
     "they took (to acknowledge with `aio-native--http-ack') and each\n"
     "EVENT an `aio-sse-event' record.  See :stream-waits of\n"
     "`aio-native--http-start'.  An ID that is not pending is ignored.\n\n"
     "(fn ID SSE)"},
    {"aio-native--http-limits", 3, 3, boundary<http_limits>,
     "Cap the HTTP engine's connections: TOTAL open at once, PER-HOST to\n"
     "one host, IDLE kept for reuse.  Transfers over a cap wait for a slot.\n\n"
     "(fn TOTAL PER-HOST IDLE)"},
    {"aio-native--http-cancel", 1, 1, boundary<http_cancel>,
     "Abort HTTP transfer ID; its completion then has status cancelled.\n"
     "An ID that is not pending is ignored.\n\n(fn ID)"},
};

}  // namespace

void define_http_functions(Env& env) { define_functions(env, functions); }

}  // namespace aio::emacs
