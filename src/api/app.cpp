// Route handlers for SPEC §4. Built-in routes read C++ state only (never the GIL); entrypoint
// calls are validated here, on the I/O thread, then queued on the Invoker. The Service record
// is published once through an atomic pointer, so handle() takes no lock to route.
#include "mvi/api/app.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>

#include "mvi/api/fast_body.hpp"
#include "mvi/api/health.hpp"
#include "mvi/api/json_body.hpp"
#include "mvi/core/request_id.hpp"
#include "mvi/logs/log.hpp"
#include "mvi/openapi/openapi.hpp"

namespace mvi::api {

using json = nlohmann::ordered_json;
using http::Response;
using http::Router;

namespace {

enum Route : Router::Id {
  kHealthLive,
  kHealthReady,
  kStatus,
  kParameters,
  kParameterGet,
  kParameterPost,
  kBareParameters,
  kBareParameterGet,
  kBareParameterPost,
  kNotificationsGet,
  kNotificationsDelete,
  kOpenApi,
  kLogs,
  kNotificationsStream,
  kDocs,
  kDocsAsset,
  kRoot,
  kLoginPage,
  kLogin,
  kMetrics,
  kMonitor,
  kMonitorCsv,
  kMonitorDb,
  kEntrypointBase = 1000,  // + Registry index
};

void add_builtin_routes(Router& r) {
  r.add("GET", "/health/live", kHealthLive);
  r.add("GET", "/health/ready", kHealthReady);
  r.add("GET", "/status", kStatus);
  r.add("GET", "/parameters", kParameters);
  r.add("GET", "/parameters/{name}", kParameterGet);
  r.add("POST", "/parameters/{name}", kParameterPost);
  r.add("GET", "/~parameters", kBareParameters);
  r.add("GET", "/~parameters/{name}", kBareParameterGet);
  r.add("POST", "/~parameters/{name}", kBareParameterPost);
  r.add("GET", "/notifications", kNotificationsGet);
  r.add("DELETE", "/notifications", kNotificationsDelete);
  r.add("GET", "/openapi.json", kOpenApi);
  r.add("GET", "/logs", kLogs);
  r.add("GET", "/notifications/stream", kNotificationsStream);
  r.add("GET", "/docs", kDocs);
  r.add("GET", "/static/swagger-ui/{file}", kDocsAsset);
  r.add("GET", "/", kRoot);
  r.add("GET", "/login", kLoginPage);
  r.add("POST", "/login", kLogin);
  r.add("GET", "/metrics", kMetrics);
  r.add("GET", "/~monitor", kMonitor);
  r.add("GET", "/~monitor/csv", kMonitorCsv);
  r.add("GET", "/~monitor/db", kMonitorDb);
}

// Equal-time comparison: the time taken does not depend on where the strings differ.
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

const char* kLoginHtml = R"(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Log in</title>
<style>body{font-family:sans-serif;max-width:28em;margin:4em auto}input{width:100%;padding:.5em;margin:.5em 0}</style>
</head><body><h1>Log in</h1>
<form method="post" action="login"><label>Token <input type="password" name="token" autocomplete="current-password" autofocus></label>
<button type="submit">Log in</button></form></body></html>
)";

// "2024-05-01T12:00:00.5+02:00" (as normalize_datetime leaves it) → Unix seconds.
double parse_iso_seconds(const std::string& s) {
  std::tm tm{};
  int offset_sign = 0, oh = 0, om = 0;
  double frac = 0;
  std::sscanf(s.c_str(), "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
              &tm.tm_sec);
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  std::size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    std::size_t end = s.find_first_not_of("0123456789", pos + 1);
    frac = std::stod("0" + s.substr(pos, end - pos));
    pos = end;
  }
  if (pos != std::string::npos && pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    offset_sign = s[pos] == '+' ? 1 : -1;
    std::sscanf(s.c_str() + pos + 1, "%d:%d", &oh, &om);
  }
  // Naive times are taken as UTC, like the log's own timestamps.
  return static_cast<double>(timegm(&tm)) + frac - offset_sign * (oh * 3600 + om * 60);
}

constexpr int kClientClosedRequest = 499;

Response unavailable(std::string_view detail) {
  Response r = Response::error(503, detail);
  r.set_header("Retry-After", "1");
  return r;
}

}  // namespace

