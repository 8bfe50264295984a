// Timers on a loop the test drives itself, to look at the heap.
#include <gtest/gtest.h>

#include <uv.h>

#include "timers.hpp"

namespace aio::test {
namespace {

class TimersOnTestLoop : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(uv_loop_init(&uv_), 0); }
  void TearDown() override {
    timers_.close_all();
    uv_run(&uv_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&uv_), 0);
  }
  // NOW, if given, is the start instant: timers started in a loop share
  // one, so that a slow machine (ASan) cannot reorder their deadlines.
  void start(std::uint64_t id, double seconds_from_now, std::uint64_t now = 0) {
    timers_.note_submitted();
    if (now == 0) now = uv_hrtime();
    timers_.start(id, now, now + static_cast<std::uint64_t>(seconds_from_now * 1e9));
  }
  uv_loop_t uv_{};
  Waker waker_;
  Outbox out_{waker_};
  Timers timers_{&uv_, out_};
};

TEST_F(TimersOnTestLoop, CancelledEntriesAreCompactedAway) {
  for (std::uint64_t id = 0; id < 5000; ++id) start(id, 3600);
  EXPECT_EQ(timers_.heap_size(), 5000u);
  for (std::uint64_t id = 0; id < 4500; ++id) timers_.cancel(id);
  EXPECT_EQ(timers_.pending(), 500);
  // Stale entries may stay, but never more than the live ones (plus the
  // floor below which compaction is not worth it).
  EXPECT_LE(timers_.heap_size(), std::max<std::size_t>(1024, 2 * 500));
  EXPECT_EQ(out_.drain().size(), 4500u);
}

TEST_F(TimersOnTestLoop, RestartedIdFiresOnceAtItsNewDeadline) {
  start(1, 3600);
  start(1, 0);
  uv_run(&uv_, UV_RUN_ONCE);
  auto got = out_.drain();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].status, Status::cancelled);
  EXPECT_EQ(got[1].status, Status::ok);
  EXPECT_EQ(timers_.pending(), 0);
}

TEST_F(TimersOnTestLoop, DueTimersFireTogetherInOrder) {
  const std::uint64_t now = uv_hrtime();
  for (std::uint64_t id = 0; id < 100; ++id) start(id, 0.001 * static_cast<double>(id % 3), now);
  while (timers_.pending() > 0) uv_run(&uv_, UV_RUN_ONCE);
  auto got = out_.drain();
  ASSERT_EQ(got.size(), 100u);
  // Grouped by deadline (id % 3), start order within a group.
  std::uint64_t prev_group = 0, prev_id = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    std::uint64_t group = got[i].id % 3;
    if (i > 0 && group == prev_group) {
      EXPECT_GT(got[i].id, prev_id);
    }
    EXPECT_GE(group, prev_group);
    prev_group = group;
    prev_id = got[i].id;
  }
}

}  // namespace
}  // namespace aio::test
