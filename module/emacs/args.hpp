// Reading module function arguments: ids, byte strings, option plists.
// Each signals wrong-type-argument or args-out-of-range on bad input.
#pragma once

#include <emacs-module.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "env.hpp"

namespace aio::emacs {

// Ids are Lisp fixnums on every 64-bit build.
constexpr std::intmax_t max_id = (std::intmax_t{1} << 61) - 1;
// The longest duration of a timer or timeout: about 31 years, anything
// longer is a mistake.  Lisp checks against `aio-native--max-seconds'.
constexpr double max_seconds = 1e9;

std::uint64_t id_of(Env& env, emacs_value v);
bool is_string(Env& env, emacs_value v);
// The bytes of string V: raw bytes for a unibyte string, UTF-8 for a
// multibyte one (Lisp encodes bodies and file names before calling).
std::string bytes_of(Env& env, emacs_value v);
// Like bytes_of, for text that goes on as a C string or a header line:
// a NUL, CR or LF there would cut or split it.
std::string line_of(Env& env, emacs_value v);
// Like bytes_of, for a file name: no NUL, not empty.
std::string path_of(Env& env, emacs_value v);
// Signals unless V is a proper list.
void check_list(Env& env, emacs_value v);

// An options plist, read in one walk, then looked up without a Lisp
// call per key: each call into Lisp costs about a microsecond (it sets
// up handlers), and an HTTP request reads seventeen keys.
class Options {
 public:
  // Signals wrong-type-argument unless PLIST is a proper list of
  // keywords and their values.
  Options(Env& env, emacs_value plist);
  // The value of KEY (":timeout"), nil when absent; the first when
  // repeated, as plist-get reads it.
  emacs_value get(const char* key) const;

 private:
  std::vector<std::pair<std::string, emacs_value>> entries_;
  emacs_value nil_;
};

}  // namespace aio::emacs
