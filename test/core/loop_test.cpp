#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <thread>
#include <vector>

#include "harness.hpp"

namespace aio::test {
namespace {

using namespace std::chrono_literals;

TEST(Loop, CommandsFromManyThreadsAllRunInPerThreadOrder) {
  constexpr int threads = 8;
  constexpr int per_thread = 10000;
  Pipe pipe;
  Loop loop(pipe.release_write());
  // Touched only on the loop thread, so plain ints suffice.
  std::vector<int> last(threads, -1);
  int out_of_order = 0;
  int ran = 0;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        loop.submit([&, t, i] {
          if (i != last[t] + 1) ++out_of_order;
          last[t] = i;
          ++ran;
        });
      }
    });
  }
  for (auto& th : pool) th.join();
  std::atomic<int> seen_ran{-1}, seen_bad{-1};
  loop.submit([&] {
    seen_ran = ran;
    seen_bad = out_of_order;
  });
  // Commands run in order: once this timer completes, all of them ran.
  loop.start_timer(1, 0);
  ASSERT_EQ(collect(loop, pipe, 1).size(), 1u);
  EXPECT_EQ(seen_ran.load(), threads * per_thread);
  EXPECT_EQ(seen_bad.load(), 0);
}

TEST(Loop, SubmitAfterStopIsRefused) {
  Loop loop;
  loop.stop();
  bool ran = false;
  EXPECT_FALSE(loop.submit([&] { ran = true; }));
  EXPECT_FALSE(ran);
}

TEST(Loop, LoopThreadBlocksSignalsSoADeadPipeGivesEpipeNotSigpipe) {
  Pipe pipe;
  Loop loop(pipe.release_write());
  ::close(pipe.read_fd);
  pipe.read_fd = -1;
  // With SIGPIPE delivered, this test process would die here.
  loop.start_timer(1, 0);
  loop.start_timer(2, 5);
  std::this_thread::sleep_for(100ms);
  auto got = loop.outbox().drain();
  EXPECT_EQ(got.size(), 2u);
  EXPECT_EQ(loop.stats().wakeups, 0u);
}

TEST(Loop, StatsCountCommandsCompletionsAndDrains) {
  Pipe pipe;
  Loop loop(pipe.release_write());
  auto before = loop.stats();
  loop.start_timer(1, 0);
  loop.start_timer(2, 0);
  ASSERT_EQ(collect(loop, pipe, 2).size(), 2u);
  auto after = loop.stats();
  EXPECT_EQ(after.commands - before.commands, 2u);
  EXPECT_EQ(after.completions - before.completions, 2u);
  EXPECT_GE(after.drains - before.drains, 1u);
  EXPECT_GE(after.wakeups - before.wakeups, 1u);
}

}  // namespace
}  // namespace aio::test
