// read_request_head: the order of the checks is part of the contract (what a request is refused for
// first), so it lives in one function shared by the session and the fuzz target.
#include "request_head.hpp"

namespace mvi::http {

namespace bhttp = boost::beast::http;

RequestHead read_request_head(RequestParser& parser, std::string_view block, const config::Limits& limits) {
  RequestHead out;
  if (auto rejection = check_raw_header(block, limits)) {
    out.rejection = std::move(rejection);
    return out;
  }
  const std::size_t lead = leading_empty_lines(block);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(block.data() + lead, block.size() - lead), ec);
  auto too_large = [&limits] {
    return Rejection{413, "Request body too large: the limit is " + std::to_string(limits.max_body_size) + " bytes"};
  };
  if (ec == bhttp::error::header_limit) {
    out.rejection = Rejection{431, "Request header fields too large: the limit is " +
                                       std::to_string(limits.max_header_size) + " bytes"};
    return out;
  }
  if (ec == bhttp::error::body_limit) {  // Beast compares Content-Length with the limit here
    out.rejection = too_large();
    return out;
  }
  if (ec || !parser.is_header_done()) {
    out.rejection = Rejection{400, "Malformed HTTP request: " + (ec ? ec.message() : std::string("incomplete header"))};
    return out;
  }
  const auto& req = parser.get();
  Request& r = out.request;
  r.method = std::string(req.method_string());
  r.target = std::string(req.target());
  const auto q = r.target.find('?');
  r.path = r.target.substr(0, q);
  if (q != std::string::npos) r.query = r.target.substr(q + 1);
  r.version = req.version();
  r.headers.reserve(8);
  for (const auto& f : req) r.headers.push_back({std::string(f.name_string()), std::string(f.value())});
  if (auto rejection = check_framing(r)) {
    out.rejection = std::move(rejection);
    return out;
  }
  if (auto cl = parser.content_length(); cl && *cl > limits.max_body_size) {
    out.rejection = too_large();
    return out;
  }
  out.keep_alive = req.keep_alive();
  const auto expect = req[bhttp::field::expect];
  out.expect_continue = !parser.is_done() && iequals(std::string_view(expect.data(), expect.size()), "100-continue");
  return out;
}

}  // namespace mvi::http
