// Stuck detection from the invoker's running calls and queue; no locks of its own.
#include "mvi/api/health.hpp"

#include <cstdio>

namespace mvi::api {

std::optional<Stuck> find_stuck(const exec::Invoker& invoker, double timeout_s,
                                std::chrono::steady_clock::time_point now) {
  const std::size_t waiting = invoker.waiting();
  if (waiting == 0) return std::nullopt;
  auto running = invoker.running();
  // Every executor that takes calls is inside an old one (a CPU-bound call never wakes another).
  if (running.empty() || running.size() < invoker.awake()) return std::nullopt;
  const exec::RunningCall* oldest = nullptr;
  for (const auto& call : running) {
    const double seconds = std::chrono::duration<double>(now - call.started).count();
    if (seconds <= timeout_s) return std::nullopt;  // one executor is still within the timeout
    if (!oldest || call.started < oldest->started) oldest = &call;
  }
  Stuck s;
  s.call = *oldest;
  s.seconds = std::chrono::duration<double>(now - oldest->started).count();
  char text[64];
  std::snprintf(text, sizeof text, "%.1f s", s.seconds);
  s.reason = "every executor has been running one call for longer than the request timeout while " +
             std::to_string(waiting) + " call(s) wait; entrypoint '" + s.call.entrypoint +
             "' has been running for " + text + " [request_id=" + s.call.request_id + "]";
  return s;
}

}  // namespace mvi::api
