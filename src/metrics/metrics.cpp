// Histograms with atomic buckets and the Prometheus text rendering (exposition format 0.0.4).
#include "mvi/metrics/metrics.hpp"

#include <cstdio>

namespace mvi::metrics {
namespace {

std::vector<double> latency_bounds() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}

std::vector<double> gil_bounds() {
  return {0.000001, 0.000005, 0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5};
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

// Label values escape backslash, quote and newline (the exposition format's rule).
std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\', out += c;
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void sample(std::string& out, const std::string& name, const std::string& labels, double value) {
  out += name;
  if (!labels.empty()) out += "{" + labels + "}";
  out += ' ';
  out += number(value);
  out += '\n';
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
  for (std::size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::observe(double seconds) noexcept {
  std::size_t i = 0;
  while (i < bounds_.size() && seconds > bounds_[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<std::uint64_t>(seconds > 0 ? seconds * 1e9 : 0), std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

void Histogram::render(std::string& out, const std::string& name, const std::string& labels) const {
  std::uint64_t cumulative = 0;
  const std::string prefix = labels.empty() ? "" : labels + ",";
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i].load(std::memory_order_relaxed);
    std::string le = i < bounds_.size() ? number(bounds_[i]) : "+Inf";
    sample(out, name + "_bucket", prefix + "le=\"" + le + "\"", static_cast<double>(cumulative));
  }
  sample(out, name + "_sum", labels, static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9);
  sample(out, name + "_count", labels, static_cast<double>(count_.load(std::memory_order_relaxed)));
}

EntrypointMetrics::EntrypointMetrics() : latency(latency_bounds()) {}

Metrics::Metrics(std::vector<std::string> entrypoint_names)
    : names_(std::move(entrypoint_names)),
      gil_wait_(gil_bounds()),
      gil_hold_(gil_bounds()),
      worker_transport_(gil_bounds()),
      state_propagation_(latency_bounds()) {
  for (std::size_t i = 0; i < names_.size(); ++i) entrypoints_.push_back(std::make_unique<EntrypointMetrics>());
}

void Metrics::record(std::size_t index, int status, double seconds) noexcept {
  if (index >= entrypoints_.size()) return;
  auto& m = *entrypoints_[index];
  m.requests.fetch_add(1, std::memory_order_relaxed);
  if (status >= 500) m.server_errors.fetch_add(1, std::memory_order_relaxed);
  else if (status >= 400) m.client_errors.fetch_add(1, std::memory_order_relaxed);
  if (status == 499) m.cancelled.fetch_add(1, std::memory_order_relaxed);
  m.latency.observe(seconds);
}

std::string Metrics::render(const Gauges& g) const {
  std::string out;
  out.reserve(4096 + names_.size() * 2048);
  header(out, "mvi_entrypoint_requests_total", "counter", "Entrypoint requests answered.");
  for (std::size_t i = 0; i < names_.size(); ++i)
    sample(out, "mvi_entrypoint_requests_total", "entrypoint=\"" + escape(names_[i]) + "\"",
           static_cast<double>(entrypoints_[i]->requests.load(std::memory_order_relaxed)));
  header(out, "mvi_entrypoint_errors_total", "counter", "Entrypoint requests answered with an error status.");
  for (std::size_t i = 0; i < names_.size(); ++i) {
    std::string ep = "entrypoint=\"" + escape(names_[i]) + "\"";
    sample(out, "mvi_entrypoint_errors_total", ep + ",class=\"4xx\"",
           static_cast<double>(entrypoints_[i]->client_errors.load(std::memory_order_relaxed)));
    sample(out, "mvi_entrypoint_errors_total", ep + ",class=\"5xx\"",
           static_cast<double>(entrypoints_[i]->server_errors.load(std::memory_order_relaxed)));
  }
  header(out, "mvi_entrypoint_cancelled_total", "counter",
         "Entrypoint calls dropped before they ran, or cancelled while awaited, because the client left.");
  for (std::size_t i = 0; i < names_.size(); ++i)
    sample(out, "mvi_entrypoint_cancelled_total", "entrypoint=\"" + escape(names_[i]) + "\"",
           static_cast<double>(entrypoints_[i]->cancelled.load(std::memory_order_relaxed)));
  header(out, "mvi_entrypoint_duration_seconds", "histogram", "Time from request read to response, per entrypoint.");
  for (std::size_t i = 0; i < names_.size(); ++i)
    entrypoints_[i]->latency.render(out, "mvi_entrypoint_duration_seconds", "entrypoint=\"" + escape(names_[i]) + "\"");
  header(out, "mvi_gil_wait_seconds", "histogram", "Time an executor waited to take the GIL.");
  gil_wait_.render(out, "mvi_gil_wait_seconds", "");
  header(out, "mvi_gil_hold_seconds", "histogram", "Time an executor held the GIL per call.");
  gil_hold_.render(out, "mvi_gil_hold_seconds", "");
  header(out, "mvi_queue_depth", "gauge", "Calls waiting for an executor.");
  sample(out, "mvi_queue_depth", "", static_cast<double>(g.queue_depth));
  header(out, "mvi_executors_busy", "gauge", "Executors running a call.");
  sample(out, "mvi_executors_busy", "", static_cast<double>(g.executors_busy));
  header(out, "mvi_executors", "gauge", "Executor threads.");
  sample(out, "mvi_executors", "", static_cast<double>(g.executors));
  header(out, "mvi_ready", "gauge", "1 while the service is RUNNING (not starting, stopping or failed).");
  sample(out, "mvi_ready", "", g.ready ? 1 : 0);
  header(out, "mvi_uptime_seconds", "gauge", "Seconds since the process started.");
  sample(out, "mvi_uptime_seconds", "", g.uptime_seconds);
  header(out, "mvi_http_requests_total", "counter", "HTTP requests answered, all routes.");
  sample(out, "mvi_http_requests_total", "", static_cast<double>(g.http_requests));
  header(out, "mvi_http_errors_total", "counter", "HTTP requests answered with an error status, all routes.");
  sample(out, "mvi_http_errors_total", "class=\"4xx\"", static_cast<double>(g.http_client_errors));
  sample(out, "mvi_http_errors_total", "class=\"5xx\"", static_cast<double>(g.http_server_errors));
  header(out, "mvi_log_lines_dropped_total", "counter", "Log lines dropped because stdout was not keeping up.");
  sample(out, "mvi_log_lines_dropped_total", "", static_cast<double>(g.log_lines_dropped));
  header(out, "mvi_notifications_dropped_total", "counter", "Notifications dropped from the bounded store.");
  sample(out, "mvi_notifications_dropped_total", "", static_cast<double>(g.notifications_dropped));
  if (g.state_backend) {
    header(out, "mvi_state_backend_up", "gauge", "1 while the state backend (--state) can be reached.");
    sample(out, "mvi_state_backend_up", "", g.state_up ? 1 : 0);
    header(out, "mvi_state_writes_total", "counter", "Parameter changes this process stored in the state backend.");
    sample(out, "mvi_state_writes_total", "", static_cast<double>(g.state_writes));
    header(out, "mvi_state_propagation_seconds", "histogram",
           "From a parameter change's publication on another replica to its arrival here (--state redis://).");
    state_propagation_.render(out, "mvi_state_propagation_seconds", "");
  }
  if (g.workers.empty()) return out;
  header(out, "mvi_worker_restarts_total", "counter", "Worker processes replaced, by worker and cause.");
  for (const auto& w : g.workers)
    for (const auto& [cause, n] : w.restarts)
      sample(out, "mvi_worker_restarts_total", "worker=\"" + std::to_string(w.index) + "\",cause=\"" + escape(cause) + "\"",
             static_cast<double>(n));
  header(out, "mvi_worker_busy", "gauge", "Calls a worker process has started and not answered.");
  for (const auto& w : g.workers)
    sample(out, "mvi_worker_busy", "worker=\"" + std::to_string(w.index) + "\"", static_cast<double>(w.busy));
  header(out, "mvi_worker_rss_bytes", "gauge", "Resident memory of a worker process.");
  for (const auto& w : g.workers)
    sample(out, "mvi_worker_rss_bytes", "worker=\"" + std::to_string(w.index) + "\"", static_cast<double>(w.rss_bytes));
  header(out, "mvi_worker_transport_seconds", "histogram",
         "A call's round trip to its worker process minus the time the worker spent on it.");
  worker_transport_.render(out, "mvi_worker_transport_seconds", "");
  return out;
}

}  // namespace mvi::metrics
