#include "args.hpp"

#include <cstdint>

namespace aio::emacs {

std::uint64_t id_of(Env& env, emacs_value v) { return static_cast<std::uint64_t>(env.integer_in(v, 0, max_id)); }

bool is_string(Env& env, emacs_value v) { return !env.is_nil(env.call("stringp", {v})); }

namespace {

// Copies the bytes of string V into *OUT. False when Emacs refuses (a
// string that is no valid Unicode), its error left pending.
bool copy_bytes(emacs_env* raw, emacs_value v, std::string* out) {
  std::ptrdiff_t size = 0;
  if (!raw->copy_string_contents(raw, v, nullptr, &size)) return false;
  out->assign(static_cast<std::size_t>(size), '\0');
  if (!raw->copy_string_contents(raw, v, out->data(), &size)) return false;
  out->resize(size > 0 ? static_cast<std::size_t>(size - 1) : 0);  // drop the NUL
  return true;
}

}  // namespace

std::string bytes_of(Env& env, emacs_value v) {
  if (!is_string(env, v)) env.wrong_type("stringp", v);
  std::string s;
  copy_bytes(env.raw(), v, &s);
  env.check();
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

void check_list(Env& env, emacs_value v) {
  // A circular list would be walked forever.
  if (env.is_nil(env.call("proper-list-p", {v}))) env.wrong_type("proper-list-p", v);
}

namespace {

// The name of keyword KEY, or "" when it is no valid Unicode (a raw
// byte in it): Emacs refuses to copy such a name out, and no option is
// called that, so it is ignored as plist-get would ignore it.
std::string keyword_name(Env& env, emacs_value key) {
  std::string name;
  if (!copy_bytes(env.raw(), env.call("symbol-name", {key}), &name)) {
    env.raw()->non_local_exit_clear(env.raw());
    return {};
  }
  return name;
}

}  // namespace

Options::Options(Env& env, emacs_value plist) : nil_(env.nil()) {
  check_list(env, plist);
  // Interned once for the walk, not once per step.
  const emacs_value car = env.intern("car"), cdr = env.intern("cdr");
  const emacs_value keywordp = env.intern("keywordp");
  for (emacs_value tail = plist; !env.is_nil(tail);) {
    const emacs_value key = env.funcall(car, {tail});
    tail = env.funcall(cdr, {tail});
    // Without its value, or not a keyword: plist-get would read it
    // without a word.
    if (env.is_nil(tail) || env.is_nil(env.funcall(keywordp, {key}))) env.wrong_type("plistp", plist);
    entries_.emplace_back(keyword_name(env, key), env.funcall(car, {tail}));
    tail = env.funcall(cdr, {tail});
  }
}

emacs_value Options::get(const char* key) const {
  for (const auto& [name, value] : entries_) {
    if (name == key) return value;
  }
  return nil_;
}

}  // namespace aio::emacs
