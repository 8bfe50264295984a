#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "http_headers.hpp"
#include "http_types.hpp"

namespace aio::test {
namespace {

TEST(HttpHeaders, StripLineEnd) {
  EXPECT_EQ(strip_line_end("Name: v\r\n"), "Name: v");
  EXPECT_EQ(strip_line_end("Name: v\n"), "Name: v");
  EXPECT_EQ(strip_line_end("\r\n"), "");
  EXPECT_EQ(strip_line_end(""), "");
}

TEST(HttpHeaders, StatusLines) {
  EXPECT_TRUE(is_status_line("HTTP/1.1 200 OK"));
  EXPECT_TRUE(is_status_line("HTTP/2 200"));
  EXPECT_FALSE(is_status_line("Http-Thing: HTTP/1.1"));
  EXPECT_FALSE(is_status_line("HTTP"));
}

TEST(HttpHeaders, SplitTrimsBlanksAndKeepsTheNameAsSent) {
  std::pair<std::string, std::string> f;
  ASSERT_TRUE(split_header("Content-Type:  text/plain ; charset=utf-8 \t", &f));
  EXPECT_EQ(f.first, "Content-Type");
  EXPECT_EQ(f.second, "text/plain ; charset=utf-8");
  ASSERT_TRUE(split_header("X-Empty:", &f));
  EXPECT_EQ(f.second, "");
  ASSERT_TRUE(split_header("Location: http://h:8/x", &f));
  EXPECT_EQ(f.second, "http://h:8/x");  // only the first colon splits
  EXPECT_FALSE(split_header("no colon here", &f));
  EXPECT_FALSE(split_header(" : value", &f));
}

TEST(HttpHeaders, Continuation) {
  EXPECT_TRUE(is_continuation(" more"));
  EXPECT_TRUE(is_continuation("\tmore"));
  EXPECT_FALSE(is_continuation("Name: v"));
  EXPECT_FALSE(is_continuation(""));
}

TEST(HttpHeaders, ReservedInvalidNames) {
  EXPECT_TRUE(is_reserved_invalid_host("nowhere.invalid"));
  EXPECT_TRUE(is_reserved_invalid_host("a.b.INVALID"));
  EXPECT_TRUE(is_reserved_invalid_host("x.invalid."));
  EXPECT_TRUE(is_reserved_invalid_host("invalid"));
  EXPECT_FALSE(is_reserved_invalid_host("notinvalid"));
  EXPECT_FALSE(is_reserved_invalid_host("invalid.example"));
  EXPECT_FALSE(is_reserved_invalid_host("127.0.0.1"));
  EXPECT_FALSE(is_reserved_invalid_host(""));
}

TEST(HttpHeaders, ErrorKindNames) {
  EXPECT_STREQ(http_error_kind_name(HttpErrorKind::resolve), "resolve");
  EXPECT_STREQ(http_error_kind_name(HttpErrorKind::too_many_redirects), "too-many-redirects");
  EXPECT_STREQ(http_error_kind_name(HttpErrorKind::too_large), "too-large");
  EXPECT_STREQ(http_error_kind_name(HttpErrorKind::other), "other");
}

TEST(HttpHeaders, FramingHeadersOfTheCallerAreDropped) {
  std::vector<std::string> lines = {"X-A: 1", "Content-Length: 1", "content-length:",
                                    "Transfer-Encoding: chunked", "Content-Length;", "X-B: 2"};
  EXPECT_EQ(sanitize_request_headers(&lines), "");
  EXPECT_EQ(lines, (std::vector<std::string>{"X-A: 1", "X-B: 2"}));
}

TEST(HttpHeaders, HostConflictsAreRefused) {
  std::vector<std::string> one = {"Host: a"};
  EXPECT_EQ(sanitize_request_headers(&one), "");
  std::vector<std::string> two = {"Host: a", "host: b"};
  EXPECT_NE(sanitize_request_headers(&two), "");
  std::vector<std::string> empty = {"Host:  "};
  EXPECT_NE(sanitize_request_headers(&empty), "");
  std::vector<std::string> semicolon = {"Host;"};
  EXPECT_NE(sanitize_request_headers(&semicolon), "");
}

TEST(HttpHeaders, LinesThatAreNoHeadersAndHugeHeadsAreRefused) {
  std::vector<std::string> bare = {"no colon here"};
  EXPECT_NE(sanitize_request_headers(&bare), "");
  std::vector<std::string> nameless = {": value"};
  EXPECT_NE(sanitize_request_headers(&nameless), "");
  std::vector<std::string> huge = {"X-Big: " + std::string(max_request_header_bytes, 'a')};
  EXPECT_NE(sanitize_request_headers(&huge), "");
  std::vector<std::string> fits = {"X-Big: " + std::string(max_request_header_bytes / 2, 'a')};
  EXPECT_EQ(sanitize_request_headers(&fits), "");
}

TEST(HttpHeaders, ErrorKindNamesAreTheLispContract) {
  EXPECT_STREQ(http_error_kind_name(HttpErrorKind::malformed), "malformed");
  EXPECT_STREQ(http_error_kind_name(HttpErrorKind::descriptors), "descriptors");
  EXPECT_STREQ(http_error_kind_name(HttpErrorKind::too_large), "too-large");
  EXPECT_STREQ(http_error_kind_name(HttpErrorKind::other), "other");
}

}  // namespace
}  // namespace aio::test
