// libFuzzer target for the pure request path, the code that sees attacker bytes before any Python:
// partial-header checks → the session's head reader (raw header checks, Beast's parser, limits,
// framing checks: read_request_head, the same function the session calls) → the router → the body (the server's own chunked decoder, or Beast's parser for a Content-Length body) →
// depth-limited JSON parsing → argument validation against a hand-built entrypoint with typed
// parameters. It mirrors the order of http::Session::on_header_block and api::App::handle_entrypoint,
// with the runtime's default limits. No sockets, no interpreter.
// Build and run: tests/fuzz/run.sh (clang-14, -fsanitize=fuzzer,address,undefined).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "mvi/api/fast_body.hpp"
#include "mvi/api/json_body.hpp"
#include "mvi/config/config.hpp"
#include "mvi/http/chunked.hpp"
#include "mvi/http/message.hpp"
#include "mvi/http/request_checks.hpp"
#include "mvi/http/router.hpp"
#include "mvi/registry/registry.hpp"
#include "mvi/schema/type_desc.hpp"
#include "mvi/schema/validator.hpp"
#include "fuzz_check.hpp"
#include "request_head.hpp"  // src/http: the session's head reader, shared

namespace {

namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using json = nlohmann::ordered_json;

// The runtime's defaults, but a smaller body limit: inputs are small anyway.
const mvi::config::Limits& limits() {
  static const mvi::config::Limits l = [] {
    mvi::config::Limits x;
    x.max_body_size = 64 * 1024;
    return x;
  }();
  return l;
}
constexpr std::size_t kJsonDepth = 64;

mvi::registry::Param param(std::string name, const json& type, bool required = true) {
  mvi::registry::Param p;
  p.name = std::move(name);
  p.type = mvi::schema::parse_type_desc(type, "fuzz." + p.name);
  p.required = required;
  return p;
}

// def typed(n: int, ratio: float, label: str, flag: bool = False, ids: list[int] = [],
//           note: Optional[str] = None, weights: dict[str, float] = {}, mode: Literal["a", "b", 3] = "a",
//           when: datetime = ..., key: UUID = ..., blob: bytes = ..., pair: tuple[int, str] = ...,
//           point: Point (dataclass x: float, y: float, tag: str = "") = ..., arr: NDArray[float64, (-1, 2)] = ...,
//           anything: Any = None, tags: set[str] = ..., choice: int | list[str] | None = None)
const mvi::registry::Entrypoint& entrypoint() {
  static const mvi::registry::Entrypoint ep = [] {
    mvi::registry::Entrypoint e;
    e.name = "typed";
    e.params.push_back(param("n", {{"kind", "int"}}));
    e.params.push_back(param("ratio", {{"kind", "float"}}));
    e.params.push_back(param("label", {{"kind", "str"}}));
    e.params.push_back(param("flag", {{"kind", "bool"}}, false));
    e.params.push_back(param("ids", {{"kind", "list"}, {"items", {{"kind", "int"}}}}, false));
    e.params.push_back(param("note", {{"kind", "union"}, {"options", json::array({{{"kind", "str"}}, {{"kind", "none"}}})}}, false));
    e.params.push_back(param("weights", {{"kind", "dict"}, {"values", {{"kind", "float"}}}}, false));
    e.params.push_back(param("mode", {{"kind", "literal"}, {"values", json::array({"a", "b", 3})}}, false));
    e.params.push_back(param("when", {{"kind", "datetime"}}, false));
    e.params.push_back(param("day", {{"kind", "date"}}, false));
    e.params.push_back(param("at", {{"kind", "time"}}, false));
    e.params.push_back(param("key", {{"kind", "uuid"}}, false));
    e.params.push_back(param("blob", {{"kind", "bytes"}}, false));
    e.params.push_back(param("pair", {{"kind", "tuple"}, {"items", json::array({{{"kind", "int"}}, {{"kind", "str"}}})}}, false));
    e.params.push_back(param("point",
                             {{"kind", "object"}, {"name", "Point"}, {"ref", 0}, {"construct", "dataclass"},
                              {"fields", json::array({{{"name", "x"}, {"type", {{"kind", "float"}}}},
                                                      {{"name", "y"}, {"type", {{"kind", "float"}}}},
                                                      {{"name", "tag"}, {"type", {{"kind", "str"}}}, {"required", false}}})}},
                             false));
    e.params.push_back(param("arr", {{"kind", "ndarray"}, {"dtype", "float64"}, {"shape", json::array({-1, 2})}}, false));
    e.params.push_back(param("anything", {{"kind", "any"}}, false));
    e.params.push_back(param("tags", {{"kind", "list"}, {"items", {{"kind", "str"}}}, {"container", "set"}}, false));
    e.params.push_back(param("color", {{"kind", "enum"}, {"name", "Color"}, {"ref", 1}, {"values", json::array({"red", 2})}}, false));
    e.params.push_back(param("frame", {{"kind", "dataframe"}, {"columns", json::array({"a"})}}, false));
    e.params.push_back(param("choice", {{"kind", "union"},
                                        {"options", json::array({{{"kind", "int"}},
                                                                 {{"kind", "list"}, {"items", {{"kind", "str"}}}},
                                                                 {{"kind", "none"}}})}},
                             false));
    mvi::registry::seal(e);
    return e;
  }();
  return ep;
}

const mvi::http::Router& router() {
  static const mvi::http::Router r = [] {
    mvi::http::Router x("/svc/prefix");
    x.add("GET", "/health/live", 1);
    x.add("GET", "/parameters/{name}", 2);
    x.add("POST", "/parameters/{name}", 3);
    x.add("GET", "/static/swagger-ui/{file}", 4);
    x.add("POST", "/typed", 5);
    x.add("GET", "/typed_get", 6);
    return x;
  }();
  return r;
}

void check_arguments(const std::string& body, std::string_view source) {
  // The simdjson fast path, whatever the body size, must either decline or give valid arguments.
  if (auto fast = mvi::api::parse_arguments_fast(body, entrypoint(), kJsonDepth)) {
    mvi::schema::Errors errors;
    FUZZ_CHECK(fast->notes.size() == entrypoint().params.size());
    if (mvi::registry::validate_arguments(entrypoint(), fast->args, source, errors, &fast->notes))
      FUZZ_CHECK(errors.empty());
    else
      FUZZ_CHECK(!errors.empty());
  }
  auto parsed = mvi::api::parse_json_body(body, kJsonDepth);
  if (!parsed.value) {
    FUZZ_CHECK(parsed.error && (parsed.error->status == 400 || parsed.error->status == 422));
    return;
  }
  mvi::schema::Errors errors;
  json args = std::move(*parsed.value);
  std::vector<mvi::schema::BuildNote> notes;
  const bool ok = mvi::registry::validate_arguments(entrypoint(), args, source, errors, &notes);
  if (ok) {
    FUZZ_CHECK(errors.empty());
    FUZZ_CHECK(args.is_object());
    for (const auto& p : entrypoint().params)
      if (p.required) FUZZ_CHECK(args.contains(p.name));
  } else {
    FUZZ_CHECK(!errors.empty());
  }
  // Both are sent to clients: they must always be encodable.
  (void)mvi::schema::errors_body(errors).dump(-1, ' ', false, json::error_handler_t::replace);
  (void)args.dump(-1, ' ', false, json::error_handler_t::replace);
}

void query_arguments(std::string_view query) {
  // As App::handle_entrypoint does for GET entrypoints: repeated keys make lists.
  json args = json::object();
  for (auto& [k, v] : mvi::http::parse_query(query)) {
    auto it = args.find(k);
    if (it == args.end()) args[k] = v;
    else if (it->is_array()) it->push_back(v);
    else *it = json::array({*it, v});
  }
  mvi::schema::Errors errors;
  std::vector<mvi::schema::BuildNote> notes;
  (void)mvi::registry::validate_arguments(entrypoint(), args, "query", errors, &notes);
  (void)mvi::schema::errors_body(errors).dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // The session reads up to the blank line (after skipping empty lines), checking what arrived as it goes.
  const auto end = input.find("\r\n\r\n", mvi::http::leading_empty_lines(input));
  if (end == std::string_view::npos) {
    if (auto rejection = mvi::http::check_partial_header(input, 0, limits()))
      FUZZ_CHECK(rejection->status == 400 || rejection->status == 414 || rejection->status == 431);
    else
      FUZZ_CHECK(input.size() <= limits().max_header_size);
    return 0;
  }
  const std::string_view block = input.substr(0, end + 4);
  std::string_view rest = input.substr(end + 4);

  // The session's own head reader: raw checks, Beast's parse, limits, framing, in the session's order.
  mvi::http::RequestParser parser;
  parser.header_limit(static_cast<std::uint32_t>(limits().max_header_size));
  parser.body_limit(limits().max_body_size);
  auto read = mvi::http::read_request_head(parser, block, limits());
  if (read.rejection) {
    const int status = read.rejection->status;
    FUZZ_CHECK(status == 400 || status == 413 || status == 414 || status == 431 || status == 501);
    return 0;
  }
  // What it lets through has none of the bytes the raw checks exist to stop.
  FUZZ_CHECK(block.find('\0') == std::string_view::npos);
  for (std::size_t i = 0; i < block.size(); ++i)
    if (block[i] == '\n') FUZZ_CHECK(i > 0 && block[i - 1] == '\r');
  const mvi::http::Request& head = read.request;
  boost::beast::error_code ec;
  // Accepted framing: a path target, one Host on HTTP/1.1, never Content-Length and chunked together.
  FUZZ_CHECK(!head.target.empty());
  FUZZ_CHECK(head.target.front() == '/' || (head.target == "*" && head.method == "OPTIONS"));
  FUZZ_CHECK(!(parser.content_length() && parser.chunked()));

  const auto match = router().match(head.method, head.path);
  if (match.outcome == mvi::http::Router::Outcome::found)
    FUZZ_CHECK(match.capture.find_first_of(std::string_view("/\\\0", 3)) == std::string::npos);
  (void)mvi::http::percent_decode(head.query, true);

  // A chunked body goes through the server's own decoder, as Session::decode_chunks does.
  if (parser.chunked()) {
    mvi::http::ChunkedDecoder decoder(limits());
    std::string body;
    const std::size_t used = decoder.feed(rest, body);
    FUZZ_CHECK(used <= rest.size());
    FUZZ_CHECK(body.size() <= limits().max_body_size);
    switch (decoder.status()) {
      case mvi::http::ChunkedDecoder::Status::failed: {
        const int status = decoder.rejection().status;
        FUZZ_CHECK(status == 400 || status == 413 || status == 431);
        return 0;
      }
      case mvi::http::ChunkedDecoder::Status::need_more:
        FUZZ_CHECK(used == rest.size());  // it held back nothing it could have decoded
        query_arguments(head.query);
        return 0;
      case mvi::http::ChunkedDecoder::Status::done:
        check_arguments(body, "body");
        return 0;
    }
  }

  // A Content-Length body, when the input holds all of it (the session would keep reading otherwise).
  parser.eager(true);
  while (!parser.is_done() && !rest.empty()) {
    const std::size_t used = parser.put(net::buffer(rest.data(), rest.size()), ec);
    if (ec == bhttp::error::need_more) {
      ec = {};
      if (used == 0) break;
    } else if (ec) {
      return 0;
    }
    rest.remove_prefix(used);
    if (used == 0) break;
  }
  if (!parser.is_done()) {
    // The body is incomplete: the session would keep reading. Exercise the query path instead.
    query_arguments(head.query);
    return 0;
  }
  const std::string& body = parser.get().body();
  FUZZ_CHECK(body.size() <= limits().max_body_size);
  if (body.find_first_not_of(" \t\r\n") == std::string::npos && head.method != "POST") query_arguments(head.query);
  else check_arguments(body, "body");
  return 0;
}
