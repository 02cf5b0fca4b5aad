// Delivers notifications to the configured sinks (webhooks, a Daeploy-style manager, e-mail) from one
// background thread with its own io_context, never the HTTP server's (SPEC §6, docs/notifications.md).
// Thread-safety: enqueue() may be called from any thread, concurrently, and never blocks longer than a mutex
// push; start() and stop() belong to one owner thread. Ordering rule: stop() (idempotent) before the
// process tears down what notifications come from; the destructor stops too.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "mvi/notify/notify_config.hpp"
#include "mvi/state/notification_store.hpp"

namespace mvi::notify {

struct DispatcherStats {
  std::uint64_t enqueued = 0;    // notifications accepted by enqueue()
  std::uint64_t delivered = 0;   // deliveries a sink accepted (2xx, or 250 after DATA)
  std::uint64_t failed = 0;      // deliveries given up: 4xx/5yz, out of attempts, or abandoned at stop()
  std::uint64_t dropped = 0;     // deliveries pushed out of a full queue (oldest first)
  std::uint64_t suppressed = 0;  // e-mails not sent because of `timer`
};

class Dispatcher {
 public:
  // Throws std::runtime_error when TLS is needed and MVI_NOTIFY_CA_FILE cannot be loaded.
  explicit Dispatcher(NotifyConfig config);
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Starts the delivery thread; notifications enqueued before are ignored.
  void start();

  // Queues one notification for every sink. Never throws, never waits on the network; a full queue drops
  // its oldest entry (counted, and logged at most every 10 s). A no-op before start() and after stop().
  void enqueue(const state::Notification& n, const std::string& service_name,
               const std::string& service_version) noexcept;

  // Stops accepting, starts what is already queued where a sink is idle, cancels back-off waits, gives
  // attempts in flight up to NotifyConfig::stop_grace_s to finish, then joins the thread. Idempotent.
  void stop() noexcept;

  DispatcherStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mvi::notify
