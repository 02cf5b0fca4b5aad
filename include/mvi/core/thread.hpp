// Names and scheduling policy for the runtime's own threads; each call affects only the calling thread.
#pragma once

namespace mvi::core {

// Shown by `top -H`, `ps -L`, gdb and perf; at most 15 characters are kept.
void name_this_thread(const char* name) noexcept;

// SCHED_BATCH for a thread that others hand work to (executors while they wait, the log writer): waking
// it no longer preempts the waker, so an I/O thread sharing its core finishes reading every ready request
// before the executor runs them as one batch, instead of a context switch per request. Threads and
// processes inherit the policy, so code that may start them (the user's) runs under the normal one.
// Best effort: a refusal (seccomp, an unusual kernel) leaves the thread as it was.
void schedule_as_batch() noexcept;
void schedule_as_normal() noexcept;

}  // namespace mvi::core
