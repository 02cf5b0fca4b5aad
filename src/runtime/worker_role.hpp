// The worker role of isolated mode (SPEC §9): the same binary, started by the front with --worker-fd,
// runs the service in its own interpreter and serves calls over that channel. Main thread only.
#pragma once

#include <string>

#include "mvi/config/config.hpp"

namespace mvi::runtime {

// Loads the service, says hello to the front, then serves its frames until it says stop (returns 0)
// or goes away (exits at once). A service that cannot load is reported to the front and exits non-zero.
int run_worker(const config::Config& cfg, const std::string& executable);

}  // namespace mvi::runtime
