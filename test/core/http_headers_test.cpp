#include <gtest/gtest.h>

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

}  // namespace
}  // namespace aio::test
