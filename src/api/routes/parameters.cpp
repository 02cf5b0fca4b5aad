// Parameter routes (SPEC §4): read and change the values ParameterStore owns; seed 000's and
// Daeploy's body shapes, Daeploy's bare aliases under /~parameters.
#include "../app_internal.hpp"
#include "mvi/api/json_body.hpp"

namespace mvi::api {

void App::on_parameters(const ContextPtr& ctx, const Match&) { finish(ctx, Response::json(200, deps_.parameters.values())); }

void App::on_parameter_get(const ContextPtr& ctx, const Match& m) { get_parameter(ctx, m.capture, false); }

void App::on_parameter_post(const ContextPtr& ctx, const Match& m) { post_parameter(ctx, m.capture, false); }

void App::on_bare_parameter_get(const ContextPtr& ctx, const Match& m) { get_parameter(ctx, m.capture, true); }

void App::on_bare_parameter_post(const ContextPtr& ctx, const Match& m) { post_parameter(ctx, m.capture, true); }

void App::get_parameter(const ContextPtr& ctx, const std::string& name, bool bare) {
  auto param = deps_.parameters.describe(name);
  if (!param) return finish(ctx, Response::error(404, "Parameter '" + name + "' not found"));
  if (param->disable_http_logs) ctx->access_log = false;
  finish(ctx, Response::json(200, bare ? param->value : json{{name, param->value}}));
}

void App::post_parameter(const ContextPtr& ctx, const std::string& name, bool bare) {
  auto param = deps_.parameters.describe(name);
  if (!param) return finish(ctx, Response::error(404, "Parameter '" + name + "' not found"));
  if (param->disable_http_logs) ctx->access_log = false;
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
  std::string key = name;
  if (body.is_object() && body.contains(name)) {
    value = std::move(body[name]);
  } else if (body.is_object() && body.contains("value")) {
    value = std::move(body["value"]);
    key = "value";
  } else {
    schema::Errors errors{{"missing", json::array({"body", name}), "Field required", body}};
    return finish(ctx, Response::json(422, schema::errors_body(errors)));
  }
  // A state backend may wait (a disk, a network): the change runs off the I/O thread, in order.
  if (deps_.state_writes)
    return deps_.state_writes->post(
        [this, ctx, name, bare, key, value = std::move(value)]() mutable {
          apply_parameter(ctx, name, bare, key, std::move(value));
        });
  apply_parameter(ctx, name, bare, key, std::move(value));
}

void App::apply_parameter(const ContextPtr& ctx, const std::string& name, bool bare, const std::string& key,
                          json value) {
  auto result = deps_.parameters.set(name, std::move(value));
  if (result.status == state::SetStatus::invalid && key != name)
    for (auto& e : result.errors)  // ["body", name, ...] -> ["body", "value", ...]: where the client put it
      if (e.loc.is_array() && e.loc.size() >= 2 && e.loc[1] == name) e.loc[1] = key;
  switch (result.status) {
    case state::SetStatus::not_found:
      return finish(ctx, Response::error(404, "Parameter '" + name + "' not found"));
    case state::SetStatus::invalid:
      return finish(ctx, Response::json(422, schema::errors_body(result.errors)));
    case state::SetStatus::unavailable:
      return finish(ctx, Response::error(503, "Parameter '" + name + "' was not changed: " + result.message));
    case state::SetStatus::ok:
      break;
  }
  Response r = Response::json(200, bare ? json("OK") : json{{name, result.value}});
  r.set_header("X-Parameters-Generation", std::to_string(result.generation));
  finish(ctx, std::move(r));
}

}  // namespace mvi::api
