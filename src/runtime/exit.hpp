// Leaving the process at once, without unwinding: used where destructors could hang (a half-imported
// module's threads, Python still running a call). Buffered log lines and stdio are flushed first.
#pragma once

#include <cstdio>
#include <cstdlib>

#include "mvi/logs/log.hpp"

namespace mvi::runtime {

[[noreturn]] inline void exit_now(int code) {
  logs::flush();
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(code);
}

}  // namespace mvi::runtime
