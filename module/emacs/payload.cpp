#include "payload.hpp"

#include "../core/datum.hpp"
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
  if (c.data) {
    data = datum_value(env, *c.data);
  } else if (c.http) {
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

emacs_value datum_value(Env& env, const Datum& d) {
  switch (d.kind) {
    case Datum::Kind::nil:
      return env.nil();
    case Datum::Kind::integer:
      return env.integer(d.i);
    case Datum::Kind::floating:
      return env.floating(d.f);
    case Datum::Kind::bytes:
      return env.unibyte(d.s);
    case Datum::Kind::text:
      // make_string refuses what is not UTF-8.
      return is_utf8(d.s) ? env.string(d.s) : env.unibyte(d.s);
    case Datum::Kind::symbol:
      return env.intern(d.s.c_str());
    case Datum::Kind::vector: {
      emacs_value v = env.call("make-vector", {env.integer(static_cast<std::intmax_t>(d.items.size())), env.nil()});
      emacs_env* raw = env.raw();
      for (std::size_t i = 0; i < d.items.size(); ++i) {
        raw->vec_set(raw, v, static_cast<std::ptrdiff_t>(i), datum_value(env, d.items[i]));
        env.check();
      }
      return v;
    }
  }
  return env.nil();
}

emacs_value completion_payload(Env& env, const Completion& c) {
  if (c.status == Status::event) return event_value(env, c);
  if (c.http) return http_response_value(env, *c.http);
  if (!c.error_kind.empty()) {
    return env.call("cons", {env.intern(c.error_kind.c_str()),
                             c.data ? datum_value(env, *c.data) : env.unibyte(c.payload)});
  }
  if (c.data) return datum_value(env, *c.data);
  return c.payload.empty() ? env.nil() : env.unibyte(c.payload);
}

}  // namespace aio::emacs
