// The module's one loop, shared by every file of module functions.
// Touched only from the Emacs main thread.
#pragma once

#include "../core/loop.hpp"
#include "env.hpp"

namespace aio::emacs {

// The running loop, or nullptr before aio-native--init / after shutdown.
Loop* current_loop();
// The running loop; signals `aio-native-error' when there is none.
Loop& running_loop(Env& env);
// Starts the loop with WAKE_FD, or hands WAKE_FD to the running one.
void start_loop(int wake_fd);
// Stops and joins the loop; harmless when it is not running.
void stop_loop();

}  // namespace aio::emacs
