// The App's core: publishing the service, routing through the route table (routes.cpp), and what
// every request goes through once: request id, auth, CORS, metrics and the access log. The handlers
// are in src/api/routes/ by topic. The Service record is published once through an atomic pointer,
// so handle() takes no lock to route.
#include "mvi/api/app.hpp"

#include <algorithm>
#include <iterator>
#include <mutex>
#include <string>

#include "app_internal.hpp"
#include "mvi/core/request_id.hpp"
#include "mvi/core/time.hpp"
#include "mvi/logs/log.hpp"
#include "mvi/schema/validator.hpp"

namespace mvi::api {

namespace {

constexpr Router::Id kEntrypointBase = 1000;  // + Registry index; built-in routes are their table index


}  // namespace

App::App(AppDeps deps) : deps_(deps), builtin_router_(deps.config.root_path) {
  add_builtin_routes(builtin_router_);
  // One listener fans each notification out to the open /notifications/stream clients.
  deps_.notifications.add_listener([this](const state::Notification& n) {
    std::string event = "event: notification\nid: " + std::to_string(n.id) + "\ndata: " +
                        dump_json(n.to_json(deps_.config.name, deps_.config.version)) +
                        "\n\n";
    std::lock_guard lock(streams_mutex_);
    sse_clients_.erase(std::remove_if(sse_clients_.begin(), sse_clients_.end(),
                                      [&](const std::shared_ptr<http::StreamSink>& s) { return !s->write(event); }),
                       sse_clients_.end());
  });
}

App::~App() = default;

bool App::is_builtin(Router::Id id) { return id >= 0 && static_cast<std::size_t>(id) < routes().size(); }

void App::attach_service(const registry::Registry& registry, exec::Invoker& invoker, metrics::Metrics& metrics) {
  auto service = std::make_unique<Service>(deps_.config.root_path);
  add_builtin_routes(service->router);
  for (const auto& ep : registry.entrypoints) {
    const auto id = kEntrypointBase + static_cast<Router::Id>(ep.index);
    if (ep.mount.empty()) service->router.add(ep.method, "/" + ep.name, id);
    else service->router.add_mount(ep.mount, id);
  }
  service->registry = &registry;
  service->invoker = &invoker;
  service->metrics = &metrics;
  service->openapi = dump_json(openapi::build_document(registry, deps_.parameters.list(),
                                                       {deps_.config.name, deps_.config.version, deps_.config.root_path,
                                                        !deps_.config.security.token.empty()},
                                                       documented_routes()));
  service_owner_ = std::move(service);
  service_.store(service_owner_.get(), std::memory_order_release);
}

void App::handle(http::Request request, http::Responder respond) {
  if (request.request_id.empty()) request.request_id = core::request_id_for(request.header("X-Request-ID"));
  auto ctx = std::make_shared<Context>();
  ctx->request = std::move(request);
  ctx->respond = std::move(respond);
  route(ctx);
}

void App::finish(const std::shared_ptr<Context>& ctx, Response response) {
  const auto& req = ctx->request;
  response.set_header("X-Request-ID", req.request_id);
  response.set_header("X-Content-Type-Options", "nosniff");
  if (deps_.config.security.cors) {
    if (auto origin = req.header("Origin")) {
      response.set_header("Vary", "Origin");
      const auto& allowed = deps_.config.security.cors_origins;
      if (std::find(allowed.begin(), allowed.end(), *origin) != allowed.end()) {
        response.set_header("Access-Control-Allow-Origin", std::string(*origin));
        if (deps_.config.security.cors_credentials) response.set_header("Access-Control-Allow-Credentials", "true");
        response.set_header("Access-Control-Expose-Headers", "X-Request-ID, X-Parameters-Generation");
      }
    }
  }
  counters_.total.fetch_add(1, std::memory_order_relaxed);
  if (response.status >= 500) counters_.server_errors.fetch_add(1, std::memory_order_relaxed);
  else if (response.status >= 400) counters_.client_errors.fetch_add(1, std::memory_order_relaxed);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - req.received).count();
  if (ctx->entrypoint_index)
    if (const Service* published = service())
      published->metrics->record(*ctx->entrypoint_index, response.status, seconds);
  if (ctx->access_log && logs::enabled(logs::Level::info)) {
    const double ms = seconds * 1000.0;
    logs::Record r;
    r.level = logs::Level::info;
    r.logger = "mvi.access";
    r.message = fmt::format("{} {} {} {:.2f}ms", req.method, req.path, response.status, ms);
    // Another service's call_service(): the line names the caller (the request id is already shared).
    if (auto caller = req.header("X-MVI-Caller"); caller && core::is_valid_caller(*caller))
      fmt::format_to(std::back_inserter(r.message), " from {}", *caller);
    r.entrypoint = ctx->entrypoint;
    r.request_id = req.request_id;
    logs::emit(std::move(r));
  }
  ctx->respond(std::move(response));
}

