// A thin C++ face on emacs_env.
//
// Every call checks for a pending non-local exit and turns it into a
// LispExit exception, so module code reads straight-line; the boundary
// (boundary.hpp) turns LispExit back into an early return. An Env and the
// values it makes must not outlive the module call that produced them.
#pragma once

#include <emacs-module.h>

#include <cstdint>
#include <initializer_list>
#include <string>

namespace aio::emacs {

// Thrown when Emacs has a signal or throw pending; carries nothing because
// Emacs already holds the details.
struct LispExit {};

class Env {
 public:
  explicit Env(emacs_env* env) : env_(env) {}

  emacs_env* raw() const { return env_; }

  emacs_value intern(const char* name);
  emacs_value nil() { return intern("nil"); }
  emacs_value t() { return intern("t"); }
  emacs_value integer(std::intmax_t n);
  emacs_value floating(double d);
  emacs_value string(const std::string& utf8);
  emacs_value unibyte(const std::string& bytes);
  emacs_value funcall(emacs_value fn, std::initializer_list<emacs_value> args);
  emacs_value call(const char* fn, std::initializer_list<emacs_value> args) {
    return funcall(intern(fn), args);
  }

  bool is_nil(emacs_value v) { return !env_->is_not_nil(env_, v); }
  bool eq(emacs_value a, emacs_value b) { return env_->eq(env_, a, b); }
  bool is_integer(emacs_value v) { return !is_nil(call("integerp", {v})); }
  bool is_number(emacs_value v) { return !is_nil(call("numberp", {v})); }

  // Argument extraction that signals wrong-type-argument or
  // args-out-of-range, naming the offending value.
  std::intmax_t integer_in(emacs_value v, std::intmax_t min, std::intmax_t max);
  double number_in(emacs_value v, double min, double max);

  int open_channel(emacs_value pipe_process);

  [[noreturn]] void signal(const char* symbol, std::initializer_list<emacs_value> data);
  [[noreturn]] void wrong_type(const char* predicate, emacs_value v);
  [[noreturn]] void out_of_range(emacs_value v, emacs_value min, emacs_value max);

  // Throws LispExit if Emacs has a non-local exit pending.
  void check();

 private:
  emacs_env* env_;
};

}  // namespace aio::emacs
