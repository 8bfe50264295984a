// The floor for workload 12: aio's native HTTP server without Emacs.
// An aio::Loop (the module's loop thread, parser and limits) serves
// 127.0.0.1:PORT; this program's main thread stands in for Emacs: it
// waits on the wake pipe, drains the outbox, and answers each request
// event with respond_http(), the path aio-native--server-respond takes.
// Every answer is 200 text/plain "hello".
//
// Serves PORT (its argument, else AIO_BENCH_PORT) until SIGTERM or
// SIGINT, then prints one line of key=value (requests answered).
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "datum.hpp"
#include "loop.hpp"

namespace {

volatile std::sig_atomic_t stopping = 0;

void on_signal(int) { stopping = 1; }

}  // namespace

int main(int argc, char** argv) {
  const char* env_port = std::getenv("AIO_BENCH_PORT");
  const int port = argc > 1 ? std::atoi(argv[1]) : env_port ? std::atoi(env_port) : 0;
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) {
    std::perror("pipe2");
    return 1;
  }
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  std::signal(SIGPIPE, SIG_IGN);

  aio::Loop loop(pipe_fds[1]);
  int bound = 0, err = 0;
  const char* what = nullptr;
  const int fd = aio::listen_socket("127.0.0.1", port, &bound, &err, &what);
  if (fd < 0) {
    std::fprintf(stderr, "server_floor: %s: errno %d\n", what, err);
    return 1;
  }
  const std::uint64_t id = 1;
  aio::ServerLimits limits;
  loop.serve_http(id, fd, limits);

  std::uint64_t requests = 0, closed = 0, other = 0;
  char buf[64];
  while (!stopping) {
    pollfd p{pipe_fds[0], POLLIN, 0};
    const int n = poll(&p, 1, 200);
    if (n < 0 && errno != EINTR) {
      std::perror("poll");
      return 1;
    }
    if (n <= 0) continue;
    while (read(pipe_fds[0], buf, sizeof buf) > 0) {
    }
    // As the module: everything waiting, oldest first.
    std::vector<aio::Completion> done = loop.outbox().drain();
    for (aio::Completion& c : done) {
      if (c.id != id || c.status != aio::Status::event) {
        ++other;
        continue;
      }
      if (c.error_kind == "request") {
        const std::uint64_t req = static_cast<std::uint64_t>(c.data->items.at(0).i);
        aio::ServerResponse r;
        r.status = 200;
        r.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
        r.body = "hello";
        loop.respond_http(id, req, std::move(r));
        ++requests;
      } else if (c.error_kind == "closed") {
        ++closed;
      }
    }
  }
  loop.stop_http_server(id);
  loop.stop();
  std::printf("requests=%llu closed=%llu other=%llu\n", static_cast<unsigned long long>(requests),
              static_cast<unsigned long long>(closed), static_cast<unsigned long long>(other));
  return 0;
}
