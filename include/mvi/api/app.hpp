// The request logic: a function from http::Request to http::Response for every route of SPEC §4,
// independent of sockets (tests call handle() directly). Built-in routes are answered on the
// calling I/O thread from C++ state; entrypoint calls go through the Invoker. Thread-safe:
// handle() runs concurrently on I/O threads; attach_service() publishes the loaded service once.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <mutex>
#include <vector>

#include "mvi/api/static_files.hpp"
#include "mvi/config/config.hpp"
#include "mvi/core/lifecycle.hpp"
#include "mvi/exec/invoker.hpp"
#include "mvi/http/message.hpp"
#include "mvi/http/router.hpp"
#include "mvi/metrics/metrics.hpp"
#include "mvi/monitor/lazy_monitor.hpp"
#include "mvi/registry/registry.hpp"
#include "mvi/state/notification_store.hpp"
#include "mvi/state/parameter_store.hpp"

namespace mvi::api {

struct AppDeps {
  const config::Config& config;
  state::ParameterStore& parameters;
  state::NotificationStore& notifications;
  core::Lifecycle& lifecycle;
  StaticFiles swagger_ui = {};  // empty: /docs answers 503 with how to install the assets
  monitor::LazyMonitor* monitor = nullptr;  // /~monitor and monitor=True entrypoints; may be null
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

 private:
  struct Service;  // the routes and invoker published by attach_service
  struct Context;  // per-request state carried into the completion

  void route(const std::shared_ptr<Context>& ctx);
  void handle_entrypoint(const std::shared_ptr<Context>& ctx, const registry::Entrypoint& ep,
                         exec::Invoker& invoker);
  void handle_parameter_get(const std::shared_ptr<Context>& ctx, const std::string& name, bool bare);
  void handle_parameter_post(const std::shared_ptr<Context>& ctx, const std::string& name, bool bare);
  void handle_notifications(const std::shared_ptr<Context>& ctx);
  void handle_status(const std::shared_ptr<Context>& ctx);
  void handle_metrics(const std::shared_ptr<Context>& ctx);
  void handle_monitor(const std::shared_ptr<Context>& ctx, int what);
  void handle_docs(const std::shared_ptr<Context>& ctx, const std::string& file);
  void handle_logs(const std::shared_ptr<Context>& ctx);
  void handle_login(const std::shared_ptr<Context>& ctx);
  bool authorized(const http::Request& req) const;
  http::Response unauthorized(const http::Request& req, http::Router::Id route) const;
  std::optional<http::Response> early_answer(const http::Request& req, const http::Router::Match& match) const;
  void handle_notification_stream(const std::shared_ptr<Context>& ctx);
  void finish(const std::shared_ptr<Context>& ctx, http::Response response);

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