bool App::authorized(const http::Request& req) const {
  const std::string& token = deps_.config.security.token;
  if (token.empty()) return true;
  if (auto auth = req.header("Authorization")) {
    std::string_view value = *auth;
    if (value.size() > 7 && http::iequals(value.substr(0, 7), "Bearer ") && detail::constant_time_equal(value.substr(7), token))
      return true;
  }
  if (auto cookies = req.header("Cookie"))
    if (auto value = detail::cookie_value(*cookies, "mvi_token"); value && detail::constant_time_equal(*value, token)) return true;
  return false;
}

http::Response App::unauthorized(const http::Request& req, const Match& match) const {
  // A browser opening the docs page is sent to the login form; everything else gets 401.
  auto accept = req.header("Accept");
  const bool redirect = match.outcome == Router::Outcome::found && is_builtin(match.id) &&
                        routes()[static_cast<std::size_t>(match.id)].login_redirect;
  if (redirect && accept && accept->find("text/html") != std::string_view::npos) {
    Response r = Response::error(303, "Log in first");
    r.set_header("Location", deps_.config.root_path + "/login");
    return r;
  }
  Response r = Response::error(401, "Not authenticated");  // the same body for a missing and a wrong token
  r.set_header("WWW-Authenticate", "Bearer");
  return r;
}

std::optional<http::Response> App::early_answer(const http::Request& req, const Router::Match& match) const {
  const auto& sec = deps_.config.security;
  if (sec.cors && req.method == "OPTIONS" && req.header("Origin") && req.header("Access-Control-Request-Method"))
    return detail::cors_preflight(sec, *req.header("Origin"), *req.header("Access-Control-Request-Method"),
                                  req.header("Access-Control-Request-Headers"));
  const bool exempt = match.outcome == Router::Outcome::found && is_builtin(match.id) &&
                      routes()[static_cast<std::size_t>(match.id)].is_public;
  if (!exempt && !authorized(req)) return unauthorized(req, match);
  if (match.outcome == Router::Outcome::bad_path) return Response::error(400, "Invalid request path");
  if (match.outcome == Router::Outcome::method_not_allowed) {
    Response r = Response::error(405, "Method Not Allowed");
    r.set_header("Allow", match.allow);
    return r;
  }
  if (match.outcome == Router::Outcome::not_found) {
    if (!service() && deps_.lifecycle.state() == core::LifeState::starting)
      return detail::unavailable("Service is starting");
    return Response::error(404, "Not Found");
  }
  return std::nullopt;
}

bool App::precheck(const http::Request& head, http::Responder respond) {
  const Service* published = service();
  const Router& router = published ? published->router : builtin_router_;
  auto match = router.match(head.method, head.path);
  auto answer = early_answer(head, match);
  if (!answer) return false;
  auto ctx = std::make_shared<Context>();
  ctx->request = head;
  ctx->request.request_id = core::request_id_for(head.header("X-Request-ID"));
  ctx->respond = std::move(respond);
  finish(ctx, std::move(*answer));
  return true;
}

void App::route(const ContextPtr& ctx) {
  const auto& req = ctx->request;
  const Service* published = service();
  const Router& router = published ? published->router : builtin_router_;
  auto match = router.match(req.method, req.path);
  if (auto answer = early_answer(req, match)) return finish(ctx, std::move(*answer));
  if (is_builtin(match.id)) return (this->*routes()[static_cast<std::size_t>(match.id)].handler)(ctx, match);
  if (published && match.id >= kEntrypointBase) {
    auto index = static_cast<std::size_t>(match.id - kEntrypointBase);
    const auto& ep = published->registry->entrypoints.at(index);
    ctx->access_log = !ep.disable_http_logs;
    ctx->entrypoint = ep.name;
    ctx->entrypoint_index = ep.index;
    auto state = deps_.lifecycle.state();
    if (state != core::LifeState::running && state != core::LifeState::stopping)
      return finish(ctx, unavailable("Service is not running"));
    if (!ep.mount.empty()) return on_mount(ctx, ep, *published->invoker, match.capture);
    return on_entrypoint(ctx, ep, *published->invoker);
  }
  finish(ctx, Response::error(404, "Not Found"));
}

