// Mounted apps (service.app.mount, issue 15): a WSGI or ASGI app the user mounted at a prefix, called through
// the invoker like an entrypoint (so queueing, timeouts, cancellation and workers apply), with the request as
// plain data and its answer as {"status", "headers", "body" (base64)}. The completion runs on whichever thread
// finished the call; nothing here holds state of its own.
#include "../app_internal.hpp"
#include "mvi/logs/log.hpp"
#include "mvi/schema/formats.hpp"

namespace mvi::api {
namespace {

// The server frames the body itself; these would contradict it.
bool hop_by_hop(std::string_view name) {
  for (std::string_view h : {"content-length", "transfer-encoding", "connection", "keep-alive", "upgrade"})
    if (http::iequals(name, h)) return true;
  return false;
}

std::optional<Response> mounted_answer(const json& v, std::string& problem) {
  if (!v.is_object() || !v.contains("status") || !v["status"].is_number_integer()) {
    problem = "no status";
    return std::nullopt;
  }
  Response r;
  r.status = v["status"].get<int>();
  if (r.status < 100 || r.status > 599) {
    problem = "status " + std::to_string(r.status) + " is not an HTTP status";
    return std::nullopt;
  }
  r.content_type.clear();  // only what the app said
  if (auto h = v.find("headers"); h != v.end() && h->is_array())
    for (const auto& pair : *h) {
      if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string() || !pair[1].is_string()) continue;
      const auto& name = pair[0].get_ref<const std::string&>();
      const auto& value = pair[1].get_ref<const std::string&>();
      if (name.find_first_of("\r\n:") != std::string::npos || value.find_first_of("\r\n") != std::string::npos) {
        problem = "a header holds a line break";
        return std::nullopt;
      }
      if (hop_by_hop(name)) continue;
      if (http::iequals(name, "content-type")) r.content_type = value;
      else r.headers.push_back({name, value});
    }
  if (auto b = v.find("body"); b != v.end() && b->is_string()) {
    auto bytes = schema::decode_base64(b->get_ref<const std::string&>());
    if (!bytes) {
      problem = "the body is not base64";
      return std::nullopt;
    }
    r.body.assign(bytes->begin(), bytes->end());
  }
  if (r.status == 204 || r.status == 304 || r.status < 200) r.body.clear();
  return r;
}

}  // namespace

void App::on_mount(const ContextPtr& ctx, const registry::Entrypoint& ep, exec::Invoker& invoker,
                   const std::string& rest) {
  const auto& req = ctx->request;
  json headers = json::array();
  for (const auto& h : req.headers) headers.push_back(json::array({h.name, h.value}));
  json request = {{"method", req.method},
                  {"path", rest},
                  {"root_path", deps_.config.root_path + ep.mount},
                  {"query", req.query},
                  {"headers", std::move(headers)},
                  {"http_version", req.version == 10 ? "1.0" : "1.1"},
                  {"body", schema::encode_base64(reinterpret_cast<const std::uint8_t*>(req.body.data()), req.body.size())}};
  exec::Call call{ep.index, ep.name, json{{"request", std::move(request)}}, std::vector<schema::BuildNote>(1),
                  req.request_id, req.cancel, nullptr, {}};
  if (req.cancel && ep.is_async) req.cancel->request_watch();
  bool accepted = invoker.submit(std::move(call), [this, ctx](exec::CallResult r) {
    Response resp;
    std::string problem;
    switch (r.outcome) {
      case exec::Outcome::ok:
        if (auto answer = mounted_answer(r.value, problem)) {
          resp = std::move(*answer);
        } else {
          logs::Record rec;
          rec.level = logs::Level::error;
          rec.logger = "mvi.entrypoint";
          rec.entrypoint = ctx->entrypoint;
          rec.request_id = ctx->request.request_id;
          rec.message = "the mounted app at '" + ctx->entrypoint + "' gave an answer the runtime cannot send: " + problem;
          logs::emit(std::move(rec));
          resp = Response::json(500, json{{"detail", "Internal Server Error"}, {"request_id", ctx->request.request_id}});
        }
        break;
      default:
        resp = detail::failed_call(r, ctx->request.request_id);
        break;
    }
    finish(ctx, std::move(resp));
  });
  if (!accepted) finish(ctx, unavailable("Too many requests are waiting for the service; retry later"));
}

}  // namespace mvi::api
