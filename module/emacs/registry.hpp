// The table of module functions Lisp sees.
#pragma once

#include <emacs-module.h>

#include <cstddef>

#include "boundary.hpp"
#include "env.hpp"

namespace aio::emacs {

struct Function {
  const char* name;
  std::ptrdiff_t min_arity;
  std::ptrdiff_t max_arity;  // emacs_variadic_function for &rest
  emacs_function impl;       // always boundary<...>
  // Ends with a "(fn ARGS...)" line so that help shows argument names.
  const char* doc;
};

// Defines each function with `defalias'.
void define_functions(Env& env, const Function* begin, const Function* end);

template <std::size_t N>
void define_functions(Env& env, const Function (&table)[N]) {
  define_functions(env, table, table + N);
}

// Each file of module functions exposes its table through one of these.
void define_loop_functions(Env& env);
void define_timer_functions(Env& env);
void define_http_functions(Env& env);
void define_file_functions(Env& env);
void define_server_functions(Env& env);
void define_tls_functions(Env& env);

}  // namespace aio::emacs
