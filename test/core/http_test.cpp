// The HTTP engine against real servers on 127.0.0.1 (test/servers/),
// started once for the suite. Nothing here reaches another address.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>

#include "cloexec.hpp"
#include "harness.hpp"
#include "scripted_server.hpp"
#include "http_types.hpp"

extern char** environ;

namespace aio::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class HttpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // The engine reads proxies from the environment, as curl does; the
    // tests talk to 127.0.0.1 directly whatever the caller's settings.
    for (const char* v : {"http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"}) ::unsetenv(v);
    plain_ = new ScriptedServer(false);
    tls_ = new ScriptedServer(true);
  }
  static void TearDownTestSuite() {
    delete plain_;
    delete tls_;
  }
  void SetUp() override {
    ASSERT_GT(plain_->port(), 0) << "the test server did not start";
    loop_ = std::make_unique<Loop>(pipe_.release_write());
  }

  static std::string origin() { return "http://127.0.0.1:" + std::to_string(plain_->port()); }
  static std::string tls_origin() { return "https://127.0.0.1:" + std::to_string(tls_->port()); }

  static HttpRequest get(const std::string& url) {
    HttpRequest r;
    r.url = url;
    r.proxy = "";
    r.timeout_ms = 20000;
    return r;
  }

  // Runs R as transfer 1 and returns its completion.
  Completion run(HttpRequest r, std::chrono::milliseconds limit = 20s) {
    loop_->start_http(1, std::move(r));
    auto got = collect(*loop_, pipe_, 1, limit);
    EXPECT_EQ(got.size(), 1u);
    if (got.empty()) return Completion{};
    EXPECT_EQ(got[0].id, 1u);
    return got[0];
  }

  // A copy: bound to a const reference, it lives as long as the reference.
  HttpResponse ok(const Completion& c) {
    EXPECT_EQ(c.status, Status::ok) << c.error_kind << ": " << c.payload;
    return c.http ? *c.http : HttpResponse{};
  }

  static const std::string* header(const HttpResponse& r, const std::string& name) {
    for (const auto& f : r.headers) {
      if (f.first == name) return &f.second;
    }
    return nullptr;
  }

  static ScriptedServer* plain_;
  static ScriptedServer* tls_;
  Pipe pipe_;
  std::unique_ptr<Loop> loop_;
};

ScriptedServer* HttpTest::plain_ = nullptr;
ScriptedServer* HttpTest::tls_ = nullptr;

TEST_F(HttpTest, SimpleGet) {
  Completion c = run(get(origin() + "/hello"));
  const HttpResponse& r = ok(c);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.version, "1.1");
  EXPECT_EQ(r.status_line, "HTTP/1.1 200 OK");
  EXPECT_EQ(r.body, "hello\n");
  EXPECT_EQ(r.url, origin() + "/hello");
  EXPECT_TRUE(r.redirects.empty());
  ASSERT_NE(header(r, "Content-Type"), nullptr);
  EXPECT_EQ(*header(r, "Content-Type"), "text/plain");
  EXPECT_FALSE(r.decoded);
  EXPECT_GT(r.timings.total, 0.0);
  EXPECT_LE(r.timings.namelookup, r.timings.connect);
  EXPECT_LE(r.timings.connect, r.timings.starttransfer);
  EXPECT_LE(r.timings.starttransfer, r.timings.total);
  EXPECT_EQ(loop_->stats().http_pending, 0);
}

TEST_F(HttpTest, ChunkedBodyIsUnframed) {
  const HttpResponse& r = ok(run(get(origin() + "/chunked")));
  EXPECT_EQ(r.body, "chunk-0\nchunk-1\nchunk-2\nchunk-3\nchunk-4\n");
  ASSERT_NE(header(r, "Transfer-Encoding"), nullptr);
}

TEST_F(HttpTest, GzipIsUndone) {
  const HttpResponse& r = ok(run(get(origin() + "/gzip")));
  std::string expected;
  for (int i = 0; i < 100; ++i) expected += "compressed hello\n";
  EXPECT_EQ(r.body, expected);
  EXPECT_TRUE(r.decoded);
}