namespace detail {

Response unavailable(std::string_view detail) {
  Response r = Response::error(503, detail);
  r.set_header("Retry-After", "1");
  return r;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() != b.size() ? 1 : 0;
  const std::size_t n = std::max(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

std::optional<std::string_view> cookie_value(std::string_view cookies, std::string_view name) {
  while (!cookies.empty()) {
    auto semi = cookies.find(';');
    std::string_view pair = cookies.substr(0, semi);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    if (pair.size() > name.size() && pair.substr(0, name.size()) == name && pair[name.size()] == '=')
      return pair.substr(name.size() + 1);
    if (semi == std::string_view::npos) break;
    cookies.remove_prefix(semi + 1);
  }
  return std::nullopt;
}

http::Response failed_call(const exec::CallResult& r, const std::string& request_id) {
  Response resp;
  switch (r.outcome) {
    case exec::Outcome::ok: throw std::logic_error("failed_call() for a call that succeeded");
    case exec::Outcome::http_error:
      resp = Response::json(r.raised.status, json{{"detail", r.value}});
      if (r.raised.status == 204 || r.raised.status == 304) resp.body.clear();
      for (auto& [k, v] : r.raised.headers) resp.set_header(k, v);
      break;
    case exec::Outcome::invalid: resp = Response::json(422, json{{"detail", r.value}}); break;
    case exec::Outcome::exception:
      resp = Response::json(500, json{{"detail", "Internal Server Error"}, {"request_id", request_id}});
      break;
    case exec::Outcome::unavailable: resp = unavailable("Service is shutting down"); break;
    case exec::Outcome::worker_lost:
      // Isolated mode: the worker process died with the call in it (the cause is in the log).
      resp = Response::json(502, json{{"detail", "The worker process running this call died: " + r.error},
                                      {"request_id", request_id}});
      break;
    case exec::Outcome::timed_out:
      resp = Response::json(504, json{{"detail", r.error}, {"request_id", request_id}});
      break;
    case exec::Outcome::cancelled:
      // Nobody reads this answer: the client left, or was answered 504. 499 (nginx's "client closed
      // request") marks it in the access log and in /metrics.
      resp = Response::error(kClientClosedRequest, "Client closed the request");
      break;
  }
  return resp;
}

http::Response cors_preflight(const config::Security& sec, std::string_view origin, std::string_view method,
                              std::optional<std::string_view> asked_headers) {
  // Starlette's CORSMiddleware with Daeploy's settings, which FastAPI users know: the same headers on every
  // preflight, the origin echoed only when listed, and 400 naming what is not allowed.
  static constexpr std::string_view kMethods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
  static constexpr std::string_view kHeaders[] = {"Accept",           "Accept-Language", "Authorization",
                                                  "Content-Language", "Content-Type",    "X-Request-ID"};
  auto listed = [](const auto& names) {
    std::string out;
    for (std::string_view n : names) out.append(out.empty() ? "" : ", ").append(n);
    return out;
  };
  http::Response r;
  r.content_type = "text/plain; charset=utf-8";
  r.set_header("Vary", "Origin");
  r.set_header("Access-Control-Allow-Methods", listed(kMethods));
  r.set_header("Access-Control-Max-Age", "600");
  r.set_header("Access-Control-Allow-Headers", listed(kHeaders));
  if (sec.cors_credentials) r.set_header("Access-Control-Allow-Credentials", "true");
  std::vector<std::string_view> failures;
  if (std::find(sec.cors_origins.begin(), sec.cors_origins.end(), origin) != sec.cors_origins.end())
    r.set_header("Access-Control-Allow-Origin", std::string(origin));
  else
    failures.push_back("origin");
  if (std::find(std::begin(kMethods), std::end(kMethods), method) == std::end(kMethods)) failures.push_back("method");
  if (asked_headers) {
    std::string_view rest = *asked_headers;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      std::string name;
      for (char c : rest.substr(0, comma))
        if (c != ' ' && c != '\t') name += c;
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      auto allowed = [&name](std::string_view h) { return http::iequals(h, name); };
      if (!name.empty() && std::none_of(std::begin(kHeaders), std::end(kHeaders), allowed)) {
        failures.push_back("headers");
        break;
      }
    }
  }
  if (failures.empty()) {
    r.status = 200;
    r.body = "OK";
    return r;
  }
  r.status = 400;
  r.body = "Disallowed CORS ";
  for (std::size_t i = 0; i < failures.size(); ++i) r.body += std::string(i ? ", " : "") + std::string(failures[i]);
  return r;
}

std::optional<double> unix_time_from_query(const std::string& value) {
  json number = value;
  schema::Errors ignored;
  if (schema::validate(schema::scalar(schema::Kind::float_), number, json::array(), ignored)) return number.get<double>();
  json iso = value;
  if (schema::validate(schema::scalar(schema::Kind::datetime), iso, json::array(), ignored))
    return core::parse_iso_seconds(iso.get<std::string>());
  return std::nullopt;
}

}  // namespace detail
}  // namespace mvi::api
