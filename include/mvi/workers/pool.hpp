// Isolated mode (SPEC §9, issue 13): the Invoker that runs calls in supervised worker processes. The
// front holds no interpreter: the registry comes from the first worker as plain data and every later
// worker must register the same. Each worker takes at most `threads` calls at a time; the rest wait
// in one front queue, so a worker that dies loses only the calls it was running (answered 502) and
// the queue goes to the others. A worker that ends is reaped, logged with its cause and restarted
// with exponential back-off. Thread-safe: submit() from I/O threads, one supervising thread per worker;
// each worker's frames are read and its results answered on the I/O threads (link.hpp).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mvi/exec/invoker.hpp"
#include "mvi/logs/record.hpp"
#include "mvi/metrics/metrics.hpp"
#include "mvi/state/notification_store.hpp"

namespace boost::asio {
class io_context;
}

namespace mvi::workers {

struct PoolOptions {
  std::vector<std::string> argv;  // a worker's command line: the runtime binary and the front's own arguments
  int workers = 1;
  int threads = 1;                // calls one worker runs at a time (its executor threads)
  std::size_t queue_limit = 1024;
  double restart_backoff_s = 0.5;  // the first restart's delay; doubles per quick failure, capped
  double restart_backoff_max_s = 30.0;
  double stop_timeout_s = 30.0;    // stop(): then the workers still running are killed
  double call_timeout_s = 0;       // a started call older than this is answered 504 and its worker killed; 0 = off
  std::uint64_t memory_limit_bytes = 0;  // RSS: over it, the worker is killed; above 90 % after a call, recycled
  std::uint64_t max_requests = 0;        // a worker is recycled after this many calls (plus up to `jitter`); 0 = off
  std::uint64_t max_requests_jitter = 0;
};

// What the workers' frames do in the front. Called on supervising threads.
struct PoolHooks {
  std::function<void(logs::Record)> log;
  std::function<void(state::NotificationInput)> notify;
  std::function<void(const std::string&, nlohmann::ordered_json)> store;
  // service.set_parameter() in a worker: applied in the front, which sends it to every worker.
  std::function<void(const std::string&, nlohmann::ordered_json)> set_parameter;
  // The current parameter values and generation, sent to a worker before its first call.
  std::function<std::pair<nlohmann::ordered_json, std::uint64_t>()> parameters;
};

// What the first worker registered.
struct Loaded {
  nlohmann::ordered_json registry;    // registry::parse_registry's input
  nlohmann::ordered_json parameters;  // [{name, value, type, expose, monitor, description}] in declaration order
};

class WorkerPool final : public exec::Invoker {
 public:
  WorkerPool(PoolOptions options, PoolHooks hooks);
  ~WorkerPool() override;

  // Starts the first worker and waits until it has loaded the service, then starts the others.
  // `on_loaded` runs once, when the first worker has registered and before it is sent the current
  // parameters (the front declares them from it); if it throws, the start fails with its message.
  // Throws core::Error(load_failed) with the worker's traceback when it cannot load. The workers'
  // channels run on `io` (the HTTP server's), which must keep running until stop() has returned.
  Loaded start(boost::asio::io_context& io, std::function<void(const Loaded&)> on_loaded);
  // A parameter changed in the front: queued to every worker before this returns, ahead of any call
  // submitted afterwards, so that call finds it applied. Call in generation order (the ParameterStore's listener does).
  void broadcast_parameter(const std::string& name, const nlohmann::ordered_json& value, std::uint64_t generation);
  // Which entrypoints (by registry index) are async: their calls start at once in a worker, so one
  // lost with its worker is answered 502, never sent to another. Before the first submit().
  void set_async_entrypoints(std::vector<bool> async);
  // Where the transport time of each call is recorded (/metrics). Before the first submit().
  void set_metrics(metrics::Metrics* metrics);
  // The service's call_every jobs run in exactly one worker, moved to another if it dies.
  void start_jobs();

  bool submit(exec::Call call, exec::Completion done) override;
  std::size_t queued() const override;
  std::size_t busy() const override;
  std::size_t executors() const override;
  std::size_t awake() const override;
  std::size_t waiting() const override;
  std::vector<exec::RunningCall> running() const override;
  std::vector<exec::WorkerStatus> workers() const override;
  bool serving() const override;
  void stop() override;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace mvi::workers