TEST_F(HttpTest, OnlyTheFinalHeaderBlockIsKept) {
  const HttpResponse& r = ok(run(get(origin() + "/early-hints")));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.status_line, "HTTP/1.1 200 OK");
  EXPECT_NE(header(r, "X-Final"), nullptr);
  EXPECT_EQ(header(r, "Link"), nullptr);
  EXPECT_EQ(r.body, "final\n");
}

TEST_F(HttpTest, RepeatedHeadersStayInOrder) {
  const HttpResponse& r = ok(run(get(origin() + "/headers")));
  std::vector<std::string> cookies;
  for (const auto& f : r.headers) {
    if (f.first == "Set-Cookie") cookies.push_back(f.second);
  }
  EXPECT_EQ(cookies, (std::vector<std::string>{"a=1; Path=/", "b=2; Path=/"}));
  ASSERT_NE(header(r, "X-Mixed-Case"), nullptr);
  ASSERT_NE(header(r, "X-Empty"), nullptr);
  EXPECT_EQ(*header(r, "X-Empty"), "");
}

TEST_F(HttpTest, RelativeAndAbsoluteRedirects) {
  for (const char* path : {"/redirect/relative", "/redirect/absolute", "/redirect/dot-relative"}) {
    const HttpResponse& r = ok(run(get(origin() + path)));
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.body, "hello\n") << path;
    EXPECT_EQ(r.url, origin() + "/hello") << path;
    EXPECT_EQ(r.redirects, std::vector<std::string>{origin() + "/hello"}) << path;
  }
}

TEST_F(HttpTest, RedirectChainIsRecordedInOrder) {
  const HttpResponse& r = ok(run(get(origin() + "/redirect/chain/2")));
  EXPECT_EQ(r.redirects, (std::vector<std::string>{origin() + "/redirect/chain/1",
                                                   origin() + "/redirect/chain/0", origin() + "/hello"}));
  EXPECT_EQ(r.url, r.redirects.back());
}

TEST_F(HttpTest, RedirectsNotFollowedWhenAskedNotTo) {
  HttpRequest req = get(origin() + "/redirect/relative");
  req.follow_redirects = false;
  const HttpResponse& r = ok(run(std::move(req)));
  EXPECT_EQ(r.status, 302);
  ASSERT_NE(header(r, "Location"), nullptr);
  EXPECT_EQ(*header(r, "Location"), "/hello");
  EXPECT_TRUE(r.redirects.empty());
}

TEST_F(HttpTest, RedirectLoopStopsAtTheLimit) {
  HttpRequest req = get(origin() + "/redirect/loop");
  req.max_redirects = 5;
  Completion c = run(std::move(req));
  EXPECT_EQ(c.status, Status::error);
  EXPECT_EQ(c.error_kind, "too-many-redirects") << c.payload;
}

TEST_F(HttpTest, RedirectToAForbiddenSchemeIsRefused) {
  for (const char* target : {"ftp://127.0.0.1/x", "file:///etc/passwd"}) {
    Completion c = run(get(origin() + "/redirect/to?url=" + target));
    EXPECT_EQ(c.status, Status::error) << target;
    EXPECT_EQ(c.error_kind, "protocol") << target << ": " << c.payload;
  }
  Completion c = run(get("file:///etc/passwd"));
  EXPECT_EQ(c.error_kind, "protocol") << c.payload;
}

TEST_F(HttpTest, InvalidNamesFailAtOnceWithoutAResolver) {
  auto start = Clock::now();
  Completion c = run(get("http://nowhere.invalid/x"));
  EXPECT_EQ(c.status, Status::error);
  EXPECT_EQ(c.error_kind, "resolve");
  EXPECT_NE(c.payload.find("nowhere.invalid"), std::string::npos);
  c = run(get(origin() + "/redirect/to?url=http://elsewhere.invalid/"));
  EXPECT_EQ(c.error_kind, "resolve") << c.payload;
  EXPECT_LT(Clock::now() - start, 1s);
}

