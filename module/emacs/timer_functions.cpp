// Module functions for native timers.
#include <vector>

#include "args.hpp"
#include "registry.hpp"
#include "state.hpp"

namespace aio::emacs {

namespace {

emacs_value timer_start(Env& env, std::ptrdiff_t, emacs_value* args) {
  auto id = id_of(env, args[0]);
  // Seconds, as Lisp has them: converting here spares Lisp a float.
  double seconds = env.number_in(args[1], 0.0, max_seconds);
  running_loop(env).start_timer(id, seconds * 1000.0);
  return args[0];
}

emacs_value timer_stage(Env& env, std::ptrdiff_t, emacs_value* args) {
  auto id = id_of(env, args[0]);
  double seconds = env.number_in(args[1], 0.0, max_seconds);
  running_loop(env).stage_timer(id, seconds * 1000.0);
  return args[0];
}

emacs_value timer_cancel(Env& env, std::ptrdiff_t, emacs_value* args) {
  auto id = id_of(env, args[0]);
  running_loop(env).cancel_timer(id);
  return env.nil();
}

emacs_value timer_times(Env& env, std::ptrdiff_t, emacs_value* args) {
  if (env.is_nil(env.call("proper-list-p", {args[0]}))) env.wrong_type("proper-list-p", args[0]);
  std::vector<std::uint64_t> ids;
  for (emacs_value tail = args[0]; !env.is_nil(tail); tail = env.call("cdr", {tail})) {
    ids.push_back(id_of(env, env.call("car", {tail})));
  }
  emacs_value out = env.nil();
  for (const TimerTimes& t : running_loop(env).timer_times(ids)) {
    out = env.call("cons", {env.call("list", {env.integer(static_cast<std::intmax_t>(t.id)),
                                              env.floating(t.age_s), env.floating(t.duration_s)}),
                            out});
  }
  return out;
}

const Function functions[] = {
    {"aio-native--timer-start", 2, 2, boundary<timer_start>,
     "Start native timer ID, due after SECONDS (an integer or a float).\n"
     "Its completion carries ID.  Return ID.\n\n(fn ID SECONDS)"},
    {"aio-native--timer-stage", 2, 2, boundary<timer_stage>,
     "Start native timer ID, due after SECONDS, as `aio-native--timer-start'\n"
     "does, but handed to the loop thread a millisecond after the first of a\n"
     "burst (or with the next other native command): a burst of timers wakes\n"
     "the loop thread once a millisecond, not once a timer.  The deadline is\n"
     "taken now.  Return ID.\n\n(fn ID SECONDS)"},
    {"aio-native--timer-times", 1, 1, boundary<timer_times>,
     "Return (ID AGE DURATION) for each of IDS that is a pending native timer.\n"
     "AGE is the seconds since it was started, DURATION the seconds it was\n"
     "started for.  Asks the loop thread and waits for it, at most a second.\n\n"
     "(fn IDS)"},
    {"aio-native--timer-cancel", 1, 1, boundary<timer_cancel>,
     "Cancel native timer ID; its completion then has status cancelled.\n"
     "An ID that is not pending is ignored.\n\n(fn ID)"},
};

}  // namespace

void define_timer_functions(Env& env) { define_functions(env, functions); }

}  // namespace aio::emacs
