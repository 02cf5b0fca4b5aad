// Prometheus metrics (GET /metrics): per-entrypoint request/error counts and latency histograms,
// GIL wait and hold histograms, and gauges read at scrape time. Lock-free to update (atomics), so
// the request path and the executors record without contention; rendering never takes the GIL.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace mvi::metrics {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);  // upper bounds in seconds, ascending
  void observe(double seconds) noexcept;
  // Appends the _bucket/_sum/_count lines of `name` with the label set `labels` ("" or `a="b"`).
  void render(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // one per bound, plus +Inf
  std::atomic<std::uint64_t> sum_ns_{0};
  std::atomic<std::uint64_t> count_{0};
};

struct EntrypointMetrics {
  EntrypointMetrics();
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> client_errors{0};  // 4xx
  std::atomic<std::uint64_t> server_errors{0};  // 5xx
  std::atomic<std::uint64_t> cancelled{0};      // 499: the client left (or got 504) first; counted in 4xx too
  Histogram latency;
};

// Values only the caller knows at scrape time.
// One worker process of isolated mode, as /metrics shows it.
struct WorkerGauge {
  int index = 0;
  std::size_t busy = 0;  // calls it has started and not answered
  std::uint64_t rss_bytes = 0;
  std::vector<std::pair<std::string, std::uint64_t>> restarts;  // by cause: crash, exit, call_timeout, …
};

struct Gauges {
  std::size_t queue_depth = 0;
  std::size_t executors_busy = 0;
  std::size_t executors = 0;
  bool ready = false;
  double uptime_seconds = 0;
  std::uint64_t http_requests = 0;
  std::uint64_t http_client_errors = 0;
  std::uint64_t http_server_errors = 0;
  std::uint64_t log_lines_dropped = 0;
  std::uint64_t notifications_dropped = 0;
  std::vector<WorkerGauge> workers;  // isolated mode only
  // --state file: or redis:// only.
  bool state_backend = false;
  bool state_up = true;
  std::uint64_t state_writes = 0;
};

class Metrics {
 public:
  explicit Metrics(std::vector<std::string> entrypoint_names);

  EntrypointMetrics& entrypoint(std::size_t index) { return *entrypoints_.at(index); }
  Histogram& gil_wait() { return gil_wait_; }
  Histogram& gil_hold() { return gil_hold_; }
  // Isolated mode: a call's round trip to its worker minus the time the worker spent on it.
  Histogram& worker_transport() { return worker_transport_; }
  // --state redis://: from a change's publication on another replica to its arrival here.
  Histogram& state_propagation() { return state_propagation_; }

  // Records a finished entrypoint request (status and wall time from read to response).
  void record(std::size_t entrypoint, int status, double seconds) noexcept;

  std::string render(const Gauges& gauges) const;

 private:
  std::vector<std::string> names_;
  std::vector<std::unique_ptr<EntrypointMetrics>> entrypoints_;
  Histogram gil_wait_;
  Histogram gil_hold_;
  Histogram worker_transport_;
  Histogram state_propagation_;
};

}  // namespace mvi::metrics
