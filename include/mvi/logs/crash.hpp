// Last words: when the process dies of a fatal signal (a C extension's segfault, an abort), one
// CRITICAL line naming the signal and the calls in flight (entrypoint, request id) is written
// straight to stdout, async-signal-safe, before the signal takes its default action. Calls in flight
// are kept in a fixed table of slots that executors fill and clear around each call. Thread-safe:
// slots are claimed with atomics and written only by their owner.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace mvi::logs {

// Installs the handlers for SIGSEGV, SIGBUS, SIGFPE, SIGILL and SIGABRT. `json` writes the line as a
// JSON record (--log-format json). Call once, before user code runs.
void install_crash_handlers(bool json);

// A slot that names what its owner thread is running, for the crash line. Claims a free slot; with
// none left (more than 256 executors) it stays silent.
class CrashSlot {
 public:
  CrashSlot();
  ~CrashSlot();
  CrashSlot(const CrashSlot&) = delete;
  CrashSlot& operator=(const CrashSlot&) = delete;

  void enter(std::string_view entrypoint, std::string_view request_id) noexcept;
  void leave() noexcept;

 private:
  int index_ = -1;
};

// The line written for a fatal signal (exposed for tests; what the handler writes, minus the time).
std::string crash_line(int signo, bool json, bool with_time);

}  // namespace mvi::logs
