// Module functions for native timers.
#include "registry.hpp"
#include "state.hpp"

namespace aio::emacs {

namespace {

// Ids are Lisp fixnums on every 64-bit build.
constexpr std::intmax_t max_id = (std::intmax_t{1} << 61) - 1;
// About 31 years: anything longer is a mistake, not a sleep.
constexpr double max_delay_ms = 1e12;

emacs_value timer_start(Env& env, std::ptrdiff_t, emacs_value* args) {
  auto id = static_cast<std::uint64_t>(env.integer_in(args[0], 0, max_id));
  double ms = env.number_in(args[1], 0.0, max_delay_ms);
  running_loop(env).start_timer(id, ms);
  return args[0];
}

emacs_value timer_cancel(Env& env, std::ptrdiff_t, emacs_value* args) {
  auto id = static_cast<std::uint64_t>(env.integer_in(args[0], 0, max_id));
  running_loop(env).cancel_timer(id);
  return env.nil();
}

const Function functions[] = {
    {"aio-native--timer-start", 2, 2, boundary<timer_start>,
     "Start native timer ID, due after MILLISECONDS.\n"
     "Its completion carries ID.  Return ID.\n\n(fn ID MILLISECONDS)"},
    {"aio-native--timer-cancel", 1, 1, boundary<timer_cancel>,
     "Cancel native timer ID; its completion then has status cancelled.\n"
     "An ID that is not pending is ignored.\n\n(fn ID)"},
};

}  // namespace

void define_timer_functions(Env& env) { define_functions(env, functions); }

}  // namespace aio::emacs
