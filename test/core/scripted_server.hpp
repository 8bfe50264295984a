// test/servers/scripted_server.py run for a suite of tests.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

extern char** environ;

namespace aio::test {

// test/servers/scripted_server.py in a child process. It exits when its
// stdin closes, so it cannot outlive the test binary.
class ScriptedServer {
 public:
  explicit ScriptedServer(bool tls) : ScriptedServer(AIO_TEST_SERVER, tls ? "--tls" : nullptr) {}
  // Another server script, which prints "PORT <n>" too, and may print
  // "CA <file>" before it: the certificate its clients should trust.
  ScriptedServer(const char* script, const char* arg) {
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    const char* argv[] = {"python3", script, arg, nullptr};
    if (posix_spawnp(&pid_, "python3", &actions, nullptr, const_cast<char**>(argv), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    ::close(in[0]);
    ::close(out[1]);
    stdin_ = in[1];
    std::string line;
    char c;
    while (port_ == 0 && line.size() < 4096 && ::read(out[0], &c, 1) == 1) {
      if (c != '\n') {
        line += c;
        continue;
      }
      if (line.rfind("PORT ", 0) == 0) port_ = std::atoi(line.c_str() + 5);
      if (line.rfind("CA ", 0) == 0) ca_file_ = line.substr(3);
      line.clear();
    }
    ::close(out[0]);
  }
  ~ScriptedServer() {
    if (stdin_ >= 0) ::close(stdin_);
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  int port() const { return port_; }
  const std::string& ca_file() const { return ca_file_; }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1;
  int port_ = 0;
  std::string ca_file_;
};

}  // namespace aio::test
