// Entrypoint calls (SPEC §4, §5): arguments from the body (or the query string for non-POST
// entrypoints), parsed and validated here on the I/O thread without the GIL, then queued on the
// Invoker with the request's cancel token; the completion builds the answer on whichever thread
// finished the call.
#include "../app_internal.hpp"
#include "mvi/api/fast_body.hpp"
#include "mvi/api/json_body.hpp"
#include "mvi/logs/log.hpp"
#include "mvi/schema/validator.hpp"

namespace mvi::api {
namespace {

// A result that does not fit its response model is the service's bug, not the client's: 500, and the log says
// what did not fit (FastAPI's ResponseValidationError).
void log_result_mismatch(const std::string& entrypoint, const std::string& request_id, const schema::TypeDesc& returns,
                         const schema::Errors& errors) {
  logs::Record rec;
  rec.level = logs::Level::error;
  rec.logger = "mvi.entrypoint";
  rec.entrypoint = entrypoint;
  rec.request_id = request_id;
  rec.message = fmt::format("entrypoint '{}' returned a value that does not fit its return annotation {}:",
                            entrypoint, schema::display_name(returns));
  for (const auto& e : errors) {
    std::string where;
    for (const auto& part : e.loc) where += (where.empty() ? "" : ".") + (part.is_string() ? part.get<std::string>() : part.dump());
    fmt::format_to(std::back_inserter(rec.message), " {}: {} (got {});", where, e.msg, dump_json(e.input).substr(0, 200));
  }
  rec.message.pop_back();
  logs::emit(std::move(rec));
}

}  // namespace

void App::on_entrypoint(const ContextPtr& ctx, const registry::Entrypoint& ep, exec::Invoker& invoker) {
  const auto& req = ctx->request;

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
  // The return annotation (or response_model=) is a response model: checked here, outside the GIL.
  const schema::TypeDesc* returns = ep.result_check.kind == schema::Kind::any ? nullptr : &ep.result_check;
  const schema::TypeDesc* declared = &ep.returns;  // named in the log
  const std::string* media_type = ep.media_type.empty() ? nullptr : &ep.media_type;  // the registry outlives calls
  bool accepted = invoker.submit(std::move(call), [this, ctx, generation, status_code, monitored_name, returns,
                                                   declared, media_type,
                                                   sent = std::move(sent)](exec::CallResult r) mutable {
    Response resp;
    schema::Errors result_errors;
    if (r.outcome == exec::Outcome::ok && returns && !schema::validate_result(*returns, r.value, result_errors)) {
      log_result_mismatch(ctx->entrypoint, ctx->request.request_id, *declared, result_errors);
      r.outcome = exec::Outcome::exception;
    }
    if (r.outcome == exec::Outcome::ok && media_type && !r.value.is_string()) {
      // PlainTextResponse/HTMLResponse send a str; anything else is the service's bug, as in FastAPI
      log_result_mismatch(ctx->entrypoint, ctx->request.request_id, schema::scalar(schema::Kind::str),
                          {{"string_type", json::array({"response"}), "a " + *media_type + " response needs a str",
                            r.value}});
      r.outcome = exec::Outcome::exception;
    }
    switch (r.outcome) {
      case exec::Outcome::ok:
        if (!monitored_name.empty()) {
          deps_.monitor->record(monitored_name + "_request", std::move(sent));
          deps_.monitor->record(monitored_name + "_response", r.value);
        }
        if (media_type) {
          resp.status = status_code;
          resp.content_type = *media_type + "; charset=utf-8";
          resp.body = r.value.get<std::string>();
        } else {
          resp = Response::json(status_code, r.value);
        }
        if (status_code == 204 || status_code == 304) resp.body.clear();
        break;
      default:
        resp = detail::failed_call(r, ctx->request.request_id);
        break;
    }
    resp.set_header("X-Parameters-Generation", std::to_string(r.generation.value_or(generation)));
    finish(ctx, std::move(resp));
  });
  if (!accepted) finish(ctx, unavailable("Too many requests are waiting for the service; retry later"));
}

}  // namespace mvi::api
