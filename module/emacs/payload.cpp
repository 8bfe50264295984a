#include "payload.hpp"

#include "../core/http_types.hpp"

namespace aio::emacs {

namespace {

emacs_value http_response_value(Env& env, const HttpResponse& r) {
  emacs_value headers = env.nil();
  for (auto it = r.headers.rbegin(); it != r.headers.rend(); ++it) {
    headers = env.call("cons", {env.call("cons", {env.unibyte(it->first), env.unibyte(it->second)}), headers});
  }
  emacs_value redirects = env.nil();
  for (auto it = r.redirects.rbegin(); it != r.redirects.rend(); ++it) {
    redirects = env.call("cons", {env.unibyte(*it), redirects});
  }
  const HttpTimings& t = r.timings;
  emacs_value timings = env.call("list", {env.floating(t.namelookup), env.floating(t.connect),
                                          env.floating(t.appconnect), env.floating(t.starttransfer),
                                          env.floating(t.total)});
  return env.call("vector", {env.integer(r.status), env.string(r.version), env.unibyte(r.status_line),
                             headers, env.unibyte(r.body), env.unibyte(r.url), redirects, timings,
                             r.decoded ? env.t() : env.nil()});
}

emacs_value event_value(Env& env, const Completion& c) {
  emacs_value data;
  if (c.http) {
    data = http_response_value(env, *c.http);
  } else if (c.error_kind == "progress") {
    data = env.call("vector", {env.integer(c.progress[0]), env.integer(c.progress[1]),
                               env.integer(c.progress[2]), env.integer(c.progress[3])});
  } else {
    data = env.unibyte(c.payload);
  }
  return env.call("cons", {env.intern(c.error_kind.c_str()), data});
}

}  // namespace

emacs_value completion_payload(Env& env, const Completion& c) {
  if (c.status == Status::event) return event_value(env, c);
  if (c.http) return http_response_value(env, *c.http);
  if (!c.error_kind.empty()) {
    return env.call("cons", {env.intern(c.error_kind.c_str()), env.unibyte(c.payload)});
  }
  return c.payload.empty() ? env.nil() : env.unibyte(c.payload);
}

}  // namespace aio::emacs
