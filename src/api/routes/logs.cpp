// GET /logs: the ring's records as text or JSON lines, filtered; with follow=true a stream that
// subscribes to the ring until the client leaves.
#include "../app_internal.hpp"
#include "mvi/logs/log.hpp"
#include "mvi/schema/validator.hpp"

namespace mvi::api {

void App::on_logs(const ContextPtr& ctx, const Match&) {
  logs::LogQuery query;
  bool json_lines = false, follow = false;
  schema::Errors errors;
  for (auto& [k, v] : http::parse_query(ctx->request.query)) {
    json value = v;
    json loc = json::array({"query", k});
    if (k == "tail") {
      if (schema::validate(schema::scalar(schema::Kind::int_), value, loc, errors)) {
        auto n = value.get<std::int64_t>();
        if (n < 0) errors.push_back({"greater_than_equal", loc, "Input should be greater than or equal to 0", v});
        else query.tail = static_cast<std::size_t>(n);
      }
    } else if (k == "since") {
      // Unix seconds, or an ISO 8601 time.
      if (auto t = detail::unix_time_from_query(v)) query.since = *t;
      else errors.push_back({"since_parsing", loc, "Input should be Unix seconds or an ISO 8601 time", v});
    } else if (k == "level") {
      if (auto level = logs::parse_level(v)) query.min_level = *level;
      else errors.push_back({"enum", loc, "Input should be 'debug', 'info', 'warning', 'error' or 'critical'", v});
    } else if (k == "format") {
      if (v == "json") json_lines = true;
      else if (v != "text") errors.push_back({"enum", loc, "Input should be 'text' or 'json'", v});
    } else if (k == "follow") {
      if (schema::validate(schema::scalar(schema::Kind::bool_), value, loc, errors)) follow = value.get<bool>();
    }
  }
  if (!errors.empty()) return finish(ctx, Response::json(422, schema::errors_body(errors)));

  auto render = [json_lines](const logs::Record& r) {
    return json_lines ? logs::format_json(r, logs::service_name()) : logs::format_text(r, logs::service_name());
  };
  Response r;
  r.content_type = json_lines ? "application/x-ndjson; charset=utf-8" : "text/plain; charset=utf-8";
  for (const auto& record : logs::ring().query(query)) r.body += render(record);
  if (follow) {
    const logs::Level min_level = query.min_level;
    r.stream = [this, render, min_level](std::shared_ptr<http::StreamSink> sink) {
      // The App holds the subscription while the client reads; the callback drops it (and with
      // it the ring's reference) as soon as a write fails.
      auto handle = std::make_shared<std::shared_ptr<void>>();
      std::weak_ptr<std::shared_ptr<void>> weak = handle;
      *handle = logs::ring().subscribe([sink, render, min_level, weak](const logs::Record& rec) {
        if (rec.level < min_level) return;
        if (!sink->write(render(rec)))
          if (auto h = weak.lock()) h->reset();
      });
      std::lock_guard lock(streams_mutex_);
      followers_.erase(std::remove_if(followers_.begin(), followers_.end(), [](const auto& f) { return !*f; }),
                       followers_.end());
      followers_.push_back(std::move(handle));
    };
  }
  finish(ctx, std::move(r));
}

}  // namespace mvi::api