struct App::Service {
  explicit Service(std::string root_path) : router(std::move(root_path)) {}
  Router router;
  std::string openapi;  // the document, rendered once
  const registry::Registry* registry = nullptr;
  exec::Invoker* invoker = nullptr;
  metrics::Metrics* metrics = nullptr;
};

struct App::Context {
  http::Request request;
  http::Responder respond;
  bool access_log = true;
  std::string entrypoint;  // set for entrypoint calls, for the access log
  std::optional<std::size_t> entrypoint_index;  // and for their metrics
};

App::App(AppDeps deps) : deps_(deps), builtin_router_(deps.config.root_path) {
  add_builtin_routes(builtin_router_);
  // One listener fans each notification out to the open /notifications/stream clients.
  deps_.notifications.add_listener([this](const state::Notification& n) {
    std::string event = "event: notification\nid: " + std::to_string(n.id) + "\ndata: " +
                        n.to_json(deps_.config.name, deps_.config.version)
                            .dump(-1, ' ', false, json::error_handler_t::replace) +
                        "\n\n";
    std::lock_guard lock(streams_mutex_);
    sse_clients_.erase(std::remove_if(sse_clients_.begin(), sse_clients_.end(),
                                      [&](const std::shared_ptr<http::StreamSink>& s) { return !s->write(event); }),
                       sse_clients_.end());
  });
}

App::~App() = default;

void App::attach_service(const registry::Registry& registry, exec::Invoker& invoker, metrics::Metrics& metrics) {
  auto service = std::make_unique<Service>(deps_.config.root_path);
  add_builtin_routes(service->router);
  for (const auto& ep : registry.entrypoints)
    service->router.add(ep.method, "/" + ep.name, kEntrypointBase + static_cast<Router::Id>(ep.index));
  service->registry = &registry;
  service->invoker = &invoker;
  service->metrics = &metrics;
  service->openapi = openapi::build_document(registry, deps_.parameters.list(),
                                             {deps_.config.name, deps_.config.version, deps_.config.root_path,
                                              !deps_.config.security.token.empty()})
                         .dump(-1, ' ', false, json::error_handler_t::replace);
  service_owner_ = std::move(service);
  service_.store(service_owner_.get(), std::memory_order_release);
}

void App::handle(http::Request request, http::Responder respond) {
  if (request.request_id.empty()) {  // the server usually sets it already
    auto incoming = request.header("X-Request-ID");
    request.request_id =
        incoming && core::is_valid_request_id(*incoming) ? std::string(*incoming) : core::new_request_id();
  }
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
        response.set_header("Access-Control-Allow-Credentials", "true");
        response.set_header("Access-Control-Expose-Headers", "X-Request-ID, X-Parameters-Generation");
      }
    }
  }
  counters_.total.fetch_add(1, std::memory_order_relaxed);
  if (response.status >= 500) counters_.server_errors.fetch_add(1, std::memory_order_relaxed);
  else if (response.status >= 400) counters_.client_errors.fetch_add(1, std::memory_order_relaxed);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - req.received).count();
  if (ctx->entrypoint_index)
    if (const Service* service = service_.load(std::memory_order_acquire))
      service->metrics->record(*ctx->entrypoint_index, response.status, seconds);
  if (ctx->access_log && logs::enabled(logs::Level::info)) {
    const double ms = seconds * 1000.0;
    logs::Record r;
    r.level = logs::Level::info;
    r.logger = "mvi.access";
    r.message = fmt::format("{} {} {} {:.2f}ms", req.method, req.path, response.status, ms);
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
    if (value.size() > 7 && http::iequals(value.substr(0, 7), "Bearer ") && constant_time_equal(value.substr(7), token))
      return true;
  }
  if (auto cookies = req.header("Cookie"))
    if (auto value = cookie_value(*cookies, "mvi_token"); value && constant_time_equal(*value, token)) return true;
  return false;
}