TEST_F(HttpTest, ErrorStatusesAreResponses) {
  for (int code : {404, 500}) {
    const HttpResponse& r = ok(run(get(origin() + "/status/" + std::to_string(code))));
    EXPECT_EQ(r.status, code);
    EXPECT_EQ(r.body, "status " + std::to_string(code) + " page\n");
  }
}

TEST_F(HttpTest, ServerClosingMidBodyIsAnError) {
  Completion c = run(get(origin() + "/close-mid-body"));
  EXPECT_EQ(c.status, Status::error);
  EXPECT_EQ(c.error_kind, "other") << c.payload;
  EXPECT_FALSE(c.payload.empty());
}

TEST_F(HttpTest, ServerThatNeverAnswersTimesOut) {
  HttpRequest req = get(origin() + "/never");
  req.timeout_ms = 300;
  auto start = Clock::now();
  Completion c = run(std::move(req));
  EXPECT_EQ(c.error_kind, "timeout") << c.payload;
  EXPECT_GE(Clock::now() - start, 290ms);
  EXPECT_LT(Clock::now() - start, 3s);
}

TEST_F(HttpTest, RefusedPortIsAConnectError) {
  Completion c = run(get("http://127.0.0.1:" + std::to_string(refused_port()) + "/"));
  EXPECT_EQ(c.status, Status::error);
  EXPECT_EQ(c.error_kind, "connect") << c.payload;
}

TEST_F(HttpTest, SelfSignedCertificateIsRejectedUnlessVerificationIsOff) {
  ASSERT_GT(tls_->port(), 0);
  Completion c = run(get(tls_origin() + "/hello"));
  EXPECT_EQ(c.status, Status::error);
  EXPECT_EQ(c.error_kind, "tls") << c.payload;
  EXPECT_NE(c.payload.find("certificate"), std::string::npos) << c.payload;
  HttpRequest req = get(tls_origin() + "/hello");
  req.verify_tls = false;
  const HttpResponse& r = ok(run(std::move(req)));
  EXPECT_EQ(r.body, "hello\n");
  EXPECT_GT(r.timings.appconnect, 0.0);
}

TEST_F(HttpTest, ACertificateOfAnAuthorityGivenIsTrusted) {
  ASSERT_FALSE(tls_->ca_file().empty());
  HttpRequest req = get(tls_origin() + "/hello");
  req.ca_file = tls_->ca_file();
  EXPECT_EQ(ok(run(std::move(req))).body, "hello\n");
  // A file that cannot be read fails the handshake.
  req = get(tls_origin() + "/hello");
  req.ca_file = "/nonexistent/ca.pem";
  Completion c = run(std::move(req));
  EXPECT_EQ(c.status, Status::error);
  EXPECT_EQ(c.error_kind, "tls") << c.payload;
}

TEST_F(HttpTest, FiftyMebibyteBody) {
  const std::size_t n = 50u << 20;
  const HttpResponse& r = ok(run(get(origin() + "/bytes?n=" + std::to_string(n))));
  ASSERT_EQ(r.body.size(), n);
  for (std::size_t i = 0; i < n; i += 4093) {
    ASSERT_EQ(static_cast<unsigned char>(r.body[i]), i % 256) << i;
  }
}

TEST_F(HttpTest, BodyOverMaxSizeIsRefused) {
  for (const char* chunked : {"0", "1"}) {
    HttpRequest req = get(origin() + "/bytes?n=300000&chunked=" + chunked);
    req.max_size = 100000;
    Completion c = run(std::move(req));
    EXPECT_EQ(c.status, Status::error) << chunked;
    EXPECT_EQ(c.error_kind, "too-large") << chunked << ": " << c.payload;
  }
  HttpRequest req = get(origin() + "/bytes?n=100000");
  req.max_size = 100000;
  EXPECT_EQ(ok(run(std::move(req))).body.size(), 100000u);
}

