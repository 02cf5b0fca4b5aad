// Notifications raised by notify() (SPEC §6): a bounded store, newest last internally, with
// Daeploy's repeat semantics (same msg and severity → counter + 1, timestamp refreshed).
// Thread-safe: one mutex (held while a state backend stores a change); listeners are called after it is
// released.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mvi/core/listeners.hpp"

namespace mvi::state {

struct NotificationInput {
  std::string msg;
  int severity = 0;  // 0 INFO, 1 WARNING, 2 CRITICAL
  bool dashboard = true;
  std::vector<std::string> emails;
  double timer = 0;
  std::string entrypoint;  // empty outside a call
  std::string request_id;
};

struct Notification {
  std::uint64_t id = 0;
  NotificationInput input;
  double timestamp = 0;  // seconds since the epoch, refreshed on repeat
  std::uint64_t counter = 1;

  nlohmann::ordered_json to_json(const std::string& service_name, const std::string& service_version) const;
};

struct NotificationQuery {
  std::optional<int> severity;  // at least this severity
  std::optional<double> since;  // timestamp strictly after
  std::size_t limit = 0;        // 0 = all
};

// A notification as a state backend keeps it: every field but the id, as JSON; and back (a missing field
// takes its default; a field of the wrong type throws nlohmann::json::exception).
nlohmann::ordered_json stored_notification(const Notification& notification);
Notification notification_from_stored(const nlohmann::ordered_json& stored);

using NotificationListener = std::function<void(const Notification&)>;

class StateBackend;

class NotificationStore {
 public:
  NotificationStore(std::string service_name, std::string service_version, std::size_t capacity = 1000);

  // Keeps every notification in `backend` as well (best effort: a failed write is logged, the store goes
  // on in memory), and starts from the ones it kept. Before the first record().
  void attach(std::shared_ptr<StateBackend> backend);

  Notification record(NotificationInput input);
  // A notification raised on another replica, as the shared backend merged it (its counter counts every
  // replica's repeats): it replaces this store's entry of the same msg and severity, or is added. Only
  // listeners of all changes hear it (the replica that raised it logged and sent it).
  void merge_remote(const Notification& merged);
  nlohmann::ordered_json list(const NotificationQuery& query) const;  // newest first
  std::vector<Notification> snapshot() const;                         // oldest first
  void clear();
  std::uint64_t dropped() const;
  // Which notifications a listener hears: all, or only those raised in this process.
  enum class Raised { anywhere, here };
  void add_listener(NotificationListener listener, Raised which = Raised::anywhere);

  static std::string_view severity_name(int severity) noexcept;

 private:
  std::string service_name_;
  std::string service_version_;
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::deque<Notification> items_;  // ordered by timestamp, newest at the back
  std::uint64_t next_id_ = 1;
  std::uint64_t dropped_ = 0;
  core::Listeners<Notification> listeners_;        // every notification
  core::Listeners<Notification> local_listeners_;  // those raised here
  std::shared_ptr<StateBackend> backend_;  // written under mutex_, so the file's order is the store's
};

}  // namespace mvi::state
