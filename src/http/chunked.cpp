// The chunked-body decoder: a state machine over whatever bytes have arrived, so a body can come in
// any number of pieces. Pure apart from its own state.
#include "mvi/http/chunked.hpp"

#include <algorithm>

namespace mvi::http {
namespace {

constexpr std::size_t kMaxSizeDigits = 16;  // 2^64 - 1; more digits (even zeros) are refused

}  // namespace

void ChunkedDecoder::fail(Rejection r) {
  status_ = Status::failed;
  rejection_ = std::move(r);
}

std::size_t ChunkedDecoder::line_limit() const {
  switch (state_) {
    case State::size_line: return limits_.max_chunk_line;
    case State::trailer: return limits_.max_header_size;
    default: return 0;  // data_end: exactly CRLF
  }
}

// Made only when a line is refused: building the text for every line would cost an allocation each.
Rejection ChunkedDecoder::line_rejection() const {
  switch (state_) {
    case State::size_line:
      return {400, "Chunk size line too long: the limit is " + std::to_string(limits_.max_chunk_line) +
                       " bytes, extensions included"};
    case State::trailer:
      return {431, "Trailer fields too large: the limit is " + std::to_string(limits_.max_header_size) + " bytes"};
    default: return {400, "Chunk data does not end where its size says"};
  }
}

bool ChunkedDecoder::take_line(std::string_view input, std::size_t& used) {
  const std::size_t limit = line_limit();
  while (used < input.size()) {
    const std::string_view rest = input.substr(used);
    const std::size_t lf = rest.find('\n');
    const std::size_t piece = lf == std::string_view::npos ? rest.size() : lf;
    // The limit counts the line's bytes, CR included, so a line can never grow past it.
    if (line_.size() + piece > limit + 1) {
      fail(line_rejection());
      return false;
    }
    line_.append(rest.data(), piece);
    used += piece;
    if (lf == std::string_view::npos) return false;
    ++used;  // the LF
    if (line_.empty() || line_.back() != '\r') {
      fail({400, "Bare LF in a chunked body: lines must end in CRLF"});
      return false;
    }
    line_.pop_back();
    if (line_.size() > limit) {
      fail(line_rejection());
      return false;
    }
    return true;
  }
  return false;
}

void ChunkedDecoder::on_size_line() {
  std::size_t digits = 0;
  std::uint64_t size = 0;
  while (digits < line_.size() && hex_digit_value(line_[digits]) >= 0) {
    if (digits == kMaxSizeDigits) return fail({400, "Invalid chunk size: more than 16 hex digits"});
    size = size * 16 + static_cast<std::uint64_t>(hex_digit_value(line_[digits]));
    ++digits;
  }
  if (digits == 0) return fail({400, "Invalid chunk size"});
  // What may follow the size: optional whitespace and ";" extensions, which are ignored.
  std::string_view tail = std::string_view(line_).substr(digits);
  while (!tail.empty() && (tail.front() == ' ' || tail.front() == '\t')) tail.remove_prefix(1);
  if (!tail.empty() && tail.front() != ';') return fail({400, "Invalid chunk size"});
  if (tail.find_first_of(std::string_view("\r\0", 2)) != std::string_view::npos)
    return fail({400, "Invalid chunk extension"});
  line_.clear();
  if (size > limits_.max_body_size)
    return fail({413, "Request body too large: the limit is " + std::to_string(limits_.max_body_size) + " bytes"});
  if (size == 0) {
    state_ = State::trailer;
    return;
  }
  remaining_ = size;
  state_ = State::data;
}

void ChunkedDecoder::on_trailer_line() {
  if (line_.empty()) {
    status_ = Status::done;
    return;
  }
  trailer_bytes_ += line_.size() + 2;
  if (++trailer_fields_ > limits_.max_header_count)
    return fail({431, "Too many trailer fields: the limit is " + std::to_string(limits_.max_header_count)});
  if (trailer_bytes_ > limits_.max_header_size)
    return fail({431, "Trailer fields too large: the limit is " + std::to_string(limits_.max_header_size) + " bytes"});
  if (line_.front() == ' ' || line_.front() == '\t')
    return fail({400, "Obsolete line folding (obs-fold) is not accepted"});
  if (line_.find(':') == std::string::npos || line_.find('\0') != std::string::npos)
    return fail({400, "Malformed trailer field"});
  line_.clear();  // trailer fields are read and dropped: nothing here uses them
}

std::size_t ChunkedDecoder::feed(std::string_view input, std::string& body) {
  std::size_t used = 0;
  while (status_ == Status::need_more && used < input.size()) {
    switch (state_) {
      case State::size_line:
        if (!take_line(input, used)) return used;
        on_size_line();
        break;
      case State::data: {
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, input.size() - used));
        if (body.size() + n > limits_.max_body_size) {
          fail({413, "Request body too large: the limit is " + std::to_string(limits_.max_body_size) + " bytes"});
          return used;
        }
        body.append(input.data() + used, n);
        used += n;
        remaining_ -= n;
        if (remaining_ == 0) state_ = State::data_end;
        break;
      }
      case State::data_end:
        // Exactly CRLF after the data; anything else means the sizes lied.
        if (!take_line(input, used)) return used;
        state_ = State::size_line;
        break;
      case State::trailer:
        if (!take_line(input, used)) return used;
        on_trailer_line();
        break;
    }
  }
  return used;
}

}  // namespace mvi::http