TEST_F(HttpTest, MethodsHeadersAndBodies) {
  HttpRequest req = get(origin() + "/echo");
  req.method = "POST";
  req.headers = {"X-Test: one", "Content-Type: application/x-stuff"};
  req.body = std::string("a\0b", 3);
  const HttpResponse& r = ok(run(std::move(req)));
  EXPECT_EQ(r.body.rfind("POST /echo\n", 0), 0u) << r.body;
  EXPECT_NE(r.body.find("X-Test: one\n"), std::string::npos);
  EXPECT_NE(r.body.find("Content-Length: 3\n"), std::string::npos);
  EXPECT_EQ(r.body.find("Expect:"), std::string::npos);
  EXPECT_EQ(r.body.substr(r.body.size() - 3), std::string("a\0b", 3));

  req = get(origin() + "/echo");
  req.method = "PUT";
  req.body = "put body";
  const HttpResponse& put = ok(run(std::move(req)));
  EXPECT_EQ(put.body.rfind("PUT /echo\n", 0), 0u);
  EXPECT_EQ(put.body.substr(put.body.size() - 8), "put body");

  req = get(origin() + "/echo");
  req.method = "DELETE";
  EXPECT_EQ(ok(run(std::move(req))).body.rfind("DELETE /echo\n", 0), 0u);

  req = get(origin() + "/hello");
  req.method = "HEAD";
  const HttpResponse& head = ok(run(std::move(req)));
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
}

TEST_F(HttpTest, PostRedirectedWith303BecomesGet) {
  HttpRequest req = get(origin() + "/redirect/see-other");
  req.method = "POST";
  req.body = "data";
  const HttpResponse& r = ok(run(std::move(req)));
  EXPECT_EQ(r.body.rfind("GET /echo\n", 0), 0u) << r.body;
}

TEST_F(HttpTest, CancelAbortsAtOnce) {
  loop_->start_http(9, get(origin() + "/never"));
  EXPECT_EQ(loop_->stats().http_pending, 1);
  std::this_thread::sleep_for(50ms);  // let it connect and send
  auto start = Clock::now();
  loop_->cancel_http(9);
  auto got = collect(*loop_, pipe_, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, 9u);
  EXPECT_EQ(got[0].status, Status::cancelled);
  // At once, not at a timeout (the request would wait forever): a
  // bound far above a stall of a loaded machine.
  EXPECT_LT(Clock::now() - start, 5s);
  EXPECT_EQ(loop_->stats().http_pending, 0);
  loop_->cancel_http(9);  // no longer active: ignored
  loop_->cancel_http(12345);
  EXPECT_EQ(ok(run(get(origin() + "/hello"))).body, "hello\n");
}

TEST_F(HttpTest, ManyConcurrentTransfers) {
  const std::uint64_t n = 60;
  for (std::uint64_t id = 100; id < 100 + n; ++id) {
    loop_->start_http(id, get(origin() + (id % 3 == 0 ? "/chunked" : "/hello")));
  }
  auto got = collect(*loop_, pipe_, n);
  ASSERT_EQ(got.size(), n);
  std::set<std::uint64_t> ids;
  for (const auto& c : got) {
    ids.insert(c.id);
    ASSERT_EQ(c.status, Status::ok) << c.payload;
    EXPECT_EQ(c.http->status, 200);
  }
  EXPECT_EQ(ids.size(), n);
  EXPECT_EQ(loop_->stats().http_pending, 0);
}

TEST_F(HttpTest, MalformedUrlIsAnError) {
  Completion c = run(get("http://[::1"));
  EXPECT_EQ(c.status, Status::error);
  EXPECT_FALSE(c.payload.empty());
}

TEST_F(HttpTest, CallerFramingHeadersCannotSmuggleARequest) {
  const std::string smuggler = "aGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
  HttpRequest r = get(origin() + "/echo");
  r.method = "POST";
  r.body = smuggler;
  r.headers = {"Content-Length: 1"};
  const HttpResponse echo = ok(run(std::move(r)));
  EXPECT_NE(echo.body.find("Content-Length: " + std::to_string(smuggler.size()) + "\n"), std::string::npos)
      << echo.body;
  EXPECT_EQ(echo.body.substr(echo.body.size() - smuggler.size()), smuggler);
  // The pooled connection carries nothing else.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(ok(run(get(origin() + "/hello"))).body, "hello\n");
}

