// Private to src/workers: WorkerPool's shared state, read by its supervising threads and the links'
// frame handlers on the I/O threads (supervise.cpp) and by the Invoker methods (pool.cpp). Everything below `mutex` in Impl is guarded by it, except
// the atomics and what each comment says.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "mvi/metrics/metrics.hpp"
#include "mvi/workers/channel.hpp"
#include "mvi/workers/shared_blob.hpp"
#include "mvi/workers/link.hpp"
#include "mvi/workers/pool.hpp"
#include "mvi/workers/started_table.hpp"

namespace mvi::workers {
namespace pool_detail {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::ordered_json;

enum class State { not_started, starting, running, failed, stopping };

inline const char* state_name(State s) {
  switch (s) {
    case State::not_started: return "NOT_STARTED";
    case State::starting: return "STARTING";
    case State::running: return "RUNNING";
    case State::failed: return "FAILED";
    case State::stopping: return "STOPPING";
  }
  return "FAILED";
}

// A worker that ran this long before it ended restarts after the initial back-off again.
inline constexpr auto kHealthyRun = std::chrono::seconds(30);

// A call on its way to a worker: encoded once (its id is unique for the pool's life), so it can be
// sent again, unchanged, to another worker if the first one dies before starting it.
struct Pending {
  std::uint64_t id = 0;
  std::shared_ptr<const OutFrame> frame;
  std::size_t entrypoint = 0;
  std::string entrypoint_name;
  std::string request_id;
  std::shared_ptr<core::CancelToken> cancel;
  exec::Completion done;
  Clock::time_point queued_at;
  Clock::time_point sent_at;
  std::optional<Clock::time_point> started_seen;  // when the watcher first saw it started (--call-timeout)
};

struct Slot {
  int index = 0;
  pid_t pid = 0;
  std::shared_ptr<Link> link;  // shared: senders outside the lock keep it alive
  bool link_ended = false;     // its on_end ran: every frame the process wrote has been handled
  State state = State::not_started;
  bool synced = false;  // its init frame is sent: parameter changes go to it from now on
  std::unordered_map<std::uint64_t, Pending> in_flight;  // sent, not answered
  StartedTable started;  // of the running process
  std::uint64_t restarts = 0;
  std::uint64_t calls = 0;
  std::string last_exit;
  std::string load_error;  // the traceback a worker sent before it exited
  bool jobs = false;
  // The process is ending on purpose: its calls are drained (recycle) or it was killed for a reason
  // the log and the lost calls name instead of "was killed by SIGKILL".
  bool recycling = false;
  bool stop_sent = false;
  std::string recycle_reason;
  std::string kill_reason;
  std::string kill_cause;  // the metrics' label for kill_reason
  std::map<std::string, std::uint64_t> exits;  // processes replaced, by cause (mvi_worker_restarts_total)
  std::uint64_t served = 0;         // calls answered by the current process
  std::uint64_t recycle_after = 0;  // --max-requests plus this process's jitter; 0 = never
  std::thread thread;
};

// A frame to write to a worker, once the lock is released.
struct Send {
  std::shared_ptr<Link> link;
  std::shared_ptr<const OutFrame> frame;
  std::shared_ptr<core::CancelToken> cancel;  // forwarded to the worker once sent (an async call)
  std::uint64_t id = 0;
};

}  // namespace pool_detail

using namespace pool_detail;

struct WorkerPool::Impl {
  PoolOptions options;
  PoolHooks hooks;
  std::function<void(const Loaded&)> on_loaded;
  boost::asio::io_context* io = nullptr;  // runs the links; set by start()

  mutable std::mutex mutex;
  std::condition_variable changed;  // a slot changed state; stop() was called
  std::vector<std::unique_ptr<Slot>> slots;
  std::deque<Pending> queue;
  std::atomic<std::size_t> queued{0};
  std::atomic<std::uint64_t> next_id{1};
  BlobPool blobs;  // memfds for large arrays of call frames (thread-safe)
  std::vector<bool> async_entrypoints;  // calls of these are never sent twice: they start at once
  bool stopping = false;
  bool stopped = false;
  bool jobs_wanted = false;
  bool loaded = false;        // the first worker registered the service
  bool start_failed = false;  // the first worker could not load it: no restarts
  std::string start_error;
  Loaded first;

  std::mutex parameters_mutex;  // orders init frames against parameter broadcasts
  std::thread watcher;          // --call-timeout and --worker-memory-limit
  metrics::Histogram* transport = nullptr;  // set before the first call
  std::uint64_t jitter_state = 0x9e3779b97f4a7c15ull;

  std::vector<std::string> worker_argv() const {
    std::vector<std::string> argv = options.argv;
    argv.push_back("--worker-fd=" + std::to_string(kWorkerChannelFd));
    return argv;
  }

  void supervise(Slot& slot);
  void serve_process(Slot& slot);
  void on_frame(Slot& slot, pid_t pid, Frame& frame);
  void on_hello(Slot& slot, Frame& frame);
  void on_result(Slot& slot, Frame& frame);
  void on_end(Slot& slot, const std::string& cause);
  void assign_jobs_locked(std::vector<std::shared_ptr<Link>>& notify);
  void dispatch_locked(Slot& slot, std::vector<Send>& sends, std::vector<Pending>& dropped);
  // Calls a worker may hold: those its executors run and as many again waiting, so it never idles
  // between calls; the rest wait here, where any worker can take them.
  std::size_t capacity() const { return static_cast<std::size_t>(options.threads) * 2; }
  static void send_all(std::vector<Send>& sends);
  static void forward_cancel(const std::shared_ptr<core::CancelToken>& token, const std::shared_ptr<Link>& link,
                             std::uint64_t id);
  void watch();
  void recycle_locked(Slot& slot, const std::string& why, std::vector<std::shared_ptr<Link>>& stops);
  std::uint64_t next_recycle_after();
};

}  // namespace mvi::workers
