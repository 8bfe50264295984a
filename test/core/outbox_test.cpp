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

TEST(Outbox, CompletionsComeInPushOrderWhateverTheirLane) {
  Waker waker;
  Outbox out(waker);
  out.push(Completion{1, Status::ok});
  out.push(Completion{2, Status::ok}, Lane::urgent);
  out.push(Completion{3, Status::ok});
  // A count bound keeps the order too.
  auto first = out.drain(2);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].id, 1u);
  EXPECT_EQ(first[1].id, 2u);
  out.push(Completion{4, Status::ok}, Lane::urgent);
  auto rest = out.drain();
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].id, 3u);
  EXPECT_EQ(rest[1].id, 4u);
}

TEST(Outbox, UrgentCompletionsComePastWhatTheByteBudgetHoldsBack) {
  Waker waker;
  Outbox out(waker);
  for (std::uint64_t id = 1; id <= 5; ++id) out.push(body_of(id, 1000));
  std::vector<Completion> timers;
  timers.emplace_back(10, Status::ok);
  timers.emplace_back(11, Status::ok);
  out.push_all(std::move(timers), Lane::urgent);  // a batch, as timers fire
  auto first = out.drain(0, 2500);
  ASSERT_EQ(first.size(), 4u);
  EXPECT_EQ(first[0].id, 1u);
  EXPECT_EQ(first[1].id, 2u);
  EXPECT_EQ(first[2].id, 10u);
  EXPECT_EQ(first[3].id, 11u);
  auto rest = out.drain(0, 3500);
  ASSERT_EQ(rest.size(), 3u);
  EXPECT_EQ(rest[0].id, 3u);
  // Urgent bytes count against the budget too.
  out.push(body_of(12, 2000), Lane::urgent);
  out.push(body_of(13, 1000));
  auto urgent_first = out.drain(0, 2500);
  ASSERT_EQ(urgent_first.size(), 1u);
  EXPECT_EQ(urgent_first[0].id, 12u);
  EXPECT_EQ(out.drain().size(), 1u);
}

TEST(Outbox, RequeuedUrgentCompletionsKeepTheirPlace) {
  Waker waker;
  Outbox out(waker);
  out.push(Completion{1, Status::ok}, Lane::urgent);
  out.push(Completion{2, Status::ok});
  out.push(Completion{3, Status::ok}, Lane::urgent);
  out.requeue(out.drain());
  out.push(Completion{4, Status::ok}, Lane::urgent);
  auto all = out.drain();
  ASSERT_EQ(all.size(), 4u);
  for (std::uint64_t i = 0; i < 4; ++i) EXPECT_EQ(all[i].id, i + 1);
}

}  // namespace
}  // namespace aio::test
