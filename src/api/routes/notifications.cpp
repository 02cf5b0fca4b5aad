// Notification routes: the store's list with its filters, clearing it, and the Server-Sent Events
// stream (the App's one notification listener fans each new one out to the open streams).
#include "../app_internal.hpp"
#include "mvi/schema/validator.hpp"

namespace mvi::api {

void App::on_notifications(const ContextPtr& ctx, const Match&) {
  state::NotificationQuery query;
  schema::Errors errors;
  for (auto& [k, v] : http::parse_query(ctx->request.query)) {
    json value = v;
    if (k == "severity") {
      for (int s = 0; s <= 2; ++s)
        if (http::iequals(v, state::NotificationStore::severity_name(s))) value = s;
      if (schema::validate(schema::scalar(schema::Kind::int_), value, json::array({"query", k}), errors))
        query.severity = static_cast<int>(std::clamp<std::int64_t>(value.get<std::int64_t>(), -1, 3));
    } else if (k == "since") {
      if (schema::validate(schema::scalar(schema::Kind::float_), value, json::array({"query", k}), errors))
        query.since = value.get<double>();
    } else if (k == "limit") {
      if (schema::validate(schema::scalar(schema::Kind::int_), value, json::array({"query", k}), errors)) {
        auto n = value.get<std::int64_t>();
        if (n < 0) errors.push_back({"greater_than_equal", json::array({"query", k}),
                                     "Input should be greater than or equal to 0", v});
        else query.limit = static_cast<std::size_t>(n);
      }
    }
  }
  if (!errors.empty()) return finish(ctx, Response::json(422, schema::errors_body(errors)));
  finish(ctx, Response::json(200, deps_.notifications.list(query)));
}

void App::on_notifications_clear(const ContextPtr& ctx, const Match&) {
  deps_.notifications.clear();
  finish(ctx, Response::json(200, {{"detail", "Notifications cleared"}}));
}

void App::on_notification_stream(const ContextPtr& ctx, const Match&) {
  Response r;
  r.content_type = "text/event-stream; charset=utf-8";
  r.body = "retry: 3000\n\n";
  r.stream = [this](std::shared_ptr<http::StreamSink> sink) {
    std::lock_guard lock(streams_mutex_);
    sse_clients_.push_back(std::move(sink));
  };
  finish(ctx, std::move(r));
}

}  // namespace mvi::api
