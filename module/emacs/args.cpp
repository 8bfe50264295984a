#include "args.hpp"

#include <cstdint>

namespace aio::emacs {

std::uint64_t id_of(Env& env, emacs_value v) { return static_cast<std::uint64_t>(env.integer_in(v, 0, max_id)); }

bool is_string(Env& env, emacs_value v) { return !env.is_nil(env.call("stringp", {v})); }

std::string bytes_of(Env& env, emacs_value v) {
  if (!is_string(env, v)) env.wrong_type("stringp", v);
  emacs_env* raw = env.raw();
  std::ptrdiff_t size = 0;
  raw->copy_string_contents(raw, v, nullptr, &size);
  env.check();
  std::string s(static_cast<std::size_t>(size), '\0');
  raw->copy_string_contents(raw, v, s.data(), &size);
  env.check();
  s.resize(size > 0 ? static_cast<std::size_t>(size - 1) : 0);  // drop the NUL
  return s;
}

std::string line_of(Env& env, emacs_value v) {
  std::string s = bytes_of(env, v);
  if (s.find_first_of(std::string("\0\r\n", 3)) != std::string::npos) {
    env.signal("args-out-of-range", {v});
  }
  return s;
}

std::string path_of(Env& env, emacs_value v) {
  std::string s = bytes_of(env, v);
  if (s.empty() || s.find('\0') != std::string::npos) env.signal("args-out-of-range", {v});
  return s;
}

emacs_value option(Env& env, emacs_value plist, const char* key) {
  return env.call("plist-get", {plist, env.intern(key)});
}

void check_list(Env& env, emacs_value v) {
  // A circular list would be walked forever.
  if (env.is_nil(env.call("proper-list-p", {v}))) env.wrong_type("proper-list-p", v);
}

void check_options(Env& env, emacs_value v) {
  check_list(env, v);
  // plist-get would read (1 2 3) or (:a) without a word.
  const std::intmax_t n = env.integer_in(env.call("length", {v}), 0, INTMAX_MAX);
  bool ok = n % 2 == 0;
  for (std::intmax_t i = 0; ok && i < n; i += 2) {
    ok = !env.is_nil(env.call("keywordp", {env.call("nth", {env.integer(i), v})}));
  }
  if (!ok) env.wrong_type("plistp", v);
}

}  // namespace aio::emacs
