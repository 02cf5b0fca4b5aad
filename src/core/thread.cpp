// Thread naming and scheduling policy for the calling thread (Linux); no shared state.
#include "mvi/core/thread.hpp"

#include <pthread.h>
#include <sched.h>

#include <cstring>

namespace mvi::core {
namespace {
void set_policy(int policy) noexcept {
  sched_param param{};
  param.sched_priority = 0;
  sched_setscheduler(0, policy, &param);
}
}  // namespace

void name_this_thread(const char* name) noexcept {
  char truncated[16];  // the kernel keeps 15 characters and the terminator
  std::strncpy(truncated, name, sizeof truncated - 1);
  truncated[sizeof truncated - 1] = '\0';
  pthread_setname_np(pthread_self(), truncated);
}

void schedule_as_batch() noexcept { set_policy(SCHED_BATCH); }
void schedule_as_normal() noexcept { set_policy(SCHED_OTHER); }

}  // namespace mvi::core
