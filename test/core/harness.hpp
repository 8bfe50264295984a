// Shared helpers for the core tests: a wake pipe and a way to wait for
// completions the way Emacs does (poll the pipe, then drain).
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <vector>

#include "loop.hpp"

namespace aio::test {

struct Pipe {
  int read_fd = -1;
  int write_fd = -1;
  Pipe() {
    int fds[2];
    if (::pipe(fds) == 0) {
      read_fd = fds[0];
      write_fd = fds[1];
    }
  }
  ~Pipe() {
    if (read_fd >= 0) ::close(read_fd);
  }
  // Hands the write end to a Loop (which then owns it).
  int release_write() {
    int fd = write_fd;
    write_fd = -1;
    return fd;
  }
  // Reads whatever bytes are waiting without blocking; returns how many.
  std::size_t read_available(int timeout_ms = 0) const {
    std::size_t total = 0;
    pollfd p{read_fd, POLLIN, 0};
    while (::poll(&p, 1, total == 0 ? timeout_ms : 0) > 0 && (p.revents & POLLIN)) {
      char buf[256];
      ssize_t n = ::read(read_fd, buf, sizeof buf);
      if (n <= 0) break;
      total += static_cast<std::size_t>(n);
    }
    return total;
  }
};

// A port on 127.0.0.1 that nobody listens on (bound, then released).
inline int refused_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// Waits on PIPE and drains LOOP until N completions arrived or the time
// runs out; returns what arrived, in order.
inline std::vector<Completion> collect(Loop& loop, const Pipe& pipe, std::size_t n,
                                       std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  std::vector<Completion> got;
  auto until = std::chrono::steady_clock::now() + limit;
  while (got.size() < n && std::chrono::steady_clock::now() < until) {
    pipe.read_available(50);
    for (auto& c : loop.outbox().drain()) got.push_back(std::move(c));
  }
  return got;
}

}  // namespace aio::test
