// The one table of built-in routes (SPEC §4): method, path, handler, whether it needs the token,
// whether a browser is sent to /login, and the OpenAPI operation that documents it. Routing, 405's
// Allow header, the built-ins' OpenAPI paths and the names an entrypoint may not take all come from
// here. Immutable; thread-safe.
#include <set>

#include "app_internal.hpp"

namespace mvi::api {

const std::vector<App::Route>& App::routes() {
  static const std::vector<Route> table = {
      {"GET", "/health/live", &App::on_live, true, false, "health_live"},
      {"GET", "/health/ready", &App::on_ready, true, false, "health_ready"},
      {"GET", "/status", &App::on_status, false, false, "status"},
      {"GET", "/parameters", &App::on_parameters},  // documented with the parameters' own types
      {"GET", "/parameters/{name}", &App::on_parameter_get},
      {"POST", "/parameters/{name}", &App::on_parameter_post},
      {"GET", "/~parameters", &App::on_parameters},  // Daeploy's aliases: bare values, "OK"
      {"GET", "/~parameters/{name}", &App::on_bare_parameter_get},
      {"POST", "/~parameters/{name}", &App::on_bare_parameter_post},
      {"GET", "/notifications", &App::on_notifications, false, false, "list_notifications"},
      {"DELETE", "/notifications", &App::on_notifications_clear, false, false, "clear_notifications"},
      {"GET", "/openapi.json", &App::on_openapi},
      {"GET", "/logs", &App::on_logs},
      {"GET", "/notifications/stream", &App::on_notification_stream},
      {"GET", "/docs", &App::on_docs, false, true},
      {"GET", "/static/swagger-ui/{file}", &App::on_docs_asset},
      {"GET", "/", &App::on_root},
      {"GET", "/login", &App::on_login_page, true},
      {"POST", "/login", &App::on_login, true},
      {"GET", "/metrics", &App::on_metrics},
      {"GET", "/~monitor", &App::on_monitor, false, false, "monitor_json"},
      {"GET", "/~monitor/csv", &App::on_monitor_csv, false, false, "monitor_csv"},
      {"GET", "/~monitor/db", &App::on_monitor_db, false, false, "monitor_db"},
  };
  return table;
}

void App::add_builtin_routes(http::Router& router) const {
  const auto& table = routes();
  for (std::size_t i = 0; i < table.size(); ++i) router.add(table[i].method, table[i].path, static_cast<http::Router::Id>(i));
}

std::vector<openapi::BuiltinRoute> App::documented_routes() {
  std::vector<openapi::BuiltinRoute> out;
  for (const auto& r : routes())
    if (r.openapi) out.push_back({r.method, r.path, r.openapi});
  return out;
}

std::vector<std::string> App::reserved_segments() {
  // SPEC §4 reserves /redoc before it is served; every other name is a built-in route's first segment.
  std::set<std::string> names = {"redoc"};
  for (const auto& r : routes()) {
    std::string_view path = std::string_view(r.path).substr(1);
    std::string first(path.substr(0, path.find('/')));
    if (!first.empty()) names.insert(std::move(first));
  }
  return {names.begin(), names.end()};
}

}  // namespace mvi::api
