// NotificationStore: a deque under one mutex; repeats move to the back so the order stays by time.
#include "mvi/state/notification_store.hpp"

#include <algorithm>
#include <chrono>

#include "mvi/core/time.hpp"
#include "mvi/logs/log.hpp"
#include "mvi/state/state_backend.hpp"

namespace mvi::state {

using json = nlohmann::ordered_json;

std::string_view NotificationStore::severity_name(int severity) noexcept {
  switch (severity) {
    case 0: return "INFO";
    case 1: return "WARNING";
    case 2: return "CRITICAL";
  }
  return "UNKNOWN";
}

json Notification::to_json(const std::string& service_name, const std::string& service_version) const {
  return {
      {"id", id},
      {"service_name", service_name},
      {"service_version", service_version},
      {"msg", input.msg},
      {"severity", input.severity},
      {"severity_name", NotificationStore::severity_name(input.severity)},
      {"dashboard", input.dashboard},
      {"emails", input.emails},
      {"timer", input.timer},
      {"timestamp", timestamp},
      {"counter", counter},
      {"entrypoint", input.entrypoint.empty() ? json(nullptr) : json(input.entrypoint)},
      {"request_id", input.request_id.empty() ? json(nullptr) : json(input.request_id)},
  };
}

json stored_notification(const Notification& n) {
  return {{"msg", n.input.msg},         {"severity", n.input.severity},     {"dashboard", n.input.dashboard},
          {"emails", n.input.emails},   {"timer", n.input.timer},           {"entrypoint", n.input.entrypoint},
          {"request_id", n.input.request_id}, {"timestamp", n.timestamp},   {"counter", n.counter}};
}

Notification notification_from_stored(const json& j) {
  Notification n;
  n.input.msg = j.value("msg", std::string());
  n.input.severity = j.value("severity", 0);
  n.input.dashboard = j.value("dashboard", true);
  n.input.timer = j.value("timer", 0.0);
  n.input.entrypoint = j.value("entrypoint", std::string());
  n.input.request_id = j.value("request_id", std::string());
  // A Lua cjson round trip turns an empty list into {}.
  if (auto e = j.find("emails"); e != j.end() && e->is_array())
    for (const auto& a : *e)
      if (a.is_string()) n.input.emails.push_back(a.get<std::string>());
  n.timestamp = j.value("timestamp", 0.0);
  n.counter = j.value("counter", std::uint64_t{1});
  return n;
}

NotificationStore::NotificationStore(std::string service_name, std::string service_version, std::size_t capacity)
    : service_name_(std::move(service_name)),
      service_version_(std::move(service_version)),
      capacity_(capacity == 0 ? 1 : capacity) {}

void NotificationStore::attach(std::shared_ptr<StateBackend> backend) {
  auto kept = backend->notifications();
  std::lock_guard lock(mutex_);
  backend_ = std::move(backend);
  for (auto& n : kept) {
    next_id_ = std::max(next_id_, n.id + 1);
    items_.push_back(std::move(n));
  }
  while (items_.size() > capacity_) items_.pop_front();
}

Notification NotificationStore::record(NotificationInput input) {
  Notification result;
  {
    std::lock_guard lock(mutex_);
    std::vector<std::uint64_t> dropped;
    double now = core::unix_now();
    auto it = items_.begin();
    for (; it != items_.end(); ++it)
      if (it->input.msg == input.msg && it->input.severity == input.severity) break;
    if (it != items_.end()) {
      Notification repeat = std::move(*it);
      items_.erase(it);
      repeat.counter += 1;
      repeat.timestamp = now;
      repeat.input = std::move(input);
      items_.push_back(std::move(repeat));
    } else {
      Notification fresh;
      fresh.id = next_id_++;
      fresh.input = std::move(input);
      fresh.timestamp = now;
      items_.push_back(std::move(fresh));
      while (items_.size() > capacity_) {
        dropped.push_back(items_.front().id);
        items_.pop_front();
        ++dropped_;
      }
    }
    result = items_.back();
    if (backend_) try {
        backend_->store_notification(result, dropped);
      } catch (const std::exception& e) {
        logs::runtime().warn("notification not kept in the state backend ({}): {}", backend_->describe(), e.what());
      }
  }
  listeners_.notify(result);
  local_listeners_.notify(result);
  return result;
}

void NotificationStore::merge_remote(const Notification& merged) {
  Notification result;
  {
    std::lock_guard lock(mutex_);
    auto it = items_.begin();
    for (; it != items_.end(); ++it)
      if (it->input.msg == merged.input.msg && it->input.severity == merged.input.severity) break;
    Notification entry;
    if (it != items_.end()) {
      entry = std::move(*it);
      items_.erase(it);
      if (merged.counter <= entry.counter && merged.timestamp <= entry.timestamp) {
        // Already as new here (this replica's own write coming back, or an older message).
        auto at = std::upper_bound(items_.begin(), items_.end(), entry.timestamp,
                                   [](double t, const Notification& n) { return t < n.timestamp; });
        items_.insert(at, std::move(entry));
        return;
      }
    } else {
      entry.id = next_id_++;
    }
    entry.input = merged.input;
    entry.counter = std::max(entry.counter, merged.counter);
    entry.timestamp = std::max(entry.timestamp, merged.timestamp);
    items_.push_back(std::move(entry));
    while (items_.size() > capacity_) {
      items_.pop_front();
      ++dropped_;
    }
    result = items_.back();
  }
  listeners_.notify(result);
}

json NotificationStore::list(const NotificationQuery& query) const {
  std::lock_guard lock(mutex_);
  json out = json::array();
  for (auto it = items_.rbegin(); it != items_.rend(); ++it) {
    if (query.severity && it->input.severity < *query.severity) continue;
    if (query.since && it->timestamp <= *query.since) continue;
    out.push_back(it->to_json(service_name_, service_version_));
    if (query.limit && out.size() >= query.limit) break;
  }
  return out;
}

std::vector<Notification> NotificationStore::snapshot() const {
  std::lock_guard lock(mutex_);
  return {items_.begin(), items_.end()};
}

void NotificationStore::clear() {
  std::lock_guard lock(mutex_);
  items_.clear();
  if (backend_) try {
      backend_->clear_notifications();
    } catch (const std::exception& e) {
      logs::runtime().warn("notifications not cleared in the state backend ({}): {}", backend_->describe(), e.what());
    }
}

std::uint64_t NotificationStore::dropped() const {
  std::lock_guard lock(mutex_);
  return dropped_;
}

void NotificationStore::add_listener(NotificationListener listener, Raised which) {
  (which == Raised::anywhere ? listeners_ : local_listeners_).add(std::move(listener));
}

}  // namespace mvi::state
