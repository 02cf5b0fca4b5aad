// Entrypoint calls (SPEC §4, §5): arguments from the body (or the query string for non-POST
// entrypoints), parsed and validated here on the I/O thread without the GIL, then queued on the
// Invoker with the request's cancel token; the completion builds the answer on whichever thread
// finished the call.
#include "../app_internal.hpp"
#include "mvi/api/fast_body.hpp"
#include "mvi/api/json_body.hpp"
#include "mvi/schema/validator.hpp"

namespace mvi::api {

void App::on_entrypoint(const ContextPtr& ctx, const registry::Entrypoint& ep, exec::Invoker& invoker) {
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
  // As sent, before coercion; recorded with the response once the call succeeded (Daeploy recorded only
  // successful calls: a stream of 422s must not fill the monitoring of a model's inputs).
  json sent = monitored ? args : json();

  schema::Errors errors;
  if (!registry::validate_arguments(ep, args, source, errors, &notes))
    return finish(ctx, Response::json(422, schema::errors_body(errors)));

  const auto generation = deps_.parameters.generation();
  const int status_code = ep.status_code;
  // An awaited call can be cancelled while it runs: ask the server to watch the connection. (A queued
  // call's client is probed by the executor before it runs; a running def call cannot be stopped.)
  if (req.cancel && ep.is_async) req.cancel->request_watch();
  exec::Call call{ep.index, ep.name, std::move(args), std::move(notes), req.request_id, req.cancel, nullptr, {}};
  std::string monitored_name = monitored ? ep.name : std::string();
  bool accepted = invoker.submit(std::move(call), [this, ctx, generation, status_code, monitored_name,
                                                   sent = std::move(sent)](exec::CallResult r) mutable {
    Response resp;
    switch (r.outcome) {
      case exec::Outcome::ok:
        if (!monitored_name.empty()) {
          deps_.monitor->record(monitored_name + "_request", std::move(sent));
          deps_.monitor->record(monitored_name + "_response", r.value);
        }
        resp = Response::json(status_code, r.value);
        if (status_code == 204 || status_code == 304) resp.body.clear();
        break;
      case exec::Outcome::http_error:
        resp = Response::json(r.raised.status, json{{"detail", r.value}});
        if (r.raised.status == 204 || r.raised.status == 304) resp.body.clear();
        for (auto& [k, v] : r.raised.headers) resp.set_header(k, v);
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
      case exec::Outcome::worker_lost:
        // Isolated mode: the worker process died with the call in it (the cause is in the log).
        resp = Response::json(502, json{{"detail", "The worker process running this call died: " + r.error},
                                        {"request_id", ctx->request.request_id}});
        break;
      case exec::Outcome::timed_out:
        resp = Response::json(504, json{{"detail", r.error}, {"request_id", ctx->request.request_id}});
        break;
      case exec::Outcome::cancelled:
        // Nobody reads this answer: the client left, or was answered 504. 499 (nginx's "client closed
        // request") marks it in the access log and in /metrics.
        resp = Response::error(detail::kClientClosedRequest, "Client closed the request");
        break;
    }
    resp.set_header("X-Parameters-Generation", std::to_string(r.generation.value_or(generation)));
    finish(ctx, std::move(resp));
  });
  if (!accepted) finish(ctx, unavailable("Too many requests are waiting for the service; retry later"));
}

}  // namespace mvi::api
