// Private to src/http (and the fuzz target): reading a request head with Beast's parser and applying
// the runtime's rules to it, in the order the session needs — raw-header checks, Beast's parse, the
// size limits Beast applies, the framing checks, the Content-Length limit — so the session and the
// fuzzer run the same function. Includes Beast's HTTP parser; pure apart from the parser it fills.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/http/parser.hpp>

#include "mvi/config/config.hpp"
#include "mvi/http/message.hpp"
#include "mvi/http/request_checks.hpp"

namespace mvi::http {

// Bodies of known length up to 16 KiB, read by Beast into a std::string by appending (larger ones and
// chunked ones are read by the session itself). Beast's string_body resizes (zero-fills) each piece
// and then copies into it: one more pass over memory than needed.
struct RequestBody {
  using value_type = std::string;

  class reader {
   public:
    template <bool isRequest, class Fields>
    reader(boost::beast::http::header<isRequest, Fields>&, value_type& body) : body_(body) {}

    void init(const boost::optional<std::uint64_t>&, boost::beast::error_code& ec) { ec = {}; }

    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, boost::beast::error_code& ec) {
      ec = {};
      std::size_t n = 0;
      for (auto b : boost::beast::buffers_range_ref(buffers)) {
        body_.append(static_cast<const char*>(b.data()), b.size());
        n += b.size();
      }
      return n;
    }

    void finish(boost::beast::error_code& ec) { ec = {}; }

   private:
    value_type& body_;
  };
};

using RequestParser = boost::beast::http::request_parser<RequestBody>;

struct RequestHead {
  std::optional<Rejection> rejection;  // set: answer it and close; the rest is unset
  Request request;                     // method, target, path, query, version, headers (no body yet)
  bool keep_alive = false;
  bool expect_continue = false;        // a body follows and the client waits for 100 Continue
};

// `block` is the header block up to and including its blank line (leading empty lines allowed).
// `parser` must be fresh, with its header and body limits set; it is left ready to read the body.
RequestHead read_request_head(RequestParser& parser, std::string_view block, const config::Limits& limits);

}  // namespace mvi::http
