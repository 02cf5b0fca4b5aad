// The daemon's life: parse the configuration, start logging, listen, load the service, serve,
// and shut down in order on SIGTERM/SIGINT. Runs on the main thread; returns the exit code.
#pragma once

namespace mvi::runtime {

int run(int argc, const char* const* argv);

}  // namespace mvi::runtime
