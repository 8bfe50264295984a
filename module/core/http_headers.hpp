// Small pure helpers for the lines curl hands the header callback, and
// for the names resolvers must refuse. Kept apart from the engine so
// they can be tested without a network.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace aio {

// LINE without its trailing CR LF (or lone LF).
std::string_view strip_line_end(std::string_view line);

// True for a status line ("HTTP/1.1 200 OK", "HTTP/2 200"): each one
// starts a new header block (1xx, proxy CONNECT, redirect, final).
bool is_status_line(std::string_view line);

// True for an obsolete folded continuation line (starts with SP or HT).
bool is_continuation(std::string_view line);

// Splits "Name: value" into the name and the value without surrounding
// blanks. Returns false for a line with no colon or an empty name.
bool split_header(std::string_view line, std::pair<std::string, std::string>* out);

// True for HOST under the special-use domain "invalid" (RFC 6761 6.4:
// resolvers should answer such names negatively at once). Checked
// before curl resolves anything, so no query for them leaves the machine.
bool is_reserved_invalid_host(std::string_view host);

// The most bytes of header lines a request may carry; curl refuses a
// request head over 1 MiB with a misleading "Out of memory".
constexpr std::size_t max_request_header_bytes = 256 * 1024;

// Makes a caller's header LINES safe to hand to curl. Content-Length and
// Transfer-Encoding are dropped: curl frames the body it sends itself,
// and a caller's length that disagrees with the body would leave the
// rest of the body on a reused connection as a second request. Returns
// "" when the lines may go, else why not: a line that is no header, an
// empty or second Host, or more than max_request_header_bytes in all.
// curl reads "Name;" as an empty field and "Name:" as "remove curl's
// own": both are recognised here by their name.
std::string sanitize_request_headers(std::vector<std::string>* lines);

// Case-insensitive ASCII equality.
bool equal_ascii_nocase(std::string_view a, std::string_view b);

}  // namespace aio
