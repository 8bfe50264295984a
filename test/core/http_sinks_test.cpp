// Bodies that are not held in memory: streamed with backpressure, read
// from and written to files by the loop thread. Against the scripted
// server on 127.0.0.1, started once for the suite.
#include <gtest/gtest.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"
#include "http_types.hpp"
#include "scripted_server.hpp"

namespace aio::test {
namespace {

using namespace std::chrono_literals;

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i % (256 * 256)) % 256);
  return s;
}

class HttpSinksTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    for (const char* v : {"http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"}) ::unsetenv(v);
    server_ = new ScriptedServer(false);
  }
  static void TearDownTestSuite() { delete server_; }
  void SetUp() override {
    ASSERT_GT(server_->port(), 0);
    loop_ = std::make_unique<Loop>(pipe_.release_write());
    char templ[] = "/tmp/aio-sinks-XXXXXX";
    ASSERT_NE(mkdtemp(templ), nullptr);
    dir_ = templ;
  }
  void TearDown() override {
    loop_.reset();
    std::system(("rm -rf '" + dir_ + "'").c_str());
  }

  static std::string url(const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + path;
  }
  static HttpRequest get(const std::string& path) {
    HttpRequest r;
    r.url = url(path);
    r.proxy = "";
    r.timeout_ms = 20000;
    return r;
  }

  // Completions of ID until its final one; acknowledges chunks as they
  // come when ACK.
  std::vector<Completion> until_final(std::uint64_t id, bool ack = true,
                                      std::chrono::milliseconds limit = 20s) {
    std::vector<Completion> got;
    auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      pipe_.read_available(50);
      for (auto& c : loop_->outbox().drain()) {
        if (c.id != id) continue;
        if (ack && c.status == Status::event && c.error_kind == "chunk") loop_->ack_http(id, c.payload.size());
        const bool final = c.status != Status::event;
        got.push_back(std::move(c));
        if (final) return got;
      }
    }
    return got;
  }

  std::vector<std::string> files() const {
    std::vector<std::string> names;
    if (DIR* d = opendir(dir_.c_str())) {
      while (dirent* e = readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") names.push_back(n);
      }
      closedir(d);
    }
    return names;
  }

  static std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  static ScriptedServer* server_;
  Pipe pipe_;
  std::unique_ptr<Loop> loop_;
  std::string dir_;
};

ScriptedServer* HttpSinksTest::server_ = nullptr;

TEST_F(HttpSinksTest, StreamedBodyComesAsHeadersThenChunksThenTheEnd) {
  HttpRequest r = get("/bytes?n=300000");
  r.sink = BodySink::stream;
  loop_->start_http(1, std::move(r));
  auto got = until_final(1);
  ASSERT_GE(got.size(), 3u);
  EXPECT_EQ(got.front().error_kind, "headers");
  ASSERT_TRUE(got.front().http);
  EXPECT_EQ(got.front().http->status, 200);
  std::string body;
  for (std::size_t i = 1; i + 1 < got.size(); ++i) {
    EXPECT_EQ(got[i].error_kind, "chunk");
    body += got[i].payload;
  }
  EXPECT_EQ(got.back().status, Status::ok);
  EXPECT_EQ(body, pattern(300000));
  EXPECT_EQ(loop_->stats().http_pending, 0);
}

TEST_F(HttpSinksTest, AReaderThatDoesNotReadHoldsTheTransfer) {
  HttpRequest r = get("/bytes?n=5000000");
  r.sink = BodySink::stream;
  r.stream_window = 200000;
  loop_->start_http(2, std::move(r));
  auto first = until_final(2, false, 1500ms);
  std::size_t held = 0;
  for (const auto& c : first) {
    ASSERT_EQ(c.status, Status::event);
    if (c.error_kind == "chunk") held += c.payload.size();
  }
  // At most the window and one more piece: curl is paused.
  EXPECT_GT(held, 0u);
  EXPECT_LE(held, 200000u + 64 * 1024u);
  loop_->ack_http(2, held);
  auto rest = until_final(2);
  ASSERT_FALSE(rest.empty());
  EXPECT_EQ(rest.back().status, Status::ok);
  for (const auto& c : rest) {
    if (c.error_kind == "chunk") held += c.payload.size();
  }
  EXPECT_EQ(held, 5000000u);
}

TEST_F(HttpSinksTest, DownloadGoesToTheFileAndNothingElse) {
  HttpRequest r = get("/bytes?n=1000000");
  r.sink = BodySink::file;
  r.file_path = dir_ + "/out.bin";
  loop_->start_http(3, std::move(r));
  auto got = until_final(3);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].status, Status::ok) << got[0].payload;
  EXPECT_TRUE(got[0].http->body.empty());
  EXPECT_EQ(slurp(dir_ + "/out.bin"), pattern(1000000));
  EXPECT_EQ(files(), std::vector<std::string>{"out.bin"});
}

TEST_F(HttpSinksTest, FailedAndCancelledDownloadsLeaveNothing) {
  HttpRequest broken = get("/close-mid-body");
  broken.sink = BodySink::file;
  broken.file_path = dir_ + "/broken.bin";
  loop_->start_http(4, std::move(broken));
  auto got = until_final(4);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].status, Status::error);
  HttpRequest never = get("/never");
  never.sink = BodySink::file;
  never.file_path = dir_ + "/never.bin";
  loop_->start_http(5, std::move(never));
  std::this_thread::sleep_for(100ms);
  loop_->cancel_http(5);
  EXPECT_EQ(until_final(5).back().status, Status::cancelled);
  EXPECT_TRUE(files().empty());
  HttpRequest nowhere = get("/hello");
  nowhere.sink = BodySink::file;
  nowhere.file_path = dir_ + "/no/such/dir/x";
  loop_->start_http(6, std::move(nowhere));
  got = until_final(6);
  EXPECT_EQ(got.back().error_kind, "file") << got.back().payload;
}

