// Name lookups. Only localhost, 127.0.0.1 and names under .invalid:
// nothing here asks about another address.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "datum.hpp"
#include "harness.hpp"

namespace aio::test {
namespace {

using namespace std::chrono_literals;

class DnsTest : public ::testing::Test {
 protected:
  void SetUp() override { loop_ = std::make_unique<Loop>(pipe_.release_write()); }
  Completion one() {
    auto got = collect(*loop_, pipe_, 1);
    EXPECT_EQ(got.size(), 1u);
    return got.empty() ? Completion() : got[0];
  }
  static bool has(const Completion& c, const std::string& address) {
    if (!c.data) return false;
    for (const Datum& d : c.data->items) {
      if (d.s == address) return true;
    }
    return false;
  }
  Pipe pipe_;
  std::unique_ptr<Loop> loop_;
};

TEST_F(DnsTest, LocalhostResolvesToTheLoopback) {
  loop_->dns_lookup(1, "localhost", 4);
  Completion c = one();
  ASSERT_EQ(c.status, Status::ok) << c.payload;
  EXPECT_TRUE(has(c, "127.0.0.1"));
  for (const Datum& d : c.data->items) EXPECT_EQ(d.s.find(':'), std::string::npos) << d.s;
  EXPECT_EQ(loop_->stats().dns_pending, 0);
}

TEST_F(DnsTest, AnAddressResolvesToItself) {
  loop_->dns_lookup(1, "127.0.0.1", 0);
  Completion c = one();
  ASSERT_EQ(c.status, Status::ok);
  ASSERT_EQ(c.data->items.size(), 1u);
  EXPECT_EQ(c.data->items[0].s, "127.0.0.1");
}

TEST_F(DnsTest, NamesUnderInvalidFailAtOnce) {
  auto start = std::chrono::steady_clock::now();
  loop_->dns_lookup(1, "nothing.invalid", 0);
  Completion c = one();
  EXPECT_EQ(c.status, Status::error);
  EXPECT_EQ(c.error_kind, "resolve");
  EXPECT_NE(c.payload.find("nothing.invalid"), std::string::npos);
  // No resolver is asked: no thread-pool round trip either.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  loop_->dns_lookup(2, "INVALID.", 0);
  EXPECT_EQ(one().error_kind, "resolve");
}

TEST_F(DnsTest, ReverseLookupOfTheLoopback) {
  loop_->dns_reverse(1, "127.0.0.1");
  Completion c = one();
  ASSERT_EQ(c.status, Status::ok) << c.payload;
  ASSERT_TRUE(c.data);
  EXPECT_FALSE(c.data->s.empty());
  loop_->dns_reverse(2, "not an address");
  c = one();
  EXPECT_EQ(c.status, Status::error);
  EXPECT_EQ(c.error_kind, "address");
}

TEST_F(DnsTest, CancelCompletesAtOnceAndOnlyOnce) {
  loop_->dns_lookup(1, "localhost", 0);
  loop_->cancel_dns(1);
  Completion c = one();
  // Either the lookup won the race or the cancellation did; never both.
  EXPECT_TRUE(c.status == Status::cancelled || c.status == Status::ok);
  auto more = collect(*loop_, pipe_, 1, 300ms);
  EXPECT_TRUE(more.empty());
  EXPECT_EQ(loop_->stats().dns_pending, 0);
}

}  // namespace
}  // namespace aio::test
