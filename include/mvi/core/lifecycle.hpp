// The service life-cycle state (NOT_STARTED → STARTING → RUNNING, FAILED, STOPPING; seed 004).
// Lock-free: read from any thread, written by the runtime's main thread and signal watcher.
#pragma once

#include <atomic>
#include <chrono>
#include <string_view>

namespace mvi::core {

enum class LifeState { not_started, starting, running, failed, stopping };

std::string_view to_string(LifeState state) noexcept;

class Lifecycle {
 public:
  LifeState state() const noexcept { return state_.load(std::memory_order_acquire); }
  void set(LifeState state) noexcept { state_.store(state, std::memory_order_release); }
  bool ready() const noexcept { return state() == LifeState::running; }
  double uptime_seconds() const noexcept;

 private:
  std::atomic<LifeState> state_{LifeState::not_started};
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace mvi::core
