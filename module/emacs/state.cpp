#include "state.hpp"

#include <memory>

namespace aio::emacs {

namespace {
// A static, so that even an Emacs that exits without running
// kill-emacs-hook joins the thread instead of dying in std::terminate.
std::unique_ptr<Loop> the_loop;
}  // namespace

Loop* current_loop() { return the_loop.get(); }

Loop& running_loop(Env& env) {
  if (!the_loop) {
    env.signal("aio-native-error", {env.string("The native loop is not running (see `aio-native-init')")});
  }
  return *the_loop;
}

void start_loop(int wake_fd) {
  if (the_loop) {
    the_loop->waker().set_fd(wake_fd);
  } else {
    the_loop = std::make_unique<Loop>(wake_fd);
  }
}

void stop_loop() { the_loop.reset(); }

}  // namespace aio::emacs
