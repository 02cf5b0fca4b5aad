// `--state redis://[user:password@]host:port/db` (SPEC §10): parameters and notifications shared by the
// replicas of a service through one Redis (hiredis). A parameter change is one Lua script (increment the
// global generation, store value and generation, publish); every replica applies what is published in
// generation order, so all converge on the newest. A replica that was cut off reloads the whole state when
// it reconnects; a Redis that lost its data gets the generation raised to the highest a replica knows and
// the values back. Reads never touch Redis. While Redis cannot be reached the backend is degraded: changes
// are refused (StateUnavailable: 503), notifications wait in a bounded queue, reconnection retries with a
// capped back-off. Thread-safe; two threads of its own (the subscriber, the notification writer).
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "mvi/state/state_backend.hpp"

struct redisContext;

namespace mvi::state {

struct RedisAddress {
  std::string host;
  int port = 6379;
  int db = 0;
  std::string user;
  std::string password;

  std::string shown() const;  // "redis://host:port/db", never the password
};

// Throws core::Error(usage) naming what is wrong; rediss:// is refused (Debian 12's hiredis 0.14 has no TLS).
RedisAddress parse_redis_url(const std::string& url);

class RedisState final : public StateBackend {
 public:
  // Tries to connect (bounded by `timeout_s`); an unreachable Redis is not an error: the backend starts
  // degraded and keeps trying. Keys are "<ns>:generation", "<ns>:parameters", "<ns>:notifications",
  // "<ns>:notification-order"; changes are published on "<ns>:events".
  RedisState(RedisAddress address, std::string ns, double timeout_s = 1.0);
  ~RedisState() override;

  std::string describe() const override { return address_.shown(); }
  std::map<std::string, StoredParameter> parameters() override;
  std::uint64_t generation() override;
  std::uint64_t store_parameter(const std::string& name, const nlohmann::ordered_json& value,
                                std::uint64_t proposed) override;
  std::vector<Notification> notifications() override;
  void store_notification(const Notification& notification, const std::vector<std::uint64_t>& dropped) override;
  void clear_notifications() override;
  void watch(Remote remote) override;
  bool healthy() const override { return subscribed_.load(); }
  void stop() override;

  std::uint64_t writes() const override { return writes_.load(); }

  struct Context;

 private:
  using Connection = std::unique_ptr<redisContext, void (*)(redisContext*)>;
  Connection connect(std::string& error) const;
  // The command connection, reconnected when due; throws StateUnavailable. cmd_mutex_ held.
  redisContext* command_connection();
  void drop_command_connection(const std::string& why);  // cmd_mutex_ held
  void subscribe_loop();
  void write_loop();
  void resync();

  RedisAddress address_;
  std::string ns_;
  double timeout_s_;
  std::string k_generation_, k_parameters_, k_notifications_, k_order_, channel_;

  std::mutex cmd_mutex_;
  Connection cmd_;
  std::string cmd_error_;
  double next_attempt_ = 0;  // monotonic seconds; guarded by cmd_mutex_

  Remote remote_;                       // set once by watch(), before watching_
  std::atomic<bool> watching_{false};
  std::atomic<bool> subscribed_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<int> sub_fd_{-1};
  std::thread subscriber_;

  std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::deque<std::function<void(redisContext*)>> queue_;  // notification writes, oldest first
  std::thread writer_;

  std::atomic<std::uint64_t> writes_{0};
};

}  // namespace mvi::state