TEST_F(HttpTest, MalformedRepliesHaveTheirOwnKind) {
  for (const char* kind : {"http09", "big-status", "bad-version", "huge-header", "many-headers",
                           "bad-chunk", "bad-gzip"}) {
    Completion c = run(get(origin() + "/raw?kind=" + kind));
    EXPECT_EQ(c.status, Status::error) << kind;
    EXPECT_EQ(c.error_kind, "malformed") << kind << ": " << c.payload;
    // curl calls an over-long header line "Out of memory"; it is not.
    EXPECT_EQ(c.payload.find("memory"), std::string::npos) << kind << ": " << c.payload;
  }
}

TEST_F(HttpTest, OtherSchemesAreRefusedAsProtocolErrors) {
  for (const char* url : {"ftp://127.0.0.1/x", "file:///etc/passwd", "gopher://127.0.0.1/"}) {
    Completion c = run(get(url));
    EXPECT_EQ(c.error_kind, "protocol") << url;
  }
  HttpRequest r = get(origin() + "/hello");
  r.proxy = "ftp://127.0.0.1:1";
  EXPECT_EQ(run(std::move(r)).error_kind, "protocol");
}

TEST_F(HttpTest, ConnectionCapsHold) {
  run(get(origin() + "/most-active"));
  loop_->set_http_limits(HttpLimits{4, 2, 1});
  for (std::uint64_t id = 20; id < 26; ++id) loop_->start_http(id, get(origin() + "/slow?delay=0.2"));
  auto got = collect(*loop_, pipe_, 6);
  ASSERT_EQ(got.size(), 6u);
  for (const auto& c : got) EXPECT_EQ(ok(c).body, "slow\n");
  EXPECT_EQ(ok(run(get(origin() + "/most-active"))).body, "2");
}

// Sockets of this process, all of them or only those a child would
// inherit.
int sockets(bool inheritable_only) {
  int n = 0;
  for (int fd = 0; fd < 1024; ++fd) {
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) && (!inheritable_only || !is_close_on_exec(fd))) ++n;
  }
  return n;
}

TEST_F(HttpTest, SocketsAreCloseOnExec) {
  const int before = sockets(false);
  for (std::uint64_t id = 30; id < 35; ++id) loop_->start_http(id, get(origin() + "/never"));
  // Checked once the five connections exist, however long that takes.
  const auto give_up = Clock::now() + 10s;
  while (sockets(false) < before + 5 && Clock::now() < give_up) std::this_thread::sleep_for(10ms);
  EXPECT_GE(sockets(false), before + 5);
  EXPECT_EQ(sockets(true), 0);
  for (std::uint64_t id = 30; id < 35; ++id) loop_->cancel_http(id);
  EXPECT_EQ(collect(*loop_, pipe_, 5).size(), 5u);
}

TEST_F(HttpTest, DescriptorShortageHasItsOwnKind) {
  run(get(origin() + "/hello"));  // the engine and its own descriptors exist
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  rlimit none = saved;
  none.rlim_cur = 0;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &none), 0);
  loop_->start_http(1, get("http://127.0.0.1:" + std::to_string(refused_port()) + "/"));
  auto got = collect(*loop_, pipe_, 1);
  setrlimit(RLIMIT_NOFILE, &saved);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].error_kind, "descriptors") << got[0].payload;
}

TEST_F(HttpTest, StoppingWithTransfersInFlightLeaksNothing) {
  for (std::uint64_t id = 1; id <= 5; ++id) loop_->start_http(id, get(origin() + "/never"));
  loop_->start_http(6, get(origin() + "/hello"));
  std::this_thread::sleep_for(50ms);
  loop_.reset();  // ASan reports any handle, socket or transfer left over
}

}  // namespace
}  // namespace aio::test
