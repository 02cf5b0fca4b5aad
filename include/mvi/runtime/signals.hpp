// SIGTERM/SIGINT handling owned by C++: the signals are blocked in every thread (block_signals()
// runs first in main, before any thread exists) and a watcher thread receives them with sigwait,
// so no async-signal-safety rules constrain what happens next.
#pragma once

#include <functional>
#include <thread>

namespace mvi::runtime {

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread; threads created later inherit it.
void block_signals();

// A write to a peer that has gone (a worker process, a client, a closed stdout) fails with EPIPE
// instead of killing the runtime. Python sets the same when it starts; isolated mode's front has none.
void ignore_broken_pipes();

class SignalWatcher {
 public:
  // `on_signal(signo, count)` runs on the watcher thread for each signal received (count 1, 2, ...).
  explicit SignalWatcher(std::function<void(int, int)> on_signal);
  ~SignalWatcher();

 private:
  std::function<void(int, int)> on_signal_;
  std::thread thread_;
};

}  // namespace mvi::runtime
