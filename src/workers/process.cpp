// posix_spawn of worker processes and waitpid of their ends. posix_spawn (vfork-like in glibc) is safe
// from a multi-threaded process, unlike fork followed by anything but exec.
#include "mvi/workers/process.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <system_error>

extern char** environ;

namespace mvi::workers {

Spawned spawn_worker(const std::vector<std::string>& argv, int shared_fd) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    throw std::system_error(errno, std::generic_category(), "socketpair");
  // The dup2s below run in order: a table on fd 3 would be replaced by the channel before it is copied.
  int table_fd = shared_fd;
  if (table_fd == kWorkerChannelFd) table_fd = ::fcntl(shared_fd, F_DUPFD_CLOEXEC, 10);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // dup2 clears close-on-exec on the copy, so only the child's end reaches the worker, as fd 3.
  posix_spawn_file_actions_adddup2(&actions, fds[1], kWorkerChannelFd);
  posix_spawn_file_actions_adddup2(&actions, table_fd, kWorkerStartedFd);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // The front blocks its signals for its watcher thread; a worker starts with none blocked and sets its own.
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, args[0], &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(fds[1]);
  if (table_fd != shared_fd) ::close(table_fd);
  if (rc != 0) {
    ::close(fds[0]);
    throw std::system_error(rc, std::generic_category(), "cannot start a worker process " + argv[0]);
  }
  return {pid, fds[0]};
}

std::string reap(pid_t pid) {
  int status = 0;
  pid_t r;
  do r = ::waitpid(pid, &status, 0);
  while (r < 0 && errno == EINTR);
  if (r < 0) return "ended (not reaped: " + std::string(std::strerror(errno)) + ")";
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    const char* abbrev = sigabbrev_np(sig);
    return std::string("was killed by ") + (abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig));
  }
  return "ended";
}

std::uint64_t rss_bytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/statm");
  std::uint64_t size = 0, resident = 0;
  if (!(in >> size >> resident)) return 0;
  return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace mvi::workers
