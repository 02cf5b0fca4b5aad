// Raw-header and framing checks. Every rule here answers a known smuggling or parsing-ambiguity
// shape; each rejection closes the connection (the server never parses what follows).
#include "mvi/http/request_checks.hpp"

#include <cctype>
#include <vector>

namespace mvi::http {
namespace {

std::string lower(std::string_view s) {
  std::string out;
  for (char c : s) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

std::size_t leading_empty_lines(std::string_view data) {
  std::size_t n = 0;
  while (n < 2 * kMaxLeadingEmptyLines && data.substr(n, 2) == "\r\n") n += 2;
  return n;
}

std::optional<Rejection> check_raw_header(std::string_view block, const config::Limits& limits) {
  // Leading empty lines before the request line are tolerated (RFC 9112 §2.2).
  const std::size_t start = leading_empty_lines(block);
  std::size_t line_end = block.find("\r\n", start);
  if (line_end == std::string_view::npos) return Rejection{400, "Malformed request line"};
  if (line_end - start > limits.max_request_line)
    return Rejection{414, "Request line too long: the limit is " + std::to_string(limits.max_request_line) + " bytes"};
  std::size_t fields = 0;
  for (std::size_t i = start; i < block.size(); ++i) {
    char c = block[i];
    if (c == '\0') return Rejection{400, "NUL byte in the request header"};
    if (c == '\n' && (i == 0 || block[i - 1] != '\r')) return Rejection{400, "Bare LF in the request header"};
    if (c == '\r' && (i + 1 >= block.size() || block[i + 1] != '\n')) return Rejection{400, "Bare CR in the request header"};
    if (c == '\n' && i + 1 < block.size()) {
      char next = block[i + 1];
      if (next == ' ' || next == '\t') return Rejection{400, "Obsolete line folding (obs-fold) is not accepted"};
      if (next != '\r') ++fields;
    }
  }
  if (fields > limits.max_header_count)
    return Rejection{431, "Too many header fields: the limit is " + std::to_string(limits.max_header_count)};
  return std::nullopt;
}

std::optional<Rejection> check_partial_header(std::string_view partial, std::size_t checked,
                                              const config::Limits& limits) {
  for (std::size_t i = checked; i < partial.size(); ++i) {
    if (partial[i] == '\0') return Rejection{400, "NUL byte in the request header"};
    if (partial[i] == '\n' && (i == 0 || partial[i - 1] != '\r')) return Rejection{400, "Bare LF in the request header"};
  }
  if (partial.size() <= limits.max_header_size) return std::nullopt;
  const std::size_t start = leading_empty_lines(partial);
  std::size_t line_end = partial.find("\r\n", start);
  std::size_t line_length = line_end == std::string_view::npos ? partial.size() - start : line_end - start;
  if (line_length > limits.max_request_line)
    return Rejection{414, "Request line too long: the limit is " + std::to_string(limits.max_request_line) + " bytes"};
  return Rejection{431, "Request header fields too large: the limit is " + std::to_string(limits.max_header_size) +
                            " bytes"};
}

std::optional<Rejection> check_framing(const Request& head) {
  // The request target: origin-form only ("*" is for OPTIONS); absolute- and authority-form
  // targets are how proxies are confused about which host a request is for.
  if (head.target.empty() || (head.target.front() != '/' && !(head.target == "*" && head.method == "OPTIONS")))
    return Rejection{400, "The request target must be a path (origin-form)"};
  if (head.method == "CONNECT") return Rejection{400, "CONNECT is not supported"};

  std::size_t hosts = 0, lengths = 0, encodings = 0;
  std::vector<std::string> codings;
  std::string length_value;
  for (const auto& h : head.headers) {
    if (iequals(h.name, "host")) ++hosts;
    else if (iequals(h.name, "content-length")) {
      ++lengths;
      length_value = trim(h.value);
    } else if (iequals(h.name, "transfer-encoding")) {
      ++encodings;
      std::size_t pos = 0;
      std::string value = h.value;
      while (pos <= value.size()) {
        auto comma = value.find(',', pos);
        std::string token = lower(trim(std::string_view(value).substr(pos, comma == std::string::npos ? std::string::npos : comma - pos)));
        if (!token.empty()) codings.push_back(token);
        if (comma == std::string::npos) break;
        pos = comma + 1;
      }
    }
  }
  if (head.version >= 11 && hosts == 0) return Rejection{400, "Missing Host header"};
  if (hosts > 1) return Rejection{400, "Duplicate Host header"};
  if (lengths > 1) return Rejection{400, "Duplicate Content-Length header"};
  if (lengths == 1) {
    bool digits = !length_value.empty() && length_value.size() <= 19;
    for (char c : length_value) digits &= c >= '0' && c <= '9';
    if (!digits) return Rejection{400, "Invalid Content-Length"};
  }
  if (encodings > 0) {
    if (head.version < 11) return Rejection{400, "Transfer-Encoding is not allowed in HTTP/1.0"};
    if (lengths > 0) return Rejection{400, "Content-Length and Transfer-Encoding together are not allowed"};
    if (codings.size() != 1 || codings[0] != "chunked")
      return Rejection{501, "Only 'Transfer-Encoding: chunked' is supported"};
  }
  return std::nullopt;
}

}  // namespace mvi::http
