// When an executor pool whose --threads is a maximum (SPEC §3) wakes another thread: only while every
// awake thread has been inside its call for kBlockedAfter and, together, they used less than half of a
// CPU since the last look: they are sleeping or waiting on I/O. Threads that compute (or wait for the GIL
// another one holds) use a whole CPU between them, so CPU-bound load stays on one thread. (The invoker also
// asks the scheduler: a thread that is runnable but waiting for a CPU, on a busy machine, is not blocked.)
// Pure; thread-safe.
#pragma once

#include <chrono>

namespace mvi::exec {

inline constexpr std::chrono::milliseconds kBlockedAfter{2};

// `wall`: an interval in which every awake executor was inside a call; `cpu`: the CPU time those
// executors used in it, summed.
inline bool blocked(std::chrono::nanoseconds wall, std::chrono::nanoseconds cpu) {
  return wall.count() > 0 && cpu * 2 < wall;
}

}  // namespace mvi::exec
