// Opens the monitoring database on first use, so a service that never monitors anything never
// creates a file (and a read-only working directory costs nothing until it does). A database that
// cannot be opened is reported once and monitoring is then off; the service keeps running.
// Thread-safe: the open happens once under std::call_once.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "mvi/monitor/monitor_store.hpp"

namespace mvi::monitor {

class LazyMonitor {
 public:
  explicit LazyMonitor(MonitorOptions options);
  ~LazyMonitor();

  // Never throws or blocks beyond a mutex push.
  void record(std::string variable, nlohmann::ordered_json value) noexcept;
  // The store, opened now if needed; nullptr if it cannot be opened (the error is in error()).
  MonitorStore* store();
  // For reads: the store if it is open or its file exists, else nullptr (nothing monitored yet).
  MonitorStore* existing();
  const std::string& error() const { return error_; }
  const std::string& path() const { return options_.path; }

 private:
  MonitorOptions options_;
  std::once_flag opened_;
  std::unique_ptr<MonitorStore> store_;
  std::string error_;
};

}  // namespace mvi::monitor
