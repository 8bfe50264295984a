// The WHATWG event-stream format ("server-sent events"), parsed on the
// loop thread so that Lisp receives events, not bytes to split.
//
// The rules are those of the HTML standard's "Parsing an event stream":
// an optional byte order mark, lines ended by CR LF, LF or CR (also when
// a chunk ends between CR and LF), comment lines, a field without a
// colon, one space after the colon dropped, data lines joined with LF,
// `retry' only when all ASCII digits, `id' without NUL kept as the last
// event id, and an event dispatched only at a blank line. Text is UTF-8;
// bytes that are not valid UTF-8 become U+FFFD, as the standard's
// decoder does.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace aio {

struct SseEvent {
  std::string type;  // "message" when the event named none
  std::string data;
  std::string id;    // the last event id; empty when HAS_ID is false
  bool has_id = false;
  long long retry = -1;  // milliseconds given with this event; -1: none
};

class SseParser {
 public:
  // Parses BYTES, the next piece of the stream, appending the events it
  // completes to OUT.
  void feed(std::string_view bytes, std::vector<SseEvent>* out);

 private:
  void line(std::string_view line, std::vector<SseEvent>* out);

  std::string partial_;     // an unfinished line
  bool skip_lf_ = false;    // the last piece ended with CR
  bool started_ = false;    // the byte order mark, if any, is behind us
  std::string data_;
  bool has_data_ = false;
  std::string type_;
  std::string last_id_;
  bool has_last_id_ = false;
  long long retry_ = -1;
};

// BYTES with every invalid UTF-8 sequence replaced by U+FFFD.
std::string valid_utf8(std::string_view bytes);

}  // namespace aio
