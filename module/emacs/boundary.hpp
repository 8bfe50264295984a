// The one door between Emacs and C++: no exception crosses it.
//
// A pending non-local exit (LispExit) becomes an early return, and any
// other C++ exception becomes a Lisp signal of `aio-native-error'.
#pragma once

#include <emacs-module.h>

#include <cstddef>
#include <exception>
#include <new>

#include "env.hpp"

namespace aio::emacs {

using Impl = emacs_value (*)(Env& env, std::ptrdiff_t nargs, emacs_value* args);

void signal_native_error(emacs_env* env, const char* message) noexcept;

template <Impl F>
emacs_value boundary(emacs_env* raw, std::ptrdiff_t nargs, emacs_value* args, void*) noexcept {
  try {
    Env env(raw);
    return F(env, nargs, args);
  } catch (const LispExit&) {
    // Emacs already holds the signal; it ignores our return value.
  } catch (const std::bad_alloc&) {
    signal_native_error(raw, "out of memory");
  } catch (const std::exception& e) {
    signal_native_error(raw, e.what());
  } catch (...) {
    signal_native_error(raw, "unknown C++ exception");
  }
  return nullptr;
}

}  // namespace aio::emacs
