// Life-cycle names and uptime; stateless helpers, thread-safe.
#include "mvi/core/lifecycle.hpp"

namespace mvi::core {

std::string_view to_string(LifeState state) noexcept {
  switch (state) {
    case LifeState::not_started: return "NOT_STARTED";
    case LifeState::starting: return "STARTING";
    case LifeState::running: return "RUNNING";
    case LifeState::failed: return "FAILED";
    case LifeState::stopping: return "STOPPING";
  }
  return "UNKNOWN";
}

double Lifecycle::uptime_seconds() const noexcept {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
}

}  // namespace mvi::core
