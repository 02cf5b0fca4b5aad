// Documentation and login routes: /openapi.json (rendered once at attach), Swagger UI at /docs with
// its assets, the redirect from /, and the login page and form that set the token cookie.
#include "../app_internal.hpp"
#include "mvi/api/json_body.hpp"

namespace mvi::api {

namespace {

const char* kLoginHtml = R"(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Log in</title>
<style>body{font-family:sans-serif;max-width:28em;margin:4em auto}input{width:100%;padding:.5em;margin:.5em 0}</style>
</head><body><h1>Log in</h1>
<form method="post" action="login"><label>Token <input type="password" name="token" autocomplete="current-password" autofocus></label>
<button type="submit">Log in</button></form></body></html>
)";

}  // namespace

void App::on_openapi(const ContextPtr& ctx, const Match&) {
  const Service* service = this->service();
  if (!service) return finish(ctx, unavailable("Service is starting"));
  Response r;
  r.body = service->openapi;
  finish(ctx, std::move(r));
}

void App::on_docs(const ContextPtr& ctx, const Match&) { serve_docs(ctx, std::string()); }

void App::on_docs_asset(const ContextPtr& ctx, const Match& m) { serve_docs(ctx, m.capture); }

void App::on_root(const ContextPtr& ctx, const Match&) {
  Response r = Response::error(307, "See the API docs at " + deps_.config.root_path + "/docs");
  r.set_header("Location", deps_.config.root_path + "/docs");
  finish(ctx, std::move(r));
}

void App::on_login_page(const ContextPtr& ctx, const Match&) {
  Response r;
  r.content_type = "text/html; charset=utf-8";
  r.body = kLoginHtml;
  finish(ctx, std::move(r));
}

void App::serve_docs(const ContextPtr& ctx, const std::string& file) {
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
    r.body = docs_page(deps_.config.name + " " + deps_.config.version);
    return finish(ctx, std::move(r));
  }
  auto it = deps_.swagger_ui.find(file);
  if (it == deps_.swagger_ui.end()) return finish(ctx, Response::error(404, "Not Found"));
  r.content_type = it->second.content_type;
  r.body = it->second.body;
  r.set_header("Cache-Control", "public, max-age=86400");
  finish(ctx, std::move(r));
}

void App::on_login(const ContextPtr& ctx, const Match&) {
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
  if (token.empty() || given.empty() || !detail::constant_time_equal(given, token)) {
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

}  // namespace mvi::api
