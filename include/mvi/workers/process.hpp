// Starting and ending worker processes: a re-exec of the runtime binary in the worker role, never a
// fork of the threaded front. Functions; thread-safe (each call touches only the process it names).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace mvi::workers {

struct Spawned {
  pid_t pid = 0;
  int fd = -1;  // the front's end of the worker's channel (a Unix stream socket)
};

// Starts `argv` (argv[0] the executable) with the other end of a new socketpair as fd 3 of the child
// and `shared_fd` (the StartedTable) as its fd 4. Throws std::system_error when it cannot be started.
Spawned spawn_worker(const std::vector<std::string>& argv, int shared_fd);

// Waits for `pid` to end and says how: "exited with status 3", "was killed by SIGSEGV".
std::string reap(pid_t pid);

// The resident set size of a process in bytes, 0 if it cannot be read.
std::uint64_t rss_bytes(pid_t pid);

// The fd number a worker finds its channel on.
inline constexpr int kWorkerChannelFd = 3;
inline constexpr int kWorkerStartedFd = 4;

}  // namespace mvi::workers
