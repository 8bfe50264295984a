#include "boundary.hpp"

#include <cstring>

namespace aio::emacs {

void signal_native_error(emacs_env* env, const char* message) noexcept {
  // Keep whatever Emacs already has pending: it is the first cause.
  if (env->non_local_exit_check(env) != emacs_funcall_exit_return) return;
  emacs_value msg = env->make_string(env, message, static_cast<std::ptrdiff_t>(std::strlen(message)));
  if (env->non_local_exit_check(env) != emacs_funcall_exit_return) return;
  emacs_value list = env->intern(env, "list");
  emacs_value data = env->funcall(env, list, 1, &msg);
  if (env->non_local_exit_check(env) != emacs_funcall_exit_return) return;
  env->non_local_exit_signal(env, env->intern(env, "aio-native-error"), data);
}

}  // namespace aio::emacs
