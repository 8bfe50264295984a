#include "env.hpp"

#include <vector>

namespace aio::emacs {

void Env::check() {
  if (env_->non_local_exit_check(env_) != emacs_funcall_exit_return) throw LispExit{};
}

emacs_value Env::intern(const char* name) {
  emacs_value v = env_->intern(env_, name);
  check();
  return v;
}

emacs_value Env::integer(std::intmax_t n) {
  emacs_value v = env_->make_integer(env_, n);
  check();
  return v;
}

emacs_value Env::floating(double d) {
  emacs_value v = env_->make_float(env_, d);
  check();
  return v;
}

emacs_value Env::string(const std::string& utf8) {
  emacs_value v = env_->make_string(env_, utf8.data(), static_cast<ptrdiff_t>(utf8.size()));
  check();
  return v;
}

emacs_value Env::unibyte(const std::string& bytes) {
  emacs_value v = env_->make_unibyte_string(env_, bytes.data(), static_cast<ptrdiff_t>(bytes.size()));
  check();
  return v;
}

emacs_value Env::funcall(emacs_value fn, std::initializer_list<emacs_value> args) {
  std::vector<emacs_value> argv(args);
  emacs_value v = env_->funcall(env_, fn, static_cast<ptrdiff_t>(argv.size()), argv.data());
  check();
  return v;
}

std::intmax_t Env::integer_in(emacs_value v, std::intmax_t min, std::intmax_t max) {
  // Fast path: one call when the argument is what it should be.
  std::intmax_t n = env_->extract_integer(env_, v);
  if (env_->non_local_exit_check(env_) == emacs_funcall_exit_return && n >= min && n <= max) return n;
  env_->non_local_exit_clear(env_);
  if (!is_integer(v)) wrong_type("integerp", v);
  out_of_range(v, integer(min), integer(max));
}

double Env::number_in(emacs_value v, double min, double max) {
  // Fast paths by type: a failed extraction signals, and a signal costs
  // Lisp garbage and time (sleeps of whole seconds are common).
  emacs_value type = env_->type_of(env_, v);
  if (env_->eq(env_, type, intern("float"))) {
    const double d = env_->extract_float(env_, v);
    // NaN fails the comparison.
    if (env_->non_local_exit_check(env_) == emacs_funcall_exit_return && d >= min && d <= max) return d;
  } else if (env_->eq(env_, type, intern("integer"))) {
    const std::intmax_t n = env_->extract_integer(env_, v);
    if (env_->non_local_exit_check(env_) == emacs_funcall_exit_return) {
      const double d = static_cast<double>(n);
      if (d >= min && d <= max) return d;
    }
  }
  env_->non_local_exit_clear(env_);
  if (!is_number(v)) wrong_type("numberp", v);
  // Compared in Lisp so that bignums are refused before any conversion.
  emacs_value lo = floating(min), hi = floating(max);
  if (is_nil(call("<=", {lo, v, hi}))) out_of_range(v, lo, hi);
  const double d = env_->extract_float(env_, call("float", {v}));
  check();
  return d;
}

int Env::open_channel(emacs_value pipe_process) {
  int fd = env_->open_channel(env_, pipe_process);
  check();
  return fd;
}

void Env::signal(const char* symbol, std::initializer_list<emacs_value> data) {
  emacs_value list = call("list", data);
  env_->non_local_exit_signal(env_, intern(symbol), list);
  throw LispExit{};
}

void Env::wrong_type(const char* predicate, emacs_value v) {
  signal("wrong-type-argument", {intern(predicate), v});
}

void Env::out_of_range(emacs_value v, emacs_value min, emacs_value max) {
  signal("args-out-of-range", {v, min, max});
}

}  // namespace aio::emacs
