#include <gtest/gtest.h>

#include <thread>

#include "harness.hpp"

namespace aio::test {
namespace {

using namespace std::chrono_literals;

TEST(Waker, ManyCompletionsWriteOneByteUntilDrained) {
  Pipe pipe;
  Loop loop(pipe.release_write());
  for (std::uint64_t id = 0; id < 1000; ++id) loop.start_timer(id, 0);
  // Wait for all of them without draining.
  for (int i = 0; i < 200 && loop.stats().timers_pending > 0; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(loop.stats().timers_pending, 0);
  EXPECT_EQ(pipe.read_available(100), 1u);
  EXPECT_EQ(loop.outbox().drain().size(), 1000u);
  EXPECT_EQ(pipe.read_available(), 0u);
  // After a drain the next completion announces itself again.
  loop.start_timer(5000, 0);
  EXPECT_EQ(pipe.read_available(1000), 1u);
  EXPECT_EQ(loop.outbox().drain().size(), 1u);
  EXPECT_EQ(loop.stats().wakeups, 2u);
}

TEST(Waker, PartialDrainAnnouncesWhatIsLeft) {
  Pipe pipe;
  Loop loop(pipe.release_write());
  for (std::uint64_t id = 0; id < 10; ++id) loop.start_timer(id, 0);
  for (int i = 0; i < 200 && loop.stats().timers_pending > 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(pipe.read_available(100), 1u);
  auto first = loop.outbox().drain(4);
  ASSERT_EQ(first.size(), 4u);
  EXPECT_EQ(first[0].id, 0u);
  EXPECT_EQ(pipe.read_available(100), 1u);
  auto rest = loop.outbox().drain();
  ASSERT_EQ(rest.size(), 6u);
  EXPECT_EQ(rest[0].id, 4u);
}

TEST(Waker, DisabledWakerWritesNothing) {
  Pipe pipe;
  Loop loop(pipe.release_write());
  loop.waker().set_enabled(false);
  loop.start_timer(1, 0);
  for (int i = 0; i < 200 && loop.stats().timers_pending > 0; ++i) std::this_thread::sleep_for(10ms);
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(pipe.read_available(), 0u);
  EXPECT_EQ(loop.outbox().drain().size(), 1u);
}

TEST(Waker, ReplacingTheDescriptorMovesTheWakeups) {
  Pipe first, second;
  Loop loop(first.release_write());
  loop.waker().set_fd(second.release_write());
  loop.start_timer(1, 0);
  EXPECT_EQ(second.read_available(1000), 1u);
  EXPECT_EQ(first.read_available(), 0u);
}

}  // namespace
}  // namespace aio::test