http::Response App::unauthorized(const http::Request& req, Router::Id route) const {
  // A browser opening the docs page is sent to the login form; everything else gets 401.
  auto accept = req.header("Accept");
  if (route == kDocs && accept && accept->find("text/html") != std::string_view::npos) {
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
  if (sec.cors && req.method == "OPTIONS" && req.header("Origin") && req.header("Access-Control-Request-Method")) {
    Response r;
    r.status = 204;
    r.set_header("Vary", "Origin");
    std::string origin(*req.header("Origin"));
    if (std::find(sec.cors_origins.begin(), sec.cors_origins.end(), origin) != sec.cors_origins.end()) {
      r.set_header("Access-Control-Allow-Origin", origin);
      r.set_header("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE");
      auto asked = req.header("Access-Control-Request-Headers");
      r.set_header("Access-Control-Allow-Headers", asked ? std::string(*asked) : "Authorization, Content-Type");
      r.set_header("Access-Control-Allow-Credentials", "true");
      r.set_header("Access-Control-Max-Age", "600");
    }
    return r;
  }
  const bool exempt = match.outcome == Router::Outcome::found &&
                      (match.id == kHealthLive || match.id == kHealthReady || match.id == kLoginPage || match.id == kLogin);
  if (!exempt && !authorized(req)) return unauthorized(req, match.id);
  if (match.outcome == Router::Outcome::bad_path) return Response::error(400, "Invalid request path");
  if (match.outcome == Router::Outcome::method_not_allowed) {
    Response r = Response::error(405, "Method Not Allowed");
    r.set_header("Allow", match.allow);
    return r;
  }
  if (match.outcome == Router::Outcome::not_found) {
    if (!service_.load(std::memory_order_acquire) && deps_.lifecycle.state() == core::LifeState::starting)
      return unavailable("Service is starting");
    return Response::error(404, "Not Found");
  }
  return std::nullopt;
}

bool App::precheck(const http::Request& head, http::Responder respond) {
  const Service* service = service_.load(std::memory_order_acquire);
  const Router& router = service ? service->router : builtin_router_;
  auto match = router.match(head.method, head.path);
  auto answer = early_answer(head, match);
  if (!answer) return false;
  auto ctx = std::make_shared<Context>();
  ctx->request = head;
  auto incoming = head.header("X-Request-ID");
  ctx->request.request_id =
      incoming && core::is_valid_request_id(*incoming) ? std::string(*incoming) : core::new_request_id();
  ctx->respond = std::move(respond);
  finish(ctx, std::move(*answer));
  return true;
}

void App::route(const std::shared_ptr<Context>& ctx) {
  const auto& req = ctx->request;
  const Service* service = service_.load(std::memory_order_acquire);
  const Router& router = service ? service->router : builtin_router_;
  auto match = router.match(req.method, req.path);
  if (auto answer = early_answer(req, match)) return finish(ctx, std::move(*answer));


  switch (match.id) {
    case kHealthLive:
      return finish(ctx, Response::json(200, {{"status", "alive"}}));
    case kHealthReady: {
      auto state = deps_.lifecycle.state();
      bool queue_ok = service && service->invoker->queued() < deps_.config.limits.queue_limit;
      if (state == core::LifeState::running && service)
        if (auto stuck = find_stuck(*service->invoker, deps_.config.limits.request_timeout_s))
          return finish(ctx, Response::json(503, {{"status", "stuck"}, {"detail", stuck->reason}}));
      if (state == core::LifeState::running && queue_ok) return finish(ctx, Response::json(200, {{"status", "ready"}}));
      std::string name(core::to_string(state));
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (state == core::LifeState::running) name = "busy";
      return finish(ctx, Response::json(503, {{"status", name}}));
    }
    case kStatus:
      return handle_status(ctx);
    case kParameters:
    case kBareParameters:
      return finish(ctx, Response::json(200, deps_.parameters.values()));
    case kParameterGet:
    case kBareParameterGet:
      return handle_parameter_get(ctx, match.capture, match.id == kBareParameterGet);
    case kParameterPost:
    case kBareParameterPost:
      return handle_parameter_post(ctx, match.capture, match.id == kBareParameterPost);
    case kNotificationsGet:
      return handle_notifications(ctx);
    case kNotificationsDelete:
      deps_.notifications.clear();
      return finish(ctx, Response::json(200, {{"detail", "Notifications cleared"}}));
    case kLogs:
      return handle_logs(ctx);
    case kNotificationsStream:
      return handle_notification_stream(ctx);
    case kOpenApi: {
      if (!service) return finish(ctx, unavailable("Service is starting"));
      Response r;
      r.body = service->openapi;
      return finish(ctx, std::move(r));
    }
    case kDocs:
    case kDocsAsset:
      return handle_docs(ctx, match.id == kDocs ? std::string() : match.capture);
    case kLoginPage: {
      Response r;
      r.content_type = "text/html; charset=utf-8";
      r.body = kLoginHtml;
      return finish(ctx, std::move(r));
    }
    case kLogin:
      return handle_login(ctx);
    case kMetrics:
      return handle_metrics(ctx);
    case kMonitor:
    case kMonitorCsv:
    case kMonitorDb:
      return handle_monitor(ctx, match.id);
    case kRoot: {
      Response r = Response::error(307, "See the API docs at " + deps_.config.root_path + "/docs");
      r.set_header("Location", deps_.config.root_path + "/docs");
      return finish(ctx, std::move(r));
    }
    default:
      break;
  }
  if (service && match.id >= kEntrypointBase) {
    auto index = static_cast<std::size_t>(match.id - kEntrypointBase);
    return handle_entrypoint(ctx, service->registry->entrypoints.at(index), *service->invoker);
  }
  finish(ctx, Response::error(404, "Not Found"));
}

void App::handle_entrypoint(const std::shared_ptr<Context>& ctx, const registry::Entrypoint& ep,
                            exec::Invoker& invoker) {
  ctx->access_log = !ep.disable_http_logs;
  ctx->entrypoint = ep.name;
  ctx->entrypoint_index = ep.index;
  const auto& req = ctx->request;
  auto state = deps_.lifecycle.state();
  if (state != core::LifeState::running && state != core::LifeState::stopping)
    return finish(ctx, unavailable("Service is not running"));

  json args;
  std::vector<schema::BuildNote> notes;
  std::string_view source = "body";
  if (req.method != "POST" && req.body.find_first_not_of(" \t\r\n") == std::string::npos) {
    // Arguments from the query string, so a GET entrypoint opens in a browser. Repeated keys
    // make lists; a single value for a list-typed argument becomes a one-element list.
    source = "query";
    args = json::object();
    for (auto& [k, v] : http::parse_query(req.query)) {
      auto it = args.find(k);
      if (it == args.end()) args[k] = v;
      else if (it->is_array()) it->push_back(v);
      else *it = json::array({*it, v});
    }
    for (const auto& p : ep.params) {
      auto it = args.find(p.name);
      if (it == args.end()) continue;
      bool list_like = p.type.kind == schema::Kind::list || p.type.kind == schema::Kind::tuple;
      if (list_like && !it->is_array()) *it = json::array({*it});
      else if (!list_like && it->is_array()) *it = json(it->back());  // last value wins, as in FastAPI
    }
  } else if (auto fast = wants_fast_path(ep, req.body.size())
                             ? parse_arguments_fast(req.body, ep, deps_.config.limits.max_json_depth)
                             : std::nullopt) {
    args = std::move(fast->args);
    notes = std::move(fast->notes);
  } else {
    auto parsed = parse_json_body(req.body, deps_.config.limits.max_json_depth);
    if (!parsed.value) return finish(ctx, std::move(*parsed.error));
    args = std::move(*parsed.value);
  }
  const bool monitored = ep.monitor && deps_.monitor;
  if (monitored) deps_.monitor->record(ep.name + "_request", args);  // as sent, before coercion

  schema::Errors errors;
  if (!registry::validate_arguments(ep, args, source, errors, &notes))
    return finish(ctx, Response::json(422, schema::errors_body(errors)));

  const auto generation = deps_.parameters.generation();
  const int status_code = ep.status_code;
  exec::Call call{ep.index, ep.name, std::move(args), std::move(notes), req.request_id, req.cancel};
  std::string response_variable = monitored ? ep.name + "_response" : std::string();
  bool accepted = invoker.submit(std::move(call), [this, ctx, generation, status_code,
                                                   response_variable](exec::CallResult r) {
    Response resp;
    switch (r.outcome) {
      case exec::Outcome::ok:
        if (!response_variable.empty()) deps_.monitor->record(response_variable, r.value);
        resp = Response::json(status_code, r.value);
        if (status_code == 204 || status_code == 304) resp.body.clear();
        break;
      case exec::Outcome::http_error:
        resp = Response::json(r.status, json{{"detail", r.value}});
        if (r.status == 204 || r.status == 304) resp.body.clear();
        for (auto& [k, v] : r.headers) resp.set_header(k, v);
        break;
      case exec::Outcome::invalid:
        resp = Response::json(422, json{{"detail", r.value}});
        break;
      case exec::Outcome::exception:
        resp = Response::json(500, json{{"detail", "Internal Server Error"}, {"request_id", ctx->request.request_id}});
        break;
      case exec::Outcome::unavailable:
        resp = unavailable("Service is shutting down");
        break;
      case exec::Outcome::cancelled:
        // Nobody reads this answer: the client left, or was answered 504. 499 (nginx's "client closed
        // request") marks it in the access log and in /metrics.
        resp = Response::error(kClientClosedRequest, "Client closed the request");
        break;
    }
    resp.set_header("X-Parameters-Generation", std::to_string(generation));
    finish(ctx, std::move(resp));
  });
  if (!accepted) finish(ctx, unavailable("Too many requests are waiting for the service; retry later"));
}

void App::handle_parameter_get(const std::shared_ptr<Context>& ctx, const std::string& name, bool bare) {
  auto value = deps_.parameters.get(name);
  if (!value) return finish(ctx, Response::error(404, "Parameter '" + name + "' not found"));
  finish(ctx, Response::json(200, bare ? *value : json{{name, *value}}));
}

void App::handle_parameter_post(const std::shared_ptr<Context>& ctx, const std::string& name, bool bare) {
  auto param = deps_.parameters.describe(name);
  if (!param) return finish(ctx, Response::error(404, "Parameter '" + name + "' not found"));
  if (!param->expose) {
    Response r = Response::error(405, "Parameter '" + name + "' is read-only");
    r.set_header("Allow", "GET");
    return finish(ctx, std::move(r));
  }
  auto parsed = parse_json_body(ctx->request.body, deps_.config.limits.max_json_depth, json(nullptr));
  if (!parsed.value) return finish(ctx, std::move(*parsed.error));
  json& body = *parsed.value;
  // Seed 000 posts {"<name>": value}; Daeploy posts {"value": value}.
  json value;
  if (body.is_object() && body.contains(name)) {
    value = std::move(body[name]);
  } else if (body.is_object() && body.contains("value")) {
    value = std::move(body["value"]);
  } else {
    schema::Errors errors{{"missing", json::array({"body", name}), "Field required", body}};
    return finish(ctx, Response::json(422, schema::errors_body(errors)));
  }
  auto result = deps_.parameters.set(name, std::move(value));
  switch (result.status) {
    case state::SetStatus::not_found:
      return finish(ctx, Response::error(404, "Parameter '" + name + "' not found"));
    case state::SetStatus::invalid:
      return finish(ctx, Response::json(422, schema::errors_body(result.errors)));
    case state::SetStatus::ok:
      break;
  }
  Response r = Response::json(200, bare ? json("OK") : json{{name, result.value}});
  r.set_header("X-Parameters-Generation", std::to_string(result.generation));
  finish(ctx, std::move(r));
}

void App::handle_notifications(const std::shared_ptr<Context>& ctx) {
  state::NotificationQuery query;
  schema::Errors errors;
  for (auto& [k, v] : http::parse_query(ctx->request.query)) {
    json value = v;
    if (k == "severity") {
      for (int s = 0; s <= 2; ++s)
        if (http::iequals(v, state::NotificationStore::severity_name(s))) value = s;
      if (schema::validate(schema::scalar(schema::Kind::int_), value, json::array({"query", k}), errors))
        query.severity = static_cast<int>(std::clamp<std::int64_t>(value.get<std::int64_t>(), -1, 3));
    } else if (k == "since") {
      if (schema::validate(schema::scalar(schema::Kind::float_), value, json::array({"query", k}), errors))
        query.since = value.get<double>();
    } else if (k == "limit") {
      if (schema::validate(schema::scalar(schema::Kind::int_), value, json::array({"query", k}), errors)) {
        auto n = value.get<std::int64_t>();
        if (n < 0) errors.push_back({"greater_than_equal", json::array({"query", k}),
                                     "Input should be greater than or equal to 0", v});
        else query.limit = static_cast<std::size_t>(n);
      }
    }
  }
  if (!errors.empty()) return finish(ctx, Response::json(422, schema::errors_body(errors)));
  finish(ctx, Response::json(200, deps_.notifications.list(query)));
}

void App::handle_docs(const std::shared_ptr<Context>& ctx, const std::string& file) {
  if (deps_.swagger_ui.empty())
    return finish(ctx, Response::error(503, "The API docs assets (npm swagger-ui-dist) are not installed: run "
                                            "scripts/setup.sh, or set MVI_SWAGGER_UI_DIR. /openapi.json works."));
  Response r;
  if (file.empty() && !ctx->request.path.empty() && ctx->request.path.back() == '/') {
    // The page's asset links are relative: they only resolve from ".../docs", not ".../docs/".
    r = Response::error(308, "Moved to " + deps_.config.root_path + "/docs");
    r.set_header("Location", deps_.config.root_path + "/docs");
    return finish(ctx, std::move(r));
  }
  if (file.empty()) {
    r.content_type = "text/html; charset=utf-8";
    r.body = docs_page(deps_.config.name);
    return finish(ctx, std::move(r));
  }
  auto it = deps_.swagger_ui.find(file);
  if (it == deps_.swagger_ui.end()) return finish(ctx, Response::error(404, "Not Found"));
  r.content_type = it->second.content_type;
  r.body = it->second.body;
  r.set_header("Cache-Control", "public, max-age=86400");
  finish(ctx, std::move(r));
}

void App::handle_logs(const std::shared_ptr<Context>& ctx) {
  logs::LogQuery query;
  bool json_lines = false, follow = false;
  schema::Errors errors;
  for (auto& [k, v] : http::parse_query(ctx->request.query)) {
    json value = v;
    json loc = json::array({"query", k});
    if (k == "tail") {
      if (schema::validate(schema::scalar(schema::Kind::int_), value, loc, errors)) {
        auto n = value.get<std::int64_t>();
        if (n < 0) errors.push_back({"greater_than_equal", loc, "Input should be greater than or equal to 0", v});
        else query.tail = static_cast<std::size_t>(n);
      }
    } else if (k == "since") {
      // Unix seconds, or an ISO 8601 time.
      json as_time = v;
      schema::Errors scratch;
      if (schema::validate(schema::scalar(schema::Kind::float_), value, loc, scratch)) {
        query.since = value.get<double>();
      } else if (schema::validate(schema::scalar(schema::Kind::datetime), as_time, loc, scratch)) {
        query.since = parse_iso_seconds(as_time.get<std::string>());
      } else {
        errors.push_back({"since_parsing", loc, "Input should be Unix seconds or an ISO 8601 time", v});
      }
    } else if (k == "level") {
      if (auto level = logs::parse_level(v)) query.min_level = *level;
      else errors.push_back({"enum", loc, "Input should be 'debug', 'info', 'warning', 'error' or 'critical'", v});
    } else if (k == "format") {
      if (v == "json") json_lines = true;
      else if (v != "text") errors.push_back({"enum", loc, "Input should be 'text' or 'json'", v});
    } else if (k == "follow") {
      if (schema::validate(schema::scalar(schema::Kind::bool_), value, loc, errors)) follow = value.get<bool>();
    }
  }
  if (!errors.empty()) return finish(ctx, Response::json(422, schema::errors_body(errors)));

  auto render = [json_lines](const logs::Record& r) {
    return json_lines ? logs::format_json(r, logs::service_name()) : logs::format_text(r, logs::service_name());
  };
  Response r;
  r.content_type = json_lines ? "application/x-ndjson; charset=utf-8" : "text/plain; charset=utf-8";
  for (const auto& record : logs::ring().query(query)) r.body += render(record);
  if (follow) {
    const logs::Level min_level = query.min_level;
    r.stream = [this, render, min_level](std::shared_ptr<http::StreamSink> sink) {
      // The App holds the subscription while the client reads; the callback drops it (and with
      // it the ring's reference) as soon as a write fails.
      auto handle = std::make_shared<std::shared_ptr<void>>();
      std::weak_ptr<std::shared_ptr<void>> weak = handle;
      *handle = logs::ring().subscribe([sink, render, min_level, weak](const logs::Record& rec) {
        if (rec.level < min_level) return;
        if (!sink->write(render(rec)))
          if (auto h = weak.lock()) h->reset();
      });
      std::lock_guard lock(streams_mutex_);
      followers_.erase(std::remove_if(followers_.begin(), followers_.end(), [](const auto& f) { return !*f; }),
                       followers_.end());
      followers_.push_back(std::move(handle));
    };
  }
  finish(ctx, std::move(r));
}

void App::handle_notification_stream(const std::shared_ptr<Context>& ctx) {
  Response r;
  r.content_type = "text/event-stream; charset=utf-8";
  r.body = "retry: 3000\n\n";
  r.stream = [this](std::shared_ptr<http::StreamSink> sink) {
    std::lock_guard lock(streams_mutex_);
    sse_clients_.push_back(std::move(sink));
  };
  finish(ctx, std::move(r));
}

void App::handle_login(const std::shared_ptr<Context>& ctx) {
  const auto& req = ctx->request;
  const std::string& token = deps_.config.security.token;
  // A JSON body {"token": ...} (scripts) or the login form's urlencoded token=... (browsers).
  std::string given;
  bool form = false;
  auto type = req.header("Content-Type");
  if (type && type->find("application/x-www-form-urlencoded") != std::string_view::npos) {
    form = true;
    for (auto& [k, v] : http::parse_query(req.body))
      if (k == "token") given = v;
  } else {
    auto parsed = parse_json_body(req.body, deps_.config.limits.max_json_depth);
    if (parsed.value && parsed.value->is_object() && parsed.value->contains("token") && (*parsed.value)["token"].is_string())
      given = (*parsed.value)["token"].get<std::string>();
  }
  if (token.empty() || given.empty() || !constant_time_equal(given, token)) {
    Response r = Response::error(401, "Not authenticated");
    r.set_header("WWW-Authenticate", "Bearer");
    return finish(ctx, std::move(r));
  }
  Response r = form ? Response::error(303, "Logged in") : Response::json(200, {{"detail", "Logged in"}});
  if (form) r.set_header("Location", deps_.config.root_path + "/docs");
  const std::string path = deps_.config.root_path.empty() ? "/" : deps_.config.root_path;
  r.set_header("Set-Cookie", "mvi_token=" + token + "; Path=" + path + "; HttpOnly; SameSite=Strict");
  finish(ctx, std::move(r));
}

void App::handle_monitor(const std::shared_ptr<Context>& ctx, int what) {
  monitor::MonitorStore* store = deps_.monitor ? deps_.monitor->existing() : nullptr;
  if (!store && deps_.monitor && !deps_.monitor->error().empty())
    return finish(ctx, unavailable("Monitoring is off: " + deps_.monitor->error()));
  std::vector<std::string> variables;
  std::optional<double> start, end;
  schema::Errors errors;
  for (auto& [k, v] : http::parse_query(ctx->request.query)) {
    json loc = json::array({"query", k});
    if (k == "variables") {
      variables.push_back(v);
    } else if (k == "start" || k == "end") {
      // Unix seconds or an ISO 8601 time, like /logs?since=.
      json number = v, iso = v;
      schema::Errors scratch;
      std::optional<double> t;
      if (schema::validate(schema::scalar(schema::Kind::float_), number, loc, scratch)) t = number.get<double>();
      else if (schema::validate(schema::scalar(schema::Kind::datetime), iso, loc, scratch))
        t = parse_iso_seconds(iso.get<std::string>());
      else errors.push_back({"datetime_parsing", loc, "Input should be Unix seconds or an ISO 8601 time", v});
      (k == "start" ? start : end) = t;
    }
  }
  if (!errors.empty()) return finish(ctx, Response::json(422, schema::errors_body(errors)));
  // Bounds are inclusive; half a microsecond of slack so a timestamp read back from this API
  // (printed to the microsecond) always matches its own sample.
  if (start) *start -= 5e-7;
  if (end) *end += 5e-7;
  if (!store) {  // nothing monitored yet: answer as an empty database would, without creating one
    if (!variables.empty()) {
      std::string names;
      for (const auto& n : variables) names += (names.empty() ? "" : ", ") + n;
      return finish(ctx, Response::error(412, "Unknown monitored variables: " + names));
    }
    if (what == kMonitor) return finish(ctx, Response::json(200, json::object()));
    if (what == kMonitorDb) return finish(ctx, Response::error(404, "Nothing has been monitored yet"));
    Response r;
    r.content_type = "application/zip";
    r.body = std::string("PK\x05\x06", 4) + std::string(18, '\0');  // an empty zip archive
    return finish(ctx, std::move(r));
  }
  try {
    Response r;
    if (what == kMonitor) {
      r = Response::json(200, store->query(variables, start, end));
    } else if (what == kMonitorCsv) {
      r.content_type = "application/zip";
      r.body = store->csv_zip(variables, start, end);
      r.set_header("Content-Disposition", "attachment; filename=\"" + deps_.config.name + "-monitor.zip\"");
    } else {
      r.content_type = "application/vnd.sqlite3";
      r.body = store->backup();
      r.set_header("Content-Disposition", "attachment; filename=\"" + deps_.config.name + "-monitor.db\"");
    }
    return finish(ctx, std::move(r));
  } catch (const monitor::UnknownVariables& e) {
    std::string names;
    for (const auto& n : e.names) names += (names.empty() ? "" : ", ") + n;
    return finish(ctx, Response::error(412, "Unknown monitored variables: " + names));
  } catch (const std::exception& e) {
    logs::get("mvi.monitor")->error("reading the monitoring database failed: {}", e.what());
    return finish(ctx, Response::error(500, "Reading the monitoring database failed"));
  }
}

void App::handle_metrics(const std::shared_ptr<Context>& ctx) {
  const Service* service = service_.load(std::memory_order_acquire);
  if (!service) return finish(ctx, unavailable("Service is starting"));
  metrics::Gauges g;
  g.queue_depth = service->invoker->queued();
  g.executors_busy = service->invoker->busy();
  g.executors = service->invoker->executors();
  g.ready = deps_.lifecycle.ready();
  g.uptime_seconds = deps_.lifecycle.uptime_seconds();
  g.http_requests = counters_.total.load();
  g.http_client_errors = counters_.client_errors.load();
  g.http_server_errors = counters_.server_errors.load();
  g.log_lines_dropped = logs::dropped_lines();
  g.notifications_dropped = deps_.notifications.dropped();
  Response r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = service->metrics->render(g);
  finish(ctx, std::move(r));
}

void App::handle_status(const std::shared_ptr<Context>& ctx) {
  const Service* service = service_.load(std::memory_order_acquire);
  json executors = {{"count", 0}, {"busy", 0}, {"queued", 0}, {"running", json::array()}};
  json stuck = nullptr;
  if (service) {
    const auto now = std::chrono::steady_clock::now();
    json running = json::array();
    for (const auto& call : service->invoker->running())
      running.push_back({{"entrypoint", call.entrypoint},
                         {"request_id", call.request_id},
                         {"seconds", std::round(std::chrono::duration<double>(now - call.started).count() * 1000.0) / 1000.0}});
    executors = {{"count", service->invoker->executors()},
                 {"busy", service->invoker->busy()},
                 {"queued", service->invoker->queued()},
                 {"running", std::move(running)}};
    if (auto s = find_stuck(*service->invoker, deps_.config.limits.request_timeout_s, now))
      stuck = {{"entrypoint", s->call.entrypoint}, {"request_id", s->call.request_id}, {"reason", s->reason}};
  }
  json body = {
      {"name", deps_.config.name},
      {"version", deps_.config.version},
      {"state", core::to_string(deps_.lifecycle.state())},
      {"uptime", std::round(deps_.lifecycle.uptime_seconds() * 1000.0) / 1000.0},
      {"executors", executors},
      {"stuck", stuck},
      {"requests",
       {{"total", counters_.total.load()},
        {"client_errors", counters_.client_errors.load()},
        {"server_errors", counters_.server_errors.load()}}},
      {"parameters_generation", deps_.parameters.generation()},
      {"notifications_dropped", deps_.notifications.dropped()},
  };
  finish(ctx, Response::json(200, body));
}

}  // namespace mvi::api
