// Health, status and metrics routes: answered from C++ state on the I/O thread, never the GIL.
#include "../app_internal.hpp"
#include "mvi/api/health.hpp"
#include "mvi/logs/log.hpp"

namespace mvi::api {

void App::on_live(const ContextPtr& ctx, const Match&) { finish(ctx, Response::json(200, {{"status", "alive"}})); }

void App::on_ready(const ContextPtr& ctx, const Match&) {
  const Service* service = this->service();
  auto state = deps_.lifecycle.state();
  bool queue_ok = service && service->invoker->queued() < deps_.config.limits.queue_limit;
  if (state == core::LifeState::running && service && !service->invoker->serving())
    return finish(ctx, Response::json(503, {{"status", "no_worker"}, {"detail", "no worker process is running"}}));
  if (state == core::LifeState::running && service)
    if (auto stuck = find_stuck(*service->invoker, deps_.config.limits.request_timeout_s))
      return finish(ctx, Response::json(503, {{"status", "stuck"}, {"detail", stuck->reason}}));
  if (state == core::LifeState::running && queue_ok) {
    // A state backend that cannot be reached does not take the pod out of rotation: calls go on with the
    // values it has; only parameter changes are refused (docs/operations.md).
    if (deps_.state_backend && !deps_.state_backend->healthy())
      return finish(ctx, Response::json(200, {{"status", "ready"}, {"state", "degraded"}}));
    return finish(ctx, Response::json(200, {{"status", "ready"}}));
  }
  std::string name(core::to_string(state));
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (state == core::LifeState::running) name = "busy";
  finish(ctx, Response::json(503, {{"status", name}}));
}

void App::on_status(const ContextPtr& ctx, const Match&) {
  const Service* service = this->service();
  json executors = {{"count", 0}, {"busy", 0}, {"queued", 0}, {"running", json::array()}};
  json stuck = nullptr;
  json workers = json::array();  // isolated mode's worker processes
  if (service) {
    const auto now = std::chrono::steady_clock::now();
    json running = json::array();
    for (const auto& call : service->invoker->running())
      running.push_back({{"entrypoint", call.entrypoint},
                         {"request_id", call.request_id},
                         {"seconds", std::round(std::chrono::duration<double>(now - call.started).count() * 1000.0) / 1000.0}});
    executors = {{"count", service->invoker->executors()},
                 {"busy", service->invoker->busy()},
                 {"queued", service->invoker->waiting()},
                 {"running", std::move(running)}};
    if (auto s = find_stuck(*service->invoker, deps_.config.limits.request_timeout_s, now))
      stuck = {{"entrypoint", s->call.entrypoint}, {"request_id", s->call.request_id}, {"reason", s->reason}};
    for (const auto& w : service->invoker->workers())
      workers.push_back({{"index", w.index},
                         {"pid", w.pid},
                         {"state", w.state},
                         {"restarts", w.restarts},
                         {"calls", w.calls},
                         {"in_flight", w.in_flight},
                         {"rss_bytes", w.rss_bytes},
                         {"jobs", w.jobs},
                         {"last_exit", w.last_exit.empty() ? json(nullptr) : json(w.last_exit)}});
  }
  json body = {
      {"name", deps_.config.name},
      {"version", deps_.config.version},
      {"state", core::to_string(deps_.lifecycle.state())},
      {"uptime", std::round(deps_.lifecycle.uptime_seconds() * 1000.0) / 1000.0},
      {"executors", executors},
      {"workers", std::move(workers)},
      {"stuck", stuck},
      {"requests",
       {{"total", counters_.total.load()},
        {"client_errors", counters_.client_errors.load()},
        {"server_errors", counters_.server_errors.load()}}},
      {"state_backend", deps_.state_backend ? deps_.state_backend->describe() : std::string("memory")},
      {"state_backend_status", !deps_.state_backend || deps_.state_backend->healthy() ? "up" : "degraded"},
      {"parameters_generation", deps_.parameters.generation()},
      {"notifications_dropped", deps_.notifications.dropped()},
  };
  finish(ctx, Response::json(200, body));
}

void App::on_metrics(const ContextPtr& ctx, const Match&) {
  const Service* service = this->service();
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
  for (auto& w : service->invoker->workers())
    g.workers.push_back({w.index, w.busy, w.rss_bytes, std::move(w.restarts_by_cause)});
  if (deps_.state_backend) {
    g.state_backend = true;
    g.state_up = deps_.state_backend->healthy();
    g.state_writes = deps_.state_backend->writes();
  }
  Response r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = service->metrics->render(g);
  finish(ctx, std::move(r));
}

}  // namespace mvi::api
