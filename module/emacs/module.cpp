// Entry point: Emacs calls emacs_module_init when the file is loaded.
#include <emacs-module.h>

#include "boundary.hpp"
#include "registry.hpp"

extern "C" {
__attribute__((visibility("default"))) int plugin_is_GPL_compatible;
__attribute__((visibility("default"))) int emacs_module_init(struct emacs_runtime* runtime) noexcept;
}

namespace {

bool initialised = false;

}  // namespace

int emacs_module_init(struct emacs_runtime* runtime) noexcept {
  // open_channel and make_unibyte_string need the Emacs 28 API.
  if (runtime->size < static_cast<std::ptrdiff_t>(sizeof(*runtime))) return 1;
  emacs_env* raw = runtime->get_environment(runtime);
  if (raw->size < static_cast<std::ptrdiff_t>(sizeof(emacs_env_28))) return 2;
  // Loading the file twice runs this twice; the functions are already there.
  if (initialised) return 0;
  try {
    aio::emacs::Env env(raw);
    env.call("define-error", {env.intern("aio-native-error"), env.string("aio-native error")});
    aio::emacs::define_loop_functions(env);
    aio::emacs::define_timer_functions(env);
    aio::emacs::define_http_functions(env);
    aio::emacs::define_file_functions(env);
    aio::emacs::define_server_functions(env);
    aio::emacs::define_tls_functions(env);
    env.call("provide", {env.intern("aio-native-module")});
    initialised = true;
    return 0;
  } catch (...) {
    return 3;
  }
}
