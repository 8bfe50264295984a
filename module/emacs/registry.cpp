#include "registry.hpp"

namespace aio::emacs {

void define_functions(Env& env, const Function* begin, const Function* end) {
  for (const Function* f = begin; f != end; ++f) {
    emacs_value fn = env.raw()->make_function(env.raw(), f->min_arity, f->max_arity, f->impl, f->doc, nullptr);
    env.check();
    env.call("defalias", {env.intern(f->name), fn});
  }
}

}  // namespace aio::emacs
