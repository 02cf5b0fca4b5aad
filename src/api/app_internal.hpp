// Private to src/api: what the App's route handlers, spread over src/api/routes/*.cpp by topic, share —
// the published Service record, the per-request Context, and small helpers. Not a public header.
#pragma once

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "mvi/api/app.hpp"
#include "mvi/core/json.hpp"

namespace mvi::api {

// Everything attach_service() publishes once: the router with the entrypoints, the rendered OpenAPI
// document, the invoker and the metrics. Read through an atomic pointer, so routing takes no lock.
struct App::Service {
  explicit Service(std::string root_path) : router(std::move(root_path)) {}
  http::Router router;
  std::string openapi;  // the document, rendered once
  const registry::Registry* registry = nullptr;
  exec::Invoker* invoker = nullptr;
  metrics::Metrics* metrics = nullptr;
};

// One request on its way through the App, carried into asynchronous completions.
struct App::Context {
  http::Request request;
  http::Responder respond;
  bool access_log = true;
  std::string entrypoint;                       // set for entrypoint calls, for the access log
  std::optional<std::size_t> entrypoint_index;  // and for their metrics
};

namespace detail {

// nginx's "client closed request": the status a cancelled call is logged and counted with.
inline constexpr int kClientClosedRequest = 499;

// 503 with Retry-After: 1.
http::Response unavailable(std::string_view detail);

// Equal-time comparison: the time taken does not depend on where the strings differ.
bool constant_time_equal(std::string_view a, std::string_view b);

// The value of cookie `name` in a Cookie header.
std::optional<std::string_view> cookie_value(std::string_view cookies, std::string_view name);

// The answer to a call that did not succeed (every exec::Outcome but ok): an HTTPException's status and
// headers, 422 for arguments the builder refused, 500 with the request id, 502 for a lost worker, 503, 504,
// and 499 for a client that left.
http::Response failed_call(const exec::CallResult& r, const std::string& request_id);

// The answer to a CORS preflight (docs/operations.md "CORS").
http::Response cors_preflight(const config::Security& sec, std::string_view origin, std::string_view method,
                              std::optional<std::string_view> asked_headers);

// Unix seconds from a query value: a number, or an ISO 8601 time; nullopt for anything else.
std::optional<double> unix_time_from_query(const std::string& value);

}  // namespace detail

// The names every handler file uses.
using json = Json;
using http::Response;
using http::Router;
using detail::unavailable;

}  // namespace mvi::api
