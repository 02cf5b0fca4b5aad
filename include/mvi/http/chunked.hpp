// Decoding of chunked request bodies (RFC 9112 §7.1) with every line bounded: Beast 1.74 buffers a
// chunk-size line and its extensions without limit, and its trailers bypass the header limits.
// Here the chunk-size line (size plus extensions) is at most `max_chunk_line` bytes, the size at most
// 16 hex digits, trailers count against the header size and field limits, lines end in CRLF only,
// and the decoded body against the body limit. One decoder per body; not thread-safe (a session's).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "mvi/config/config.hpp"
#include "mvi/http/request_checks.hpp"

namespace mvi::http {

class ChunkedDecoder {
 public:
  enum class Status { need_more, done, failed };

  explicit ChunkedDecoder(const config::Limits& limits) : limits_(limits) {}

  // Decodes what it can of `input`, appending chunk data to `body`. Returns how many bytes it used:
  // once done, the rest of `input` is the next request's. After failed, rejection() says why.
  std::size_t feed(std::string_view input, std::string& body);

  Status status() const { return status_; }
  const Rejection& rejection() const { return *rejection_; }

 private:
  enum class State { size_line, data, data_end, trailer };

  // Completes a CRLF-terminated line in line_ from input; false when more input is needed. Fails on a
  // bare LF and on a line over the current state's limit.
  bool take_line(std::string_view input, std::size_t& used);
  std::size_t line_limit() const;
  Rejection line_rejection() const;
  void on_size_line();
  void on_trailer_line();
  void fail(Rejection r);

  const config::Limits limits_;
  State state_ = State::size_line;
  Status status_ = Status::need_more;
  std::optional<Rejection> rejection_;
  std::string line_;               // the line being read, without its CRLF once complete
  std::uint64_t remaining_ = 0;    // bytes left in the current chunk
  std::size_t trailer_bytes_ = 0;  // of the trailer section so far
  std::size_t trailer_fields_ = 0;
};

}  // namespace mvi::http
