// The completion queue between the loop thread and Emacs.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "http_types.hpp"
#include "outbox.hpp"
#include "waker.hpp"

namespace aio::test {
namespace {

Completion body_of(std::uint64_t id, std::size_t bytes) {
  Completion c{id, Status::ok};
  auto r = std::make_shared<HttpResponse>();
  r->body.assign(bytes, 'x');
  c.http = r;
  return c;
}

TEST(Outbox, DrainIsBoundedInBytesButTakesAtLeastOne) {
  Waker waker;
  Outbox out(waker);
  for (std::uint64_t id = 1; id <= 4; ++id) out.push(body_of(id, 1000));
  out.push(Completion{5, Status::ok});
  auto first = out.drain(0, 2500);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].id, 1u);
  EXPECT_EQ(first[1].id, 2u);
  // One larger than the budget still goes, alone.
  auto second = out.drain(0, 10);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].id, 3u);
  // Completions without bytes do not count.
  auto rest = out.drain(0, 1000);
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[1].id, 5u);
}

TEST(Outbox, CountAndBytesBothBound) {
  Waker waker;
  Outbox out(waker);
  for (std::uint64_t id = 1; id <= 10; ++id) out.push(Completion{id, Status::ok});
  EXPECT_EQ(out.drain(3, 1 << 20).size(), 3u);
  EXPECT_EQ(out.drain(0, 0).size(), 7u);
}

TEST(Outbox, RequeuedCompletionsComeBackFirstInOrder) {
  Waker waker;
  Outbox out(waker);
  for (std::uint64_t id = 1; id <= 5; ++id) out.push(Completion{id, Status::ok});
  auto taken = out.drain(3);
  const auto delivered = out.delivered();
  out.requeue(std::move(taken));
  EXPECT_EQ(out.delivered(), delivered - 3);
  auto all = out.drain();
  ASSERT_EQ(all.size(), 5u);
  for (std::uint64_t i = 0; i < 5; ++i) EXPECT_EQ(all[i].id, i + 1);
}

TEST(Outbox, UrgentCompletionsGoAheadOfOthers) {
  Waker waker;
  Outbox out(waker);
  for (std::uint64_t id = 1; id <= 5; ++id) out.push(body_of(id, 1000));
  std::vector<Completion> timers;
  timers.emplace_back(10, Status::ok);
  timers.emplace_back(11, Status::ok);
  out.push_all(std::move(timers), Lane::urgent);  // a batch, as timers fire
  // Urgent first, in order, then the others within what is left.
  auto first = out.drain(3);
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first[0].id, 10u);
  EXPECT_EQ(first[1].id, 11u);
  EXPECT_EQ(first[2].id, 1u);
  // A byte budget the next body exceeds: the urgent ones alone.
  out.push(Completion{12, Status::ok}, Lane::urgent);
  auto second = out.drain(0, 10);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].id, 12u);
  // A count the urgent ones use up: none of the others.
  out.push(Completion{13, Status::ok}, Lane::urgent);
  out.push(Completion{14, Status::ok}, Lane::urgent);
  auto third = out.drain(2);
  ASSERT_EQ(third.size(), 2u);
  EXPECT_EQ(third[1].id, 14u);
  auto rest = out.drain();
  ASSERT_EQ(rest.size(), 4u);
  EXPECT_EQ(rest[0].id, 2u);
}

}  // namespace
}  // namespace aio::test
