// Internal to src/python: executor threads of the one embedded interpreter. Each thread keeps a
// persistent PyThreadState (re-taking the GIL with it costs ~50 ns; creating one per call ~10 µs).
// `threads` is a maximum (SPEC §3): one hot thread takes the calls; another wakes only while every awake
// thread's call is blocked (sleep, I/O) and calls wait, and goes back to sleep after a quiet spell, so
// sync code that waits does not serialise and CPU-bound code stays on one thread. submit() is called
// from I/O threads; completions run on the executor thread after the GIL is released.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <ctime>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "function_table.hpp"
#include "mvi/exec/invoker.hpp"
#include "mvi/python/host.hpp"
#include "mvi/metrics/metrics.hpp"
#include "mvi/registry/registry.hpp"

namespace mvi::python {

// The CallResult for an exception raised by an entrypoint; logs the traceback. GIL held.
exec::CallResult exception_result(FunctionTable& table, pybind11::error_already_set& e, const std::string& entrypoint);

class InProcessInvoker final : public exec::Invoker {
 public:
  // `table` is mutated only under the GIL (lazy imports); `registry` is immutable.
  InProcessInvoker(FunctionTable& table, const registry::Registry& registry, ExecutorOptions options);
  ~InProcessInvoker() override;

  bool submit(exec::Call call, exec::Completion done) override;
  std::size_t queued() const override;
  std::size_t busy() const override { return busy_.load(std::memory_order_relaxed); }
  std::size_t executors() const override { return thread_count_; }
  std::size_t awake() const override { return awake_.load(std::memory_order_relaxed); }
  std::vector<exec::RunningCall> running() const override;
  void stop() override;

 private:
  struct Item {
    exec::Call call;
    exec::Completion done;
    std::uint64_t cancel_awaited = 0;  // a control item: cancel this awaited call's future (no call)
    std::chrono::steady_clock::time_point queued_at{};
  };

  // What executor `index` is running, for running() and the waker; guarded by slots_mutex_.
  struct Slot {
    bool active = false;
    exec::RunningCall call;
    clockid_t cpu_clock{};  // the executor thread's CPU-time clock
    int stat_fd = -1;       // its /proc/thread-self/stat (its scheduler state), or -1
  };

  void run_worker(std::size_t index);
  // Waits until executor `index` may take a call (or feeds, or sleeps while not awake); returns it, or
  // nullopt once stopping. Runs before_wait (and SCHED_BATCH) before the thread would wait. mutex_ held.
  std::optional<Item> next_item(std::size_t index, std::unique_lock<std::mutex>& lock, bool& idle);
  void run_item(std::size_t index, Item& item, PyThreadState* thread_state);
  // Wakes one more executor while every awake one is blocked in a call and work waits (exec/blocked.hpp).
  void watch_blocking();
  // The CPU time of the first `awake` executors into `cpu`; true if each has been in a call kBlockedAfter.
  bool sample_cpu(std::size_t awake, std::chrono::steady_clock::time_point now, std::vector<std::chrono::nanoseconds>& cpu);
  // None of the first `awake` executors is running or waiting for a CPU (their /proc state is not R).
  bool none_runnable(std::size_t awake);
  void set_slot(std::size_t index, const exec::Call* call);
  // Cancels an awaited call's future; GIL held.
  void cancel_awaited(std::uint64_t id);
  // Calls item.done; a completion that throws is logged, never propagated into the executor.
  static void complete(Item& item, exec::CallResult result);
  // Runs one call with the GIL held. nullopt: an async entrypoint now awaited on the event loop,
  // which completes the call itself later.
  std::optional<exec::CallResult> run_call(exec::Call& call, exec::Completion& done);
  // The CallResult for an exception raised by the user's function (HTTPException or not). GIL held.
  exec::CallResult result_from_exception(pybind11::error_already_set& e, const std::string& entrypoint);
  void await_on_loop(pybind11::object coroutine, const exec::Call& call, exec::Completion& done);
  // 422 detail entries for an exception raised while building argument `param`.  GIL held.
  nlohmann::ordered_json build_errors(const std::string& param, const nlohmann::ordered_json& sent, pybind11::error_already_set& e);

  FunctionTable& table_;
  const registry::Registry& registry_;
  metrics::Metrics* metrics_;  // GIL wait/hold histograms; may be null (tests)
  const std::function<void()> before_wait_;
  const std::function<bool(exec::Invoker&)> feed_;
  const bool batch_scheduling_;
  const std::size_t queue_limit_;
  const std::size_t thread_count_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  std::atomic<std::size_t> queue_size_{0};  // queue_.size(), written under mutex_, read without it
  bool stopping_ = false;
  std::atomic<std::size_t> awake_{1};  // executors [0, awake_) take calls; the others sleep (asleep_cv_).
                                       // Changed under mutex_; read without it by awake()
  bool feeding_ = false;        // an executor is inside feed_ now
  bool feed_live_ = false;      // feed_ may still bring calls
  bool watcher_idle_ = false;   // the waker sleeps until a call starts (watcher_cv_)
  std::condition_variable asleep_cv_;
  std::condition_variable watcher_cv_;
  std::thread watcher_;
  std::atomic<std::size_t> busy_{0};
  std::atomic<std::uint64_t> next_awaited_{1};
  mutable std::mutex slots_mutex_;
  std::vector<Slot> slots_;
  std::vector<std::thread> threads_;
};

}  // namespace mvi::python
