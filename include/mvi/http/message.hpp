// Plain HTTP request and response values handed between the Beast session and the route
// handlers, so request logic never sees sockets or Beast types. Values; no shared state.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "mvi/core/cancel.hpp"

namespace mvi::http {

struct Header {
  std::string name;
  std::string value;
};

struct Request {
  std::string method;  // upper case, e.g. "POST"
  std::string target;  // as received: path plus optional "?query"
  std::string path;    // target before '?'
  std::string query;   // target after '?', without it
  std::vector<Header> headers;
  std::string body;
  unsigned version = 11;  // 10 or 11
  std::string request_id;
  std::chrono::steady_clock::time_point received = std::chrono::steady_clock::now();
  // Cancelled by the server when the client leaves before its answer, or the deadline answered
  // 504 (core::CancelToken). Null for requests not read by the server (tests, prechecks).
  std::shared_ptr<core::CancelToken> cancel;

  // Case-insensitive lookup of the first header with this name.
  std::optional<std::string_view> header(std::string_view name) const;
};

// The producer's end of a streamed response body (GET /logs?follow=true, Server-Sent Events).
// write() may be called from any thread and never blocks: it queues the chunk and returns false
// once the client is gone or too far behind (the producer should then stop). Thread-safe.
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  virtual bool write(std::string chunk) = 0;
  virtual void close() = 0;  // ends the body; the connection closes after it
  virtual bool open() const = 0;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json; charset=utf-8";
  std::vector<Header> headers;
  std::string body;
  bool close = false;  // close the connection after writing
  // When set, the body is streamed (chunked): `body` goes out first, then whatever the producer
  // writes to the sink handed to this function once the headers are on the wire.
  std::function<void(std::shared_ptr<StreamSink>)> stream;

  void set_header(std::string name, std::string value);

  // JSON body dumped with invalid UTF-8 replaced, so a response can always be written.
  static Response json(int status, const nlohmann::ordered_json& body);
  // {"detail": detail}
  static Response error(int status, std::string_view detail);
};

using Responder = std::function<void(Response)>;
using Handler = std::function<void(Request, Responder)>;

// The registered reason phrase ("Not Found"); empty for an unregistered code.
std::string_view reason(int status) noexcept;

// 0–15 for a hex digit, else -1.
constexpr int hex_digit_value(char c) noexcept {
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

// Percent-decoding; nullopt for a malformed escape. `plus_as_space` for query strings.
std::optional<std::string> percent_decode(std::string_view text, bool plus_as_space);

// "a=1&b=x%20y&a=2" → [("a","1"),("b","x y"),("a","2")]; malformed pairs are kept undecoded.
std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query);

bool iequals(std::string_view a, std::string_view b) noexcept;

}  // namespace mvi::http
