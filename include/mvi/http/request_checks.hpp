// The protocol checks Beast 1.74 does not make (SPEC §8): request-line length, obs-fold, bare LF,
// NUL bytes, header count, and the framing rules that close request-smuggling doors
// (Transfer-Encoding, Content-Length, Host, the request target's form). Pure functions over the
// raw header block and the parsed head; thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "mvi/http/message.hpp"

namespace mvi::http {

struct Rejection {
  int status;          // 400, 414, 431, 501
  std::string detail;  // for the {"detail": ...} body
};

struct RawLimits {
  std::size_t max_request_line = 8 * 1024;
  std::size_t max_header_count = 100;
};

// `block` is the bytes up to and including the blank line that ends the header.
std::optional<Rejection> check_raw_header(std::string_view block, const RawLimits& limits);

// Called when the header limit was hit before the blank line: 414 when the request line alone is
// too long, else 431.
Rejection oversized_header(std::string_view partial, const RawLimits& limits, std::size_t header_limit);

// `head` has method, target, version and headers (no body yet).
std::optional<Rejection> check_framing(const Request& head);

}  // namespace mvi::http
