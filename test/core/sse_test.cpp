// The event-stream parser of the loop thread, on the sample the Lisp
// parser's tests use (test/lisp/aio-sse-test.el), cut every way.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sse.hpp"

namespace aio::test {
namespace {

const std::string sample =
    "\xEF\xBB\xBF: a comment\r\n"
    "data: first\n\n"
    "event: greeting\r\ndata: caf\xC3\xA9\r\n\r\n"
    "data: line one\rdata: line two\r\r"
    "id: 42\ndata:no space\n\n"
    "data\n\n"
    "retry: 1500\ndata: with retry\n\n"
    "retry: soon\ndata: bad retry\n\n"
    "event: ping\n\n"
    "data:  two spaces\nid\n\n"
    "data: \xE2\x82\xAC euro\n\n"
    "data: never finished\n";

struct Expected {
  const char* type;
  const char* data;
  const char* id;  // nullptr: none
  long long retry;
};

const std::vector<Expected> expected = {
    {"message", "first", nullptr, -1},
    {"greeting", "caf\xC3\xA9", nullptr, -1},
    {"message", "line one\nline two", nullptr, -1},
    {"message", "no space", "42", -1},
    {"message", "", "42", -1},
    {"message", "with retry", "42", 1500},
    {"message", "bad retry", "42", -1},
    {"message", " two spaces", "", -1},
    {"message", "\xE2\x82\xAC euro", "", -1},
};

void check(const std::vector<SseEvent>& got, const std::string& how) {
  ASSERT_EQ(got.size(), expected.size()) << how;
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].type, expected[i].type) << how << " #" << i;
    EXPECT_EQ(got[i].data, expected[i].data) << how << " #" << i;
    EXPECT_EQ(got[i].has_id, expected[i].id != nullptr) << how << " #" << i;
    if (expected[i].id) {
      EXPECT_EQ(got[i].id, expected[i].id) << how << " #" << i;
    }
    EXPECT_EQ(got[i].retry, expected[i].retry) << how << " #" << i;
  }
}

TEST(Sse, WholeAndByteByByte) {
  SseParser whole;
  std::vector<SseEvent> got;
  whole.feed(sample, &got);
  check(got, "whole");
  SseParser bytewise;
  got.clear();
  for (char c : sample) bytewise.feed(std::string_view(&c, 1), &got);
  check(got, "byte by byte");
}

TEST(Sse, CutAtEveryByteBoundary) {
  for (std::size_t i = 0; i <= sample.size(); ++i) {
    SseParser p;
    std::vector<SseEvent> got;
    p.feed(std::string_view(sample).substr(0, i), &got);
    p.feed(std::string_view(sample).substr(i), &got);
    check(got, "cut at " + std::to_string(i));
  }
}

TEST(Sse, InvalidUtf8BecomesReplacementCharacters) {
  SseParser p;
  std::vector<SseEvent> got;
  p.feed("data: a\xFF" "b\xC3\n\n", &got);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].data, "a\xEF\xBF\xBD" "b\xEF\xBF\xBD");
  EXPECT_EQ(valid_utf8("\xF0\x9F\x98\x80 ok"), "\xF0\x9F\x98\x80 ok");
  EXPECT_EQ(valid_utf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(Sse, EmptyEventTypeIsMessage) {
  SseParser p;
  std::vector<SseEvent> got;
  p.feed("event:\ndata: x\n\n", &got);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].type, "message");
}

}  // namespace
}  // namespace aio::test
