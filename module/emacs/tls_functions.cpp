// Module functions for TLS connections (module/core/tls.hpp).
#include <limits>
#include <string>
#include <utility>

#include "../core/tls_connection.hpp"
#include "args.hpp"
#include "registry.hpp"
#include "state.hpp"

namespace aio::emacs {

namespace {

emacs_value tls_connect(Env& env, std::ptrdiff_t, emacs_value* args) {
  const std::uint64_t id = id_of(env, args[0]);
  TlsRequest r;
  r.host = line_of(env, args[1]);
  // It goes into a URL: what would end the host there (a path, a user,
  // a port) would have curl connect to, and verify, another.
  if (r.host.empty() || r.host.find_first_of("/?#@[]\\ \t%") != std::string::npos) {
    env.signal("args-out-of-range", {args[1]});
  }
  r.port = static_cast<int>(env.integer_in(args[2], 1, 65535));
  if (!env.is_nil(args[3])) {
    r.address = line_of(env, args[3]);
    if (r.address.empty()) env.signal("args-out-of-range", {args[3]});
  }
  emacs_value opts = args[4];
  const Options options(env, opts);
  r.verify = env.is_nil(options.get(":insecure"));
  emacs_value v = options.get(":ca-file");
  if (!env.is_nil(v)) r.ca_file = path_of(env, v);
  v = options.get(":window");
  if (!env.is_nil(v)) r.window = static_cast<std::uint64_t>(env.integer_in(v, 1, std::int64_t{1} << 40));
  running_loop(env).tls_connect(id, std::move(r));
  return args[0];
}

emacs_value tls_write(Env& env, std::ptrdiff_t, emacs_value* args) {
  const std::uint64_t id = id_of(env, args[0]);
  const std::uint64_t write_id = id_of(env, args[1]);
  running_loop(env).tls_write(id, write_id, bytes_of(env, args[2]));
  return args[1];
}

emacs_value tls_cancel_write(Env& env, std::ptrdiff_t, emacs_value* args) {
  running_loop(env).tls_cancel_write(id_of(env, args[0]), id_of(env, args[1]));
  return env.nil();
}

emacs_value tls_ack(Env& env, std::ptrdiff_t, emacs_value* args) {
  const std::uint64_t id = id_of(env, args[0]);
  auto bytes = static_cast<std::uint64_t>(env.integer_in(args[1], 0, std::numeric_limits<std::int64_t>::max()));
  running_loop(env).tls_ack(id, bytes);
  return env.nil();
}

emacs_value tls_close(Env& env, std::ptrdiff_t, emacs_value* args) {
  running_loop(env).tls_close(id_of(env, args[0]));
  return env.nil();
}

const Function functions[] = {
    {"aio-native--tls-connect", 5, 5, boundary<tls_connect>,
     "Start TLS connection ID to HOST and PORT, at ADDRESS if non-nil.\n"
     "HOST is the name the certificate must carry; ADDRESS, a numeric\n"
     "address, is where to connect (nil: HOST's, looked up by libcurl).\n"
     "OPTIONS is a plist of :insecure (non-nil: check neither the\n"
     "certificate nor the name), :ca-file (certificates to trust instead of the\n"
     "system's) and :window (most bytes received and not acknowledged with\n"
     "`aio-native--tls-ack' before the socket is no longer read).  ID then\n"
     "sends events (connected . \"\") and (chunk . BYTES), and completes\n"
     "as done when the peer closes the connection, as failed, (KIND .\n"
     "MESSAGE), when it breaks or cannot be made, or as cancelled once\n"
     "closed with `aio-native--tls-close'.  Return ID.\n\n"
     "(fn ID HOST PORT ADDRESS OPTIONS)"},
    {"aio-native--tls-write", 3, 3, boundary<tls_write>,
     "Send BYTES, a unibyte string, on TLS connection ID, as WRITE-ID.\n"
     "Writes go out in order; WRITE-ID completes once its bytes are handed\n"
     "to the system, fails if the connection ends first, and is cancelled\n"
     "if the connection is closed first.  Return WRITE-ID.\n\n"
     "(fn ID WRITE-ID BYTES)"},
    {"aio-native--tls-cancel-write", 2, 2, boundary<tls_cancel_write>,
     "Send nothing more of write WRITE-ID on TLS connection ID.\n"
     "WRITE-ID then completes as cancelled, unless it is done.\n\n"
     "(fn ID WRITE-ID)"},
    {"aio-native--tls-ack", 2, 2, boundary<tls_ack>,
     "Tell TLS connection ID that its reader took BYTES of what it received.\n"
     "An ID that is not open is ignored.\n\n(fn ID BYTES)"},
    {"aio-native--tls-close", 1, 1, boundary<tls_close>,
     "Close TLS connection ID now; it completes as cancelled.\n"
     "An ID that is not open is ignored.\n\n(fn ID)"},
};

}  // namespace

void define_tls_functions(Env& env) { define_functions(env, functions); }

}  // namespace aio::emacs
