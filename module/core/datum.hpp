// Structured results as plain data: what a completion carries when a
// string is not enough (a file's attributes, a list of addresses, a
// batch of file names, an HTTP request). The binding turns a Datum into
// the Lisp value of the same shape (payload.cpp); nothing here knows
// about Emacs.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace aio {

struct Datum {
  enum class Kind {
    nil,
    integer,
    floating,
    bytes,   // a unibyte string
    text,    // UTF-8 text, a multibyte string (bytes if not valid UTF-8)
    symbol,  // an interned symbol named by `s'
    vector,  // a Lisp vector of `items'
  };

  Kind kind = Kind::nil;
  std::int64_t i = 0;
  double f = 0;
  std::string s;
  std::vector<Datum> items;

  static Datum integer(std::int64_t v) {
    Datum d;
    d.kind = Kind::integer;
    d.i = v;
    return d;
  }
  static Datum floating(double v) {
    Datum d;
    d.kind = Kind::floating;
    d.f = v;
    return d;
  }
  static Datum bytes(std::string v) {
    Datum d;
    d.kind = Kind::bytes;
    d.s = std::move(v);
    return d;
  }
  static Datum text(std::string v) {
    Datum d;
    d.kind = Kind::text;
    d.s = std::move(v);
    return d;
  }
  static Datum symbol(std::string name) {
    Datum d;
    d.kind = Kind::symbol;
    d.s = std::move(name);
    return d;
  }
  static Datum vector(std::vector<Datum> items = {}) {
    Datum d;
    d.kind = Kind::vector;
    d.items = std::move(items);
    return d;
  }
  static Datum boolean(bool v) { return v ? symbol("t") : Datum(); }

  // Bytes it holds, roughly: what handing it to Emacs costs.
  std::size_t weight() const {
    std::size_t n = s.size() + 8;
    for (const Datum& d : items) n += d.weight();
    return n;
  }
};

// True if BYTES is well-formed UTF-8 (no overlong forms, no surrogates).
bool is_utf8(const std::string& bytes);

// True if every byte of BYTES is ASCII.
bool is_ascii(const std::string& bytes);

}  // namespace aio
