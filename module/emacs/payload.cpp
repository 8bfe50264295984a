#include "payload.hpp"

#include <string>

#include "../core/datum.hpp"
#include "../core/http_types.hpp"
#include "../core/sse.hpp"

namespace aio::emacs {

namespace {

// Read by name in Lisp: the layout is `aio-http--raw' of aio-http.el.
// The header fields go over as one string of NAME:VALUE lines, which
// Lisp splits only when asked: a field is two strings and two conses
// there, garbage that most callers never look at.
emacs_value http_response_value(Env& env, const HttpResponse& r) {
  std::size_t size = 0;
  for (const auto& field : r.headers) size += field.first.size() + field.second.size() + 2;
  std::string block;
  block.reserve(size);
  for (const auto& field : r.headers) {
    block += field.first;
    block += ':';
    block += field.second;
    block += '\n';
  }
  emacs_value headers = env.unibyte(block);
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

// TEXT, valid UTF-8, as a Lisp string. ASCII text is made unibyte,
// which Lisp treats alike and costs half: make_string goes through a
// decoding copy.
emacs_value text_value(Env& env, const std::string& text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return env.string(text);
  }
  return env.unibyte(text);
}

// The events of one batch, as records `aio-sse-event' of aio-sse.el
// makes them: (record 'aio-sse-event TYPE DATA ID RETRY). Events of a
// batch share one string for a type and for an id they repeat.
class SseEvents {
 public:
  explicit SseEvents(Env& env) : env_(env), tag_(env.intern("aio-sse-event")) {}

  emacs_value value(const SseEvent& e) {
    return env_.call("record", {tag_, shared(e.type, &type_, &type_value_), text_value(env_, e.data),
                                e.has_id ? shared(e.id, &id_, &id_value_) : env_.nil(),
                                e.retry >= 0 ? env_.integer(e.retry) : env_.nil()});
  }

 private:
  emacs_value shared(const std::string& text, std::string* last, emacs_value* last_value) {
    if (!*last_value || text != *last) {
      *last = text;
      *last_value = text_value(env_, text);
    }
    return *last_value;
  }

  Env& env_;
  emacs_value tag_;
  std::string type_, id_;
  emacs_value type_value_ = nullptr, id_value_ = nullptr;
};

emacs_value event_value(Env& env, const Completion& c) {
  emacs_value data;
  if (c.sse) {
    data = env.call("make-vector", {env.integer(static_cast<std::intmax_t>(c.sse->size() + 1)), env.nil()});
    emacs_env* raw = env.raw();
    raw->vec_set(raw, data, 0, env.integer(static_cast<std::intmax_t>(c.bytes)));
    std::ptrdiff_t i = 1;
    SseEvents events(env);
    for (const SseEvent& e : *c.sse) raw->vec_set(raw, data, i++, events.value(e));
    env.check();
  } else if (c.data) {
    data = datum_value(env, *c.data);
  } else if (c.http) {
    data = http_response_value(env, *c.http);
  } else if (c.error_kind == "progress") {
    // `aio-http--progress' of aio-http-stream.el.
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
