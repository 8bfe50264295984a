// Module functions that manage the loop and carry completions to Lisp.
#include <fcntl.h>
#include <unistd.h>

#include <limits>
#include <string>

#include "../core/http_types.hpp"
#include "payload.hpp"

#include "registry.hpp"
#include "state.hpp"

namespace aio::emacs {

namespace {

emacs_value init(Env& env, std::ptrdiff_t, emacs_value* args) {
  int fd = env.open_channel(args[0]);
  if (fd < 0) env.signal("aio-native-error", {env.string("open_channel failed"), args[0]});
  // open_channel's descriptor is inheritable; every subprocess would
  // hold the wake pipe open.
  int flags = fcntl(fd, F_GETFD);
  if (flags < 0 || fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0) {
    ::close(fd);
    env.signal("aio-native-error", {env.string("cannot set FD_CLOEXEC on the wake descriptor")});
  }
  try {
    start_loop(fd);
  } catch (...) {
    ::close(fd);
    throw;
  }
  return env.t();
}

emacs_value shutdown(Env& env, std::ptrdiff_t, emacs_value*) {
  stop_loop();
  // The loop dropped its pending work: let Lisp settle the promises that
  // were waiting for it, whoever asked for the shutdown.
  emacs_value settle = env.intern("aio-native--loop-stopped");
  if (!env.is_nil(env.call("fboundp", {settle}))) env.funcall(settle, {});
  return env.nil();
}

emacs_value running_p(Env& env, std::ptrdiff_t, emacs_value*) {
  return current_loop() ? env.t() : env.nil();
}

emacs_value set_wake_enabled(Env& env, std::ptrdiff_t, emacs_value* args) {
  running_loop(env).waker().set_enabled(!env.is_nil(args[0]));
  return args[0];
}

// PAYLOAD of a completion that Emacs could not take whole (it ran out
// of memory making its strings): a failure of that operation alone.
emacs_value failed_payload(Env& env, const Completion& c) {
  const std::string message = "Out of memory handing a result of " +
                              std::to_string(c.http ? c.http->body.size() : c.payload.size()) +
                              " bytes to Lisp";
  if (c.http || !c.error_kind.empty()) {
    return env.call("cons", {env.intern(http_error_kind_name(HttpErrorKind::too_large)), env.string(message)});
  }
  return env.string(message);
}

emacs_value drain(Env& env, std::ptrdiff_t nargs, emacs_value* args) {
  constexpr std::intmax_t max_int = std::numeric_limits<std::int32_t>::max();
  std::size_t max = 0, max_bytes = 0;
  if (nargs > 0 && !env.is_nil(args[0])) max = static_cast<std::size_t>(env.integer_in(args[0], 1, max_int));
  if (nargs > 1 && !env.is_nil(args[1])) {
    max_bytes = static_cast<std::size_t>(env.integer_in(args[1], 1, std::numeric_limits<std::int64_t>::max()));
  }
  Loop* loop = current_loop();
  if (!loop) return env.call("vector", {});
  std::vector<Completion> done = loop->outbox().drain(max, max_bytes);
  emacs_value vec;
  try {
    vec = env.call("make-vector", {env.integer(static_cast<std::intmax_t>(done.size() * 3)), env.nil()});
  } catch (const LispExit&) {
    loop->outbox().requeue(std::move(done));
    throw;
  }
  emacs_env* raw = env.raw();
  std::ptrdiff_t i = 0;
  for (const Completion& c : done) {
    Status status = c.status;
    emacs_value payload;
    // One at a time: a payload Emacs cannot make (a body too big for its
    // memory) fails that operation, not the whole batch.
    try {
      payload = completion_payload(env, c);
    } catch (const LispExit&) {
      raw->non_local_exit_clear(raw);
      status = Status::error;
      try {
        payload = failed_payload(env, c);
      } catch (const LispExit&) {
        raw->non_local_exit_clear(raw);
        payload = env.nil();
      }
    }
    raw->vec_set(raw, vec, i++, env.integer(static_cast<std::intmax_t>(c.id)));
    raw->vec_set(raw, vec, i++, env.integer(static_cast<int>(status)));
    raw->vec_set(raw, vec, i++, payload);
  }
  env.check();
  return vec;
}

emacs_value stats(Env& env, std::ptrdiff_t, emacs_value*) {
  Stats s;
  if (Loop* loop = current_loop()) s = loop->stats();
  auto n = [&env](auto v) { return env.integer(static_cast<std::intmax_t>(v)); };
  return env.call("list", {env.intern(":running"), current_loop() ? env.t() : env.nil(),
                           env.intern(":timers-pending"), n(s.timers_pending),
                           env.intern(":http-pending"), n(s.http_pending),
                           env.intern(":files-pending"), n(s.files_pending),
                           env.intern(":dns-pending"), n(s.dns_pending),
                           env.intern(":servers-pending"), n(s.servers_pending),
                           env.intern(":tls-pending"), n(s.tls_pending),
                           env.intern(":commands"), n(s.commands),
                           env.intern(":completions"), n(s.completions),
                           env.intern(":wakeups"), n(s.wakeups),
                           env.intern(":drains"), n(s.drains)});
}

const Function functions[] = {
    {"aio-native--init", 1, 1, boundary<init>,
     "Start the native loop, waking Emacs through PIPE-PROCESS.\n"
     "PIPE-PROCESS is a pipe process made by `make-pipe-process'; the loop\n"
     "writes one byte to it whenever completions are waiting.  Calling this\n"
     "again hands the running loop the new pipe.\n\n"
     "(fn PIPE-PROCESS)"},
    {"aio-native--shutdown", 0, 0, boundary<shutdown>,
     "Stop the native loop and join its thread, dropping pending work.\n"
     "Then call `aio-native--loop-stopped', if defined, to settle what\n"
     "Lisp still waits for.\n\n(fn)"},
    {"aio-native--running-p", 0, 0, boundary<running_p>,
     "Return non-nil if the native loop is running.\n\n(fn)"},
    {"aio-native--set-wake-enabled", 1, 1, boundary<set_wake_enabled>,
     "Write wake bytes to the pipe when FLAG is non-nil; stay silent otherwise.\n\n(fn FLAG)"},
    {"aio-native--drain", 0, 2, boundary<drain>,
     "Take finished operations from the native loop, oldest first.\n"
     "Return a vector [ID STATUS PAYLOAD ...] with three slots per\n"
     "operation.  STATUS is 0 (done), 1 (cancelled) or 2 (failed; PAYLOAD\n"
     "is then a unibyte message, or (KIND . MESSAGE) for operations whose\n"
     "failures have a kind, such as HTTP transfers).  A finished HTTP\n"
     "transfer's PAYLOAD is a vector [STATUS VERSION STATUS-LINE HEADERS\n"
     "BODY URL REDIRECTS TIMINGS DECODED].  With MAX, take at most MAX\n"
     "operations, and\n"
     "with MAX-BYTES, no more than MAX-BYTES of bodies and messages (but at\n"
     "least one operation).  An operation whose result Emacs cannot make\n"
     "\\(out of memory) comes as failed, alone.\n\n"
     "(fn &optional MAX MAX-BYTES)"},
    {"aio-native--stats", 0, 0, boundary<stats>,
     "Return a plist of the native loop's counters.\n\n(fn)"},
};

}  // namespace

void define_loop_functions(Env& env) { define_functions(env, functions); }

}  // namespace aio::emacs
