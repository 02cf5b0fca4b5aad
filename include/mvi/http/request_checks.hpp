// The protocol checks Beast 1.74 does not make (SPEC §8): request-line length, obs-fold, bare LF,
// NUL bytes, header count, and the framing rules that close request-smuggling doors
// (Transfer-Encoding, Content-Length, Host, the request target's form). Pure functions over the
// raw header block and the parsed head; thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "mvi/config/config.hpp"
#include "mvi/http/message.hpp"

namespace mvi::http {

struct Rejection {
  int status;          // 400, 414, 431, 501
  std::string detail;  // for the {"detail": ...} body
};

// `block` is the bytes up to and including the blank line that ends the header.
std::optional<Rejection> check_raw_header(std::string_view block, const config::Limits& limits);

// Checks a header block still arriving (no blank line yet), so a malformed one is answered at once
// instead of at the header deadline: a bare LF (a request using LF alone never shows the CRLFCRLF
// that ends a header), a NUL byte, or more bytes than the header limit (414 when the request line
// alone is too long, else 431). `checked` bytes at the front were checked by an earlier call.
std::optional<Rejection> check_partial_header(std::string_view partial, std::size_t checked,
                                              const config::Limits& limits);

// How many bytes of empty lines (CRLF) precede the request line, which RFC 9112 §2.2 says a server
// should ignore; at most `kMaxLeadingEmptyLines` of them are skipped.
inline constexpr std::size_t kMaxLeadingEmptyLines = 4;
std::size_t leading_empty_lines(std::string_view data);

// `head` has method, target, version and headers (no body yet).
std::optional<Rejection> check_framing(const Request& head);

}  // namespace mvi::http