TEST_F(HttpSinksTest, UploadsComeFromTheFile) {
  const std::string path = dir_ + "/up.bin";
  const std::string content = pattern(200000);
  std::ofstream(path, std::ios::binary) << content;
  for (const char* method : {"PUT", "POST"}) {
    HttpRequest r = get("/echo");
    r.method = method;
    r.upload_path = path;
    loop_->start_http(7, std::move(r));
    auto got = until_final(7);
    ASSERT_EQ(got.back().status, Status::ok) << got.back().payload;
    const std::string& echo = got.back().http->body;
    EXPECT_EQ(echo.rfind(std::string(method) + " /echo\n", 0), 0u) << method;
    EXPECT_NE(echo.find("Content-Length: 200000\n"), std::string::npos);
    EXPECT_EQ(echo.substr(echo.size() - content.size()), content);
  }
  HttpRequest missing = get("/echo");
  missing.method = "PUT";
  missing.upload_path = dir_ + "/missing";
  loop_->start_http(8, std::move(missing));
  EXPECT_EQ(until_final(8).back().error_kind, "file");
}

TEST_F(HttpSinksTest, ProgressIsReportedAndBounded) {
  HttpRequest r = get("/bytes?n=20000000");
  r.progress = true;
  r.sink = BodySink::file;
  r.file_path = dir_ + "/big.bin";
  loop_->start_http(9, std::move(r));
  auto got = until_final(9);
  ASSERT_EQ(got.back().status, Status::ok);
  ASSERT_GE(got.size(), 2u);
  std::int64_t last = -1;
  for (std::size_t i = 0; i + 1 < got.size(); ++i) {
    ASSERT_EQ(got[i].error_kind, "progress");
    EXPECT_GE(got[i].progress[0], last);
    // Unknown until the headers are in.
    EXPECT_TRUE(got[i].progress[1] == -1 || got[i].progress[1] == 20000000);
    last = got[i].progress[0];
  }
  // The last report before the end has the final counts.
  EXPECT_EQ(got[got.size() - 2].progress[0], 20000000);
  EXPECT_EQ(got[got.size() - 2].progress[1], 20000000);
}

TEST_F(HttpSinksTest, IdleTimeoutEndsASilentTransfer) {
  HttpRequest r = get("/never");
  r.idle_timeout_s = 1;
  const auto start = std::chrono::steady_clock::now();
  loop_->start_http(10, std::move(r));
  auto got = until_final(10);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].error_kind, "timeout") << got[0].payload;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

}  // namespace
}  // namespace aio::test
namespace aio::test {
namespace {

TEST_F(HttpSinksTest, APausedTransferIsNotIdle) {
  HttpRequest r = get("/bytes?n=2000000");
  r.sink = BodySink::stream;
  r.stream_window = 100000;
  r.idle_timeout_s = 1;
  loop_->start_http(11, std::move(r));
  // The reader takes nothing for over twice the idle timeout.
  auto first = until_final(11, false, 2500ms);
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(first.back().status, Status::event) << first.back().payload;
  std::size_t held = 0;
  for (const auto& c : first) {
    if (c.error_kind == "chunk") held += c.payload.size();
  }
  loop_->ack_http(11, held);
  auto rest = until_final(11);
  ASSERT_FALSE(rest.empty());
  EXPECT_EQ(rest.back().status, Status::ok) << rest.back().error_kind << " " << rest.back().payload;
}

}  // namespace
}  // namespace aio::test
namespace aio::test {
namespace {

TEST_F(HttpSinksTest, AHeldStreamWaitsForItsStart) {
  HttpRequest r = get("/bytes?n=300000");
  r.sink = BodySink::stream;
  r.stream_waits = true;
  loop_->start_http(12, std::move(r));
  auto first = until_final(12, true, 500ms);
  // The headers, and nothing of the body.
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].error_kind, "headers");
  loop_->start_http_stream(12, false);
  auto rest = until_final(12);
  ASSERT_FALSE(rest.empty());
  EXPECT_EQ(rest.back().status, Status::ok);
  std::string body;
  for (const auto& c : rest) body += c.payload;
  EXPECT_EQ(body, pattern(300000));
}

TEST_F(HttpSinksTest, ServerSentEventsAreParsedOnTheLoopThread) {
  for (const char* piece : {"0", "1", "7"}) {
    HttpRequest r = get(std::string("/sse?piece=") + piece);
    r.sink = BodySink::stream;
    r.stream_waits = true;
    loop_->start_http(13, std::move(r));
    loop_->start_http_stream(13, true);
    std::vector<SseEvent> events;
    for (const auto& c : until_final(13)) {
      if (c.error_kind != "sse") continue;
      loop_->ack_http(13, c.bytes);
      events.insert(events.end(), c.sse->begin(), c.sse->end());
    }
    ASSERT_EQ(events.size(), 9u) << piece;
    EXPECT_EQ(events[1].type, "greeting");
    EXPECT_EQ(events[1].data, "caf\xC3\xA9");
    EXPECT_EQ(events[2].data, "line one\nline two");
    EXPECT_EQ(events[5].retry, 1500);
    EXPECT_EQ(events[6].id, "42");
    EXPECT_EQ(events[8].data, "\xE2\x82\xAC euro");
  }
}

}  // namespace
}  // namespace aio::test
