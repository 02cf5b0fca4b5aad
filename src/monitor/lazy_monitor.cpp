// LazyMonitor: call_once around the MonitorStore constructor; failures are logged once.
#include "mvi/monitor/lazy_monitor.hpp"

#include <chrono>

#include <nlohmann/json.hpp>

#include "mvi/logs/log.hpp"

namespace mvi::monitor {

LazyMonitor::LazyMonitor(MonitorOptions options) : options_(std::move(options)) {}

LazyMonitor::~LazyMonitor() = default;

MonitorStore* LazyMonitor::store() {
  std::call_once(opened_, [this] {
    try {
      store_ = std::make_unique<MonitorStore>(options_);
      logs::get("mvi.monitor")->info("monitoring database: {}", options_.path);
    } catch (const std::exception& e) {
      error_ = e.what();
      logs::get("mvi.monitor")->error("monitoring is off: {} (set --monitor-db / MVI_MONITOR_DB to a writable path)",
                                      e.what());
    }
  });
  return store_.get();
}

void LazyMonitor::record(std::string variable, nlohmann::json value) noexcept {
  try {
    if (auto* s = store()) {
      double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
      s->record(std::move(variable), std::move(value), now);
    }
  } catch (...) {
    // Monitoring must never fail the caller.
  }
}

}  // namespace mvi::monitor
