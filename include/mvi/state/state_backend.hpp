// Where parameters and notifications live beyond this process (SPEC §10): the stores keep serving from
// memory, and a backend makes each change durable (`--state file:PATH`) or shared between replicas
// (`--state redis://`) before it is applied. The stores call a backend under their own writer lock, one
// change at a time; implementations are thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mvi/state/notification_store.hpp"

namespace mvi::state {

// A change the backend could not keep (a full disk, a lost connection): the change is not applied and
// the client is told (503), never left believing it was stored.
struct StateUnavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct StoredParameter {
  nlohmann::ordered_json value;
  std::uint64_t generation = 0;  // the generation of the change that stored it
};

class StateBackend {
 public:
  virtual ~StateBackend() = default;

  // For logs and /status: "file:/data/state.db".
  virtual std::string describe() const = 0;

  // What was stored, read once at start: every parameter ever stored (also those the code no longer
  // declares), and the last generation given out.
  virtual std::map<std::string, StoredParameter> parameters() = 0;
  virtual std::uint64_t generation() = 0;
  // Keeps a validated change before it is applied and returns its generation: `proposed` (the next local
  // one) for a file, the shared counter's next for Redis. Throws StateUnavailable when it cannot.
  virtual std::uint64_t store_parameter(const std::string& name, const nlohmann::ordered_json& value,
                                        std::uint64_t proposed) = 0;

  // The notifications kept, oldest first.
  virtual std::vector<Notification> notifications() = 0;
  // A new notification or a repeat (same id, new counter and timestamp); `dropped` ids left the bounded
  // store. Best effort: a failure is reported by the throw and the store goes on in memory.
  virtual void store_notification(const Notification& notification, const std::vector<std::uint64_t>& dropped) = 0;
  virtual void clear_notifications() = 0;

  // Changes made elsewhere (other replicas sharing the backend), delivered from the backend's own thread
  // once watch() has been called; and what this process knows, for a backend that lost its data.
  struct Remote {
    std::function<void(const std::string& name, const nlohmann::ordered_json& value, std::uint64_t generation)> parameter;
    std::function<void(const Notification&)> notification;
    // The parameters changed here (value and generation) and the generation: written back after data loss.
    std::function<std::pair<std::map<std::string, StoredParameter>, std::uint64_t>()> known;
    // The notifications this process has, oldest first: written back after data loss (optional).
    std::function<std::vector<Notification>()> notifications;
    // Seconds from a change's publication elsewhere to its arrival here (optional).
    std::function<void(double)> propagation;
  };
  // Starts delivering remote changes (a backend shared by nobody delivers none). Called once, after the
  // stores have restored what parameters() and notifications() returned.
  virtual void watch(Remote) {}
  // False while the backend cannot be reached (changes then answer 503; reads go on from memory).
  virtual bool healthy() const { return true; }
  // Parameter changes this process has stored so far.
  virtual std::uint64_t writes() const { return 0; }
  // Stops delivering and releases connections; the destructor calls it.
  virtual void stop() {}
};

}  // namespace mvi::state
