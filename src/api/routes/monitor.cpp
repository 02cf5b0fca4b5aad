// Monitoring routes (SPEC §7): /~monitor as JSON, /~monitor/csv as a zip of CSVs, /~monitor/db as the
// SQLite file. A database not created yet answers as an empty one, never creating it.
#include "../app_internal.hpp"
#include "mvi/logs/log.hpp"

namespace mvi::api {

namespace {
enum Export { kJson, kCsv, kDb };

http::Response database_download(std::string bytes) {
  http::Response r;
  r.content_type = "application/vnd.sqlite3";
  r.body = std::move(bytes);
  r.set_header("Content-Disposition", "attachment; filename=\"database.db\"");
  return r;
}

}  // namespace

void App::on_monitor(const ContextPtr& ctx, const Match&) { monitor_export(ctx, kJson); }

void App::on_monitor_csv(const ContextPtr& ctx, const Match&) { monitor_export(ctx, kCsv); }

void App::on_monitor_db(const ContextPtr& ctx, const Match&) { monitor_export(ctx, kDb); }

void App::monitor_export(const ContextPtr& ctx, int what) {
  monitor::MonitorStore* store = deps_.monitor ? deps_.monitor->existing() : nullptr;
  if (!store && deps_.monitor && !deps_.monitor->error().empty())
    return finish(ctx, unavailable("Monitoring is off: " + deps_.monitor->error()));
  std::vector<std::string> variables;
  std::optional<double> start, end;
  monitor::Style style = monitor::Style::daeploy;
  schema::Errors errors;
  for (auto& [k, v] : http::parse_query(ctx->request.query)) {
    json loc = json::array({"query", k});
    if (k == "variables") {
      variables.push_back(v);
    } else if (k == "format") {
      // Daeploy's shapes by default, so its clients keep working; ours on request.
      if (v == "iso") style = monitor::Style::typed;
      else if (v != "daeploy") errors.push_back({"enum", loc, "Input should be 'daeploy' or 'iso'", v});
    } else if (k == "start" || k == "end") {
      // Unix seconds or an ISO 8601 time, like /logs?since=.
      std::optional<double> t = detail::unix_time_from_query(v);
      if (!t) errors.push_back({"datetime_parsing", loc, "Input should be Unix seconds or an ISO 8601 time", v});
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
    if (what == kJson) return finish(ctx, Response::json(200, json::object()));
    if (what == kCsv) return finish(ctx, Response::error(412, "No monitored variables exists"));  // Daeploy's words
    try {
      return finish(ctx, database_download(monitor::MonitorStore::empty_backup()));
    } catch (const std::exception& e) {
      logs::get("mvi.monitor")->error("making an empty monitoring database failed: {}", e.what());
      return finish(ctx, Response::error(500, "Making an empty monitoring database failed"));
    }
  }
  try {
    Response r;
    if (what == kJson) {
      r = Response::json(200, store->query(variables, start, end, style));
    } else if (what == kCsv) {
      r.content_type = "application/zip";
      r.body = store->csv_zip(variables, start, end, style);
      r.set_header("Content-Disposition", "attachment; filename=\"csv_data.zip\"");  // Daeploy's names
    } else {
      r = database_download(store->backup());
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

}  // namespace mvi::api
