// TLS connections (tls.hpp) against a TLS echo server on 127.0.0.1
// (test/servers/tls_echo_server.py), started once for the suite.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "harness.hpp"
#include "scripted_server.hpp"

namespace aio::test {
namespace {

using namespace std::chrono_literals;

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new ScriptedServer(AIO_TLS_ECHO_SERVER, nullptr); }
  static void TearDownTestSuite() { delete server_; }
  void SetUp() override {
    ASSERT_GT(server_->port(), 0) << "the TLS echo server did not start";
    ASSERT_FALSE(server_->ca_file().empty());
    loop_ = std::make_unique<Loop>(pipe_.release_write());
  }

  static TlsRequest trusted(const std::string& host = "localhost") {
    TlsRequest r;
    r.host = host;
    r.port = server_->port();
    r.address = "127.0.0.1";
    r.ca_file = server_->ca_file();
    return r;
  }

  // Drains completions into got_ until DONE says so or 20 s pass.
  void until(const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      pipe_.read_available(50);
      for (auto& c : loop_->outbox().drain()) got_.push_back(std::move(c));
    }
  }

  // The completion of ID that is not an event, once it came.
  const Completion* final_of(std::uint64_t id) {
    until([&] { return find_final(id) != nullptr; });
    return find_final(id);
  }
  const Completion* find_final(std::uint64_t id) const {
    for (const auto& c : got_) {
      if (c.id == id && c.status != Status::event) return &c;
    }
    return nullptr;
  }
  bool has_event(std::uint64_t id, const std::string& kind) const {
    for (const auto& c : got_) {
      if (c.id == id && c.status == Status::event && c.error_kind == kind) return true;
    }
    return false;
  }
  // Every byte received on ID so far.
  std::string received(std::uint64_t id) const {
    std::string all;
    for (const auto& c : got_) {
      if (c.id == id && c.status == Status::event && c.error_kind == "chunk") all += c.payload;
    }
    return all;
  }
  // Drains until DONE, acknowledging on ID every byte received beyond
  // the first ACKED, as a reader that keeps up.
  void read_acking(std::uint64_t id, std::size_t acked, const std::function<bool()>& done) {
    until([&] {
      const std::size_t now = received(id).size();
      if (now > acked) {
        loop_->tls_ack(id, now - acked);
        acked = now;
      }
      return done();
    });
  }
  void wait_for_bytes(std::uint64_t id, const std::string& text) {
    until([&] { return received(id).find(text) != std::string::npos || find_final(id); });
    EXPECT_NE(received(id).find(text), std::string::npos) << received(id);
  }

  static ScriptedServer* server_;
  Pipe pipe_;
  std::unique_ptr<Loop> loop_;
  std::vector<Completion> got_;
};

ScriptedServer* TlsTest::server_ = nullptr;

TEST_F(TlsTest, ConnectsVerifiedAndEchoes) {
  loop_->tls_connect(1, trusted());
  wait_for_bytes(1, "hello\n");
  EXPECT_TRUE(has_event(1, "connected"));
  EXPECT_EQ(received(1), "hello\n");
  loop_->tls_write(1, 2, "ping\n");
  const Completion* w = final_of(2);
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->status, Status::ok);
  wait_for_bytes(1, "ping\n");
  EXPECT_EQ(received(1), "hello\nping\n");
  loop_->tls_close(1);
  const Completion* c = final_of(1);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, Status::cancelled);
  until([&] { return loop_->stats().tls_pending == 0; });
  EXPECT_EQ(loop_->stats().tls_pending, 0);
}

TEST_F(TlsTest, AnUntrustedCertificateIsRefused) {
  TlsRequest r = trusted();
  r.ca_file.clear();  // the system's authorities never signed it
  loop_->tls_connect(1, r);
  const Completion* c = final_of(1);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, Status::error);
  EXPECT_EQ(c->error_kind, "tls") << c->payload;
  EXPECT_NE(c->payload.find("certificate"), std::string::npos) << c->payload;
  EXPECT_FALSE(has_event(1, "connected"));
}

TEST_F(TlsTest, AnotherNameThanTheCertificatesIsRefused) {
  loop_->tls_connect(1, trusted("wrong.example"));
  const Completion* c = final_of(1);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, Status::error);
  EXPECT_EQ(c->error_kind, "tls") << c->payload;
  EXPECT_FALSE(has_event(1, "connected"));
}

TEST_F(TlsTest, WithoutVerificationAnyCertificateIsTaken) {
  TlsRequest r = trusted("wrong.example");
  r.ca_file.clear();
  r.verify = false;
  loop_->tls_connect(1, r);
  wait_for_bytes(1, "hello\n");
  EXPECT_TRUE(has_event(1, "connected"));
}

