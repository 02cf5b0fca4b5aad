// Signal watcher: a detached-for-life thread in sigwait. Its callback may call _exit for a
// second signal; otherwise it only flips flags and notifies the main thread.
#include "mvi/runtime/signals.hpp"

#include <csignal>
#include <pthread.h>

#include "mvi/core/thread.hpp"

namespace mvi::runtime {
namespace {
sigset_t handled_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}
}  // namespace

void block_signals() {
  sigset_t set = handled_set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void ignore_broken_pipes() { std::signal(SIGPIPE, SIG_IGN); }

SignalWatcher::SignalWatcher(std::function<void(int, int)> on_signal) : on_signal_(std::move(on_signal)) {
  thread_ = std::thread([this] {
    core::name_this_thread("mvi-signals");
    sigset_t set = handled_set();
    int count = 0;
    while (true) {
      int signo = 0;
      if (sigwait(&set, &signo) != 0) continue;
      on_signal_(signo, ++count);
    }
  });
  // The watcher lives until the process exits; it holds no resources that need joining.
  thread_.detach();
}

SignalWatcher::~SignalWatcher() = default;

}  // namespace mvi::runtime
