// Whether the service is stuck: every executor has been inside one call for longer than the request
// timeout while other calls wait, so nothing that waits can be answered in time (a `while True`, a
// `time.sleep(3600)`). /health/ready then answers 503 so Kubernetes takes the pod out of its Service,
// and /status names the call. Pure; thread-safe.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "mvi/exec/invoker.hpp"

namespace mvi::api {

struct Stuck {
  exec::RunningCall call;  // the call running longest
  double seconds = 0;
  std::string reason;      // for the 503 body and the log
};

std::optional<Stuck> find_stuck(const exec::Invoker& invoker, double timeout_s,
                                std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

}  // namespace mvi::api
