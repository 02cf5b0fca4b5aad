// LazyMonitor: call_once around the MonitorStore constructor; failures are logged once.
#include "mvi/monitor/lazy_monitor.hpp"

#include <chrono>
#include <filesystem>

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

MonitorStore* LazyMonitor::existing() {
  std::error_code ec;
  if (!store_ && !std::filesystem::exists(options_.path, ec)) {
    // Not opened and no file from an earlier run: nothing to read, and reading must not create it.
    // (store_ is only ever set inside call_once; a racing first record() at worst makes this read miss it.)
    return nullptr;
  }
  return store();
}

void LazyMonitor::record(std::string variable, nlohmann::ordered_json value) noexcept {
  try {
    if (auto* s = store()) {
      // Microseconds, as the API shows them, so a timestamp read back matches its own sample.
      auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
      s->record(std::move(variable), std::move(value), static_cast<double>(micros) / 1e6);
    }
  } catch (...) {
    // Monitoring must never fail the caller.
  }
}

}  // namespace mvi::monitor
