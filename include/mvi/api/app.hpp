// The request logic: a function from http::Request to http::Response for every route of SPEC §4,
// independent of sockets (tests call handle() directly). One declarative table (App::routes(),
// src/api/routes.cpp) lists the built-in routes; routing, 405's Allow, the OpenAPI paths of the
// built-ins and the reserved names come from it. Handlers live in src/api/routes/ by topic. Request
// ids, auth, CORS, metrics and the access log are applied once, in handle()/precheck() and finish().
// Built-in routes are answered on the calling I/O thread from C++ state; entrypoint calls go through
// the Invoker. Thread-safe: handle() runs concurrently on I/O threads; attach_service() publishes the
// loaded service once.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "mvi/api/static_files.hpp"
#include "mvi/config/config.hpp"
#include "mvi/core/lifecycle.hpp"
#include "mvi/exec/invoker.hpp"
#include "mvi/http/message.hpp"
#include "mvi/http/router.hpp"
#include "mvi/metrics/metrics.hpp"
#include "mvi/monitor/lazy_monitor.hpp"
#include "mvi/openapi/openapi.hpp"
#include "mvi/registry/registry.hpp"
#include "mvi/state/notification_store.hpp"
#include "mvi/core/serial_queue.hpp"
#include "mvi/state/parameter_store.hpp"

namespace mvi::api {

struct AppDeps {
  const config::Config& config;
  state::ParameterStore& parameters;
  state::NotificationStore& notifications;
  core::Lifecycle& lifecycle;
  StaticFiles swagger_ui = {};  // empty: /docs answers 503 with how to install the assets
  monitor::LazyMonitor* monitor = nullptr;  // /~monitor and monitor=True entrypoints; may be null
  const state::StateBackend* state_backend = nullptr;  // --state file:/redis://; null for memory
  core::SerialQueue* state_writes = nullptr;  // parameter changes run here, off the I/O thread, when set
};

struct RequestCounters {
  std::atomic<std::uint64_t> total{0};
  std::atomic<std::uint64_t> client_errors{0};
  std::atomic<std::uint64_t> server_errors{0};
};

class App {
 public:
  explicit App(AppDeps deps);
  ~App();

  // Makes the service's entrypoints routable. Both must outlive the App's use.
  void attach_service(const registry::Registry& registry, exec::Invoker& invoker, metrics::Metrics& metrics);

  void handle(http::Request request, http::Responder respond);

  // The Server's Precheck: answers from the request head alone when it can (CORS preflight, 401,
  // 400/404/405), so no body is read for a request that will be refused.
  bool precheck(const http::Request& head, http::Responder respond);

  const RequestCounters& counters() const { return counters_; }

  // The documented built-in routes, for openapi::build_document (also used by `--openapi`).
  static std::vector<openapi::BuiltinRoute> documented_routes();

  // First path segments an entrypoint may not take (SPEC §4), derived from the route table.
  static std::vector<std::string> reserved_segments();

 private:
  struct Service;  // the routes and invoker published by attach_service
  struct Context;  // per-request state carried into the completion
  using ContextPtr = std::shared_ptr<Context>;
  using Match = http::Router::Match;

  // One built-in route. The table's order is the router's and the OpenAPI document's; a route's id is
  // its index in the table.
  struct Route {
    const char* method;
    const char* path;
    void (App::*handler)(const ContextPtr&, const Match&);
    bool is_public = false;         // answered without a token (probes, the login page and form)
    bool login_redirect = false;    // a browser without the cookie is sent to /login instead of a 401
    const char* openapi = nullptr;  // operation id of its openapi::builtin_operation(), or not documented
  };
  static const std::vector<Route>& routes();
  static bool is_builtin(http::Router::Id id);

  void route(const ContextPtr& ctx);
  void add_builtin_routes(http::Router& router) const;
  const Service* service() const { return service_.load(std::memory_order_acquire); }

  // Handlers, one per route of the table, grouped in src/api/routes/<topic>.cpp.
  void on_live(const ContextPtr& ctx, const Match& m);                  // health.cpp
  void on_ready(const ContextPtr& ctx, const Match& m);
  void on_status(const ContextPtr& ctx, const Match& m);
  void on_metrics(const ContextPtr& ctx, const Match& m);
  void on_parameters(const ContextPtr& ctx, const Match& m);            // parameters.cpp
  void on_parameter_get(const ContextPtr& ctx, const Match& m);
  void on_parameter_post(const ContextPtr& ctx, const Match& m);
  void on_bare_parameter_get(const ContextPtr& ctx, const Match& m);
  void on_bare_parameter_post(const ContextPtr& ctx, const Match& m);
  void get_parameter(const ContextPtr& ctx, const std::string& name, bool bare);
  void post_parameter(const ContextPtr& ctx, const std::string& name, bool bare);
  // `key`: the body's key the value came in (the name, or Daeploy's "value"), where a 422 points.
  void apply_parameter(const ContextPtr& ctx, const std::string& name, bool bare, const std::string& key,
                       nlohmann::ordered_json value);
  void on_notifications(const ContextPtr& ctx, const Match& m);         // notifications.cpp
  void on_notifications_clear(const ContextPtr& ctx, const Match& m);
  void on_notification_stream(const ContextPtr& ctx, const Match& m);
  void on_logs(const ContextPtr& ctx, const Match& m);                  // logs.cpp
  void on_monitor(const ContextPtr& ctx, const Match& m);               // monitor.cpp
  void on_monitor_csv(const ContextPtr& ctx, const Match& m);
  void on_monitor_db(const ContextPtr& ctx, const Match& m);
  void monitor_export(const ContextPtr& ctx, int what);
  void on_openapi(const ContextPtr& ctx, const Match& m);               // docs.cpp
  void on_docs(const ContextPtr& ctx, const Match& m);
  void on_docs_asset(const ContextPtr& ctx, const Match& m);
  void serve_docs(const ContextPtr& ctx, const std::string& file);
  void on_root(const ContextPtr& ctx, const Match& m);
  void on_login_page(const ContextPtr& ctx, const Match& m);
  void on_login(const ContextPtr& ctx, const Match& m);
  void on_entrypoint(const ContextPtr& ctx, const registry::Entrypoint& ep, exec::Invoker& invoker);  // entrypoints.cpp
  void on_mount(const ContextPtr& ctx, const registry::Entrypoint& ep, exec::Invoker& invoker,
                const std::string& rest);  // mounts.cpp

  bool authorized(const http::Request& req) const;
  http::Response unauthorized(const http::Request& req, const Match& match) const;
  std::optional<http::Response> early_answer(const http::Request& req, const Match& match) const;
  void finish(const ContextPtr& ctx, http::Response response);

  AppDeps deps_;
  http::Router builtin_router_;
  std::atomic<const Service*> service_{nullptr};
  std::unique_ptr<Service> service_owner_;
  RequestCounters counters_;
  std::mutex streams_mutex_;  // guards the two lists of streaming clients
  std::vector<std::shared_ptr<http::StreamSink>> sse_clients_;
  std::vector<std::shared_ptr<std::shared_ptr<void>>> followers_;  // log subscriptions of follow=true clients
};

}  // namespace mvi::api