TEST_F(TlsTest, APeerThatClosesEndsTheInput) {
  loop_->tls_connect(1, trusted());
  wait_for_bytes(1, "hello\n");
  loop_->tls_write(1, 2, "close\n");
  const Completion* c = final_of(1);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, Status::ok);
  EXPECT_EQ(received(1), "hello\nbye\n");
  // Closed here too: a write now fails, nothing is left pending.
  loop_->tls_write(1, 3, "late");
  ASSERT_NE(final_of(3), nullptr);
  EXPECT_EQ(final_of(3)->status, Status::error);
  until([&] { return loop_->stats().tls_pending == 0; });
  EXPECT_EQ(loop_->stats().tls_pending, 0);
}

TEST_F(TlsTest, APeerThatDropsTheConnection) {
  loop_->tls_connect(1, trusted());
  wait_for_bytes(1, "hello\n");
  loop_->tls_write(1, 2, "drop\n");
  // As a TCP close: the end, not a failure.
  const Completion* c = final_of(1);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, Status::ok);
  EXPECT_EQ(received(1), "hello\nbye\n");
}

TEST_F(TlsTest, AReaderThatLagsHoldsTheSocketBack) {
  TlsRequest r = trusted();
  r.window = 100000;
  loop_->tls_connect(1, r);
  wait_for_bytes(1, "hello\n");
  loop_->tls_ack(1, 6);
  const std::size_t total = 3000000;
  loop_->tls_write(1, 2, "flood " + std::to_string(total) + "\n");
  // Up to the window, then nothing more until the reader takes some.
  until([&] { return received(1).size() >= 6 + r.window; });
  std::this_thread::sleep_for(300ms);
  pipe_.read_available(0);
  for (auto& c : loop_->outbox().drain()) got_.push_back(std::move(c));
  const std::size_t held = received(1).size() - 6;
  EXPECT_GE(held, r.window);
  EXPECT_LT(held, r.window + 64 * 1024 + 1);
  read_acking(1, 6, [&] { return received(1).size() >= 6 + total; });
  EXPECT_EQ(received(1).size(), 6 + total);
}

TEST_F(TlsTest, ClosingCancelsTheWritesNotSent) {
  loop_->tls_connect(1, trusted());
  wait_for_bytes(1, "hello\n");
  // The server stops reading: the writes back up behind the system's
  // buffers (at most a few MiB), the last ones never begun.
  loop_->tls_write(1, 2, "hold 10000\n");
  ASSERT_NE(final_of(2), nullptr);
  const std::string big(4 << 20, 'y');
  for (std::uint64_t w = 3; w < 7; ++w) loop_->tls_write(1, w, big);
  std::this_thread::sleep_for(300ms);
  loop_->tls_close(1);
  ASSERT_NE(final_of(1), nullptr);
  EXPECT_EQ(final_of(1)->status, Status::cancelled);
  ASSERT_NE(final_of(6), nullptr);
  EXPECT_EQ(final_of(6)->status, Status::cancelled);
  loop_->tls_write(1, 7, "late");
  ASSERT_NE(final_of(7), nullptr);
  EXPECT_EQ(final_of(7)->status, Status::error);
  until([&] { return loop_->stats().tls_pending == 0; });
  EXPECT_EQ(loop_->stats().tls_pending, 0);
}

TEST_F(TlsTest, CancelledWritesAreNotSentUnlessBegun) {
  loop_->tls_connect(1, trusted());
  wait_for_bytes(1, "hello\n");
  // While the server reads nothing, a big write begins and stays stuck;
  // behind it, one is cancelled before its turn, and the first too.
  loop_->tls_write(1, 2, "hold 3000\n");
  ASSERT_NE(final_of(2), nullptr);
  const std::size_t big = 8u << 20;
  loop_->tls_write(1, 3, std::string(big, 'y'));
  loop_->tls_write(1, 4, "never\n");
  loop_->tls_write(1, 5, "after\n");
  loop_->tls_cancel_write(1, 4);
  loop_->tls_cancel_write(1, 3);
  ASSERT_NE(final_of(4), nullptr);
  EXPECT_EQ(final_of(4)->status, Status::cancelled);
  ASSERT_NE(final_of(3), nullptr);
  EXPECT_EQ(final_of(3)->status, Status::cancelled);
  // Once the server reads again: the begun write went out in full (the
  // TLS library may hold records of it), the one not begun not at all.
  read_acking(1, 0, [&] { return received(1).find("after\n") != std::string::npos; });
  const std::string all = received(1);
  EXPECT_EQ(all.size(), 6 + big + 6);
  EXPECT_EQ(all.find("never"), std::string::npos);
  ASSERT_NE(final_of(5), nullptr);
  EXPECT_EQ(final_of(5)->status, Status::ok);
}

TEST_F(TlsTest, ARefusedConnectionFails) {
  TlsRequest r = trusted();
  r.port = refused_port();
  loop_->tls_connect(1, r);
  const Completion* c = final_of(1);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, Status::error);
  EXPECT_EQ(c->error_kind, "connect") << c->payload;
}

TEST_F(TlsTest, ReservedInvalidNamesFailAtOnce) {
  TlsRequest r = trusted("nowhere.invalid");
  r.address.clear();
  loop_->tls_connect(1, r);
  const Completion* c = final_of(1);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->error_kind, "resolve");
}

}  // namespace
}  // namespace aio::test
