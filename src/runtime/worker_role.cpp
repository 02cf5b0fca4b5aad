// A worker process: one interpreter, its own executor threads, and the channel to the front. An idle
// executor reads the frames itself (one at a time); the main thread only watches for the front's end.
// Results, log records and notifications are written back from whichever thread makes them (the
// Channel keeps frames whole).
#include "worker_role.hpp"

#include "exit.hpp"

#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <unordered_map>

#include "mvi/api/app.hpp"
#include "mvi/core/error.hpp"
#include "mvi/logs/log.hpp"
#include "mvi/python/host.hpp"
#include "mvi/state/parameter_store.hpp"
#include "mvi/workers/channel.hpp"
#include "mvi/workers/codec.hpp"
#include "mvi/workers/process.hpp"
#include "mvi/workers/started_table.hpp"

namespace mvi::runtime {
namespace {

using Json = nlohmann::ordered_json;
using workers::FrameType;

// Applies the front's parameter values to the worker's copy. A change is applied once, in generation
// order per parameter, whatever order the frames of concurrent changes arrive in.
class ParameterMirror {
 public:
  explicit ParameterMirror(state::ParameterStore& store) : store_(store) {}

  void apply(const std::string& name, const Json& value, std::uint64_t generation) {
    auto& seen = applied_[name];
    if (generation && generation <= seen) return;
    seen = generation;
    auto r = store_.set(name, value);
    if (r.status != state::SetStatus::ok)
      logs::runtime().error("parameter '{}' from the front does not apply in this worker", name);
    generation_ = std::max(generation_, generation);
    snapshot_ = std::make_shared<const Json>(store_.values());
  }

  // The generation and values a call that starts now sees (one snapshot per change, shared by calls).
  std::uint64_t generation() const { return generation_; }
  std::shared_ptr<const Json> snapshot() {
    if (!snapshot_) snapshot_ = std::make_shared<const Json>(store_.values());
    return snapshot_;
  }

 private:
  state::ParameterStore& store_;
  // Main thread only.
  std::unordered_map<std::string, std::uint64_t> applied_;
  std::uint64_t generation_ = 0;
  std::shared_ptr<const Json> snapshot_;
};

// The tokens of the calls the front may cancel (async ones), by call id: added by the thread that reads
// the channel, removed by whichever thread completes the call. Thread-safe.
class CancellableCalls {
 public:
  void add(std::uint64_t id, std::shared_ptr<core::CancelToken> token) {
    std::lock_guard lock(mutex_);
    tokens_.emplace(id, std::move(token));
  }
  void remove(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    tokens_.erase(id);
  }
  // A call already answered is no longer here: its late cancel does nothing.
  void cancel(std::uint64_t id) {
    std::shared_ptr<core::CancelToken> token;
    {
      std::lock_guard lock(mutex_);
      if (auto it = tokens_.find(id); it != tokens_.end()) token = it->second;
    }
    if (token) token->cancel();
  }

 private:
  std::mutex mutex_;
  std::unordered_map<std::uint64_t, std::shared_ptr<core::CancelToken>> tokens_;
};

// Answers of quick calls are held while their executor goes on with queued calls and leave together
// before it waits: one write, and one wake-up of the front, for several answers. An answer is never held
// behind a call that may be slow: before a call of an entrypoint not known to be quick, the held answers
// are written. Quick means its slowest recent call (a maximum that decays by a tenth per call) took less
// than kQuick. Answers completed off an executor thread (async calls, on the event loop) leave at once.
class AnswerBatching {
 public:
  AnswerBatching(workers::Channel& channel, std::size_t entrypoints) : channel_(channel), slowest_(entrypoints) {
    for (auto& s : slowest_) s.store(-1.0, std::memory_order_relaxed);  // unknown: not quick
  }

  // On the executor thread, as it starts a call.
  void before(std::size_t entrypoint) {
    on_executor_ = true;
    started_ = std::chrono::steady_clock::now();
    if (!quick(entrypoint)) channel_.flush();
  }

  // From whichever thread completes the call.
  void answer(std::size_t entrypoint, const std::string& frame) {
    if (!on_executor_) {
      channel_.send(frame);
      return;
    }
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    if (entrypoint < slowest_.size()) {
      // Races between executors only blur the estimate; any of their values is a fair one.
      const double prev = slowest_[entrypoint].load(std::memory_order_relaxed);
      slowest_[entrypoint].store(prev < 0 ? took : std::max(took, prev * 0.9), std::memory_order_relaxed);
    }
    channel_.hold(frame);
  }

  // On the executor thread, before it waits.
  void flush_held() {
    on_executor_ = false;
    channel_.flush();
  }

 private:
  static constexpr double kQuick = 200e-6;

  bool quick(std::size_t entrypoint) const {
    if (entrypoint >= slowest_.size()) return false;
    const double s = slowest_[entrypoint].load(std::memory_order_relaxed);
    return s >= 0 && s < kQuick;
  }

  workers::Channel& channel_;
  std::vector<std::atomic<double>> slowest_;
  static thread_local bool on_executor_;  // between before() and flush_held() on this executor
  static thread_local std::chrono::steady_clock::time_point started_;
};

thread_local bool AnswerBatching::on_executor_ = false;
thread_local std::chrono::steady_clock::time_point AnswerBatching::started_;

}  // namespace

int run_worker(const config::Config& cfg, const std::string& executable) {
  workers::Channel channel(cfg.worker_fd);
  workers::StartedTable started;
  try {
    started = workers::StartedTable::open(workers::kWorkerStartedFd);
  } catch (const std::exception& e) {
    std::cerr << "mvi-runtime: worker: " << e.what() << " (this role is started by mvi-runtime --workers N)\n";
    return core::kExitUsage;
  }
  // Every record goes to the front, which writes the one log.
  logs::LogOptions log_options;
  log_options.level = cfg.log_level;
  log_options.format = cfg.log_format;
  log_options.service_name = cfg.name;
  log_options.forward = [&channel](logs::Record r) { channel.send(FrameType::log, workers::encode_record(r)); };
  logs::init(log_options);

  state::ParameterStore parameters;
  std::vector<Json> declarations;
  python::NativeContext context;
  context.parameters = &parameters;
  context.reserved_segments = api::App::reserved_segments();
  context.service_name = cfg.name;
  context.service_version = cfg.version;
  context.root_path = cfg.root_path;
  context.declarations = &declarations;
  context.notify = [&channel](state::NotificationInput in) {
    channel.send(FrameType::notify, workers::encode_notification(in));
  };
  context.store = [&channel](const std::string& name, Json value) {
    channel.send(FrameType::store, Json{{"name", name}, {"value", std::move(value)}});
  };
  context.parameter_set = [&channel](const std::string& name, const Json& value) {
    channel.send(FrameType::set_parameter, Json{{"name", name}, {"value", value}});
  };

  std::optional<python::PythonHost> host;
  registry::Registry registry;
  try {
    host.emplace(python::HostOptions{std::filesystem::absolute(cfg.service_path).string(),
                                     python::find_package_dir(executable)},
                 context);
    registry = host->load_service();
    host->run_startup();
  } catch (const core::Error& e) {
    channel.send(FrameType::load_failed, Json{{"traceback", e.what()}});
    exit_now(e.exit_code());  // a half-imported module may have started threads: no finalisation
  }
  channel.send(FrameType::hello, Json{{"pid", static_cast<long>(::getpid())},
                                      {"registry", host->exported()},
                                      {"parameters", std::move(declarations)}});
  context.declarations = nullptr;

  AnswerBatching answers(channel, registry.entrypoints.size());
  ParameterMirror mirror(parameters);
  CancellableCalls cancellable;
  workers::BlobMappings mappings;  // the front's memfds of large arrays; used by the one thread handling frames
  // One frame from the front; false for `stop`. On the thread that reads the channel.
  auto handle = [&](workers::Frame& frame, exec::Invoker& invoker) {
    try {
      switch (frame.type) {
        case FrameType::init: {
          const std::uint64_t generation = frame.header.at("generation").get<std::uint64_t>();
          for (const auto& [name, value] : frame.header.at("values").items()) mirror.apply(name, value, generation);
          break;
        }
        case FrameType::parameter:
          mirror.apply(frame.header.at("name").get<std::string>(), frame.header.at("value"),
                       frame.header.at("generation").get<std::uint64_t>());
          break;
        case FrameType::call: {
          std::uint64_t id = 0;
          exec::Call call = workers::decode_call(frame, id, &mappings);
          // Every parameter frame before this call is applied: the call sees these values throughout.
          const std::uint64_t generation = mirror.generation();
          call.parameters = mirror.snapshot();
          const std::size_t entrypoint = call.entrypoint;
          call.on_start = [&started, &answers, id, entrypoint](std::size_t executor) {
            started.mark(executor, id);
            answers.before(entrypoint);
          };
          if (call.cancel) cancellable.add(id, call.cancel);
          const auto read_at = std::chrono::steady_clock::now();
          const bool accepted = invoker.submit(std::move(call), [&answers, &cancellable, id, entrypoint, generation,
                                                                  read_at](exec::CallResult r) {
            cancellable.remove(id);
            const std::chrono::duration<double> took = std::chrono::steady_clock::now() - read_at;
            answers.answer(entrypoint, workers::encode_result({id, generation, took.count()}, r));
          });
          if (!accepted) channel.send(workers::encode_result({id, generation, 0}, exec::CallResult::unavailable()));
          break;
        }
        case FrameType::cancel: cancellable.cancel(frame.header.at("id").get<std::uint64_t>()); break;
        case FrameType::start_jobs: host->start_jobs(); break;
        case FrameType::stop: return false;
        default: logs::runtime().error("worker: unexpected frame type {} from the front", static_cast<int>(frame.type));
      }
    } catch (const std::exception& e) {
      logs::runtime().error("worker: a frame from the front cannot be read: {}", e.what());
    }
    return true;
  };

  python::ExecutorOptions executors;
  executors.threads = cfg.threads;
  // The front bounds the queue; the executors here see at most --threads calls at a time.
  executors.queue_limit = cfg.limits.queue_limit + 1024;
  executors.before_wait = [&answers] { answers.flush_held(); };
  executors.batch_scheduling = false;  // measured: 2 system calls per wait, no gain without an I/O thread
  // How the reading ended: a stop frame, or the front went away.
  std::mutex end_mutex;
  bool ended = false;
  bool stop = false;
  workers::Frame frame;
  // An idle executor reads the frames itself (one at a time: the executors' feed): every frame already
  // read ahead is handled, its calls queued, before they run. No reader thread, no hand-off per call.
  executors.feed = [&](exec::Invoker& self) {
    bool more = true;
    bool stopped = false;
    do {
      if (!channel.receive(frame)) {
        more = false;
      } else if (!handle(frame, self)) {
        more = false;
        stopped = true;
      }
    } while (more && channel.frame_ready());
    if (!more) {
      std::lock_guard lock(end_mutex);
      ended = true;
      stop = stopped;
    }
    return more;
  };
  auto invoker = host->start_executors(registry, std::move(executors));
  // The executors read the channel only while one is idle. Meanwhile this thread watches for the front's
  // end (POLLRDHUP: it closed its side, or was killed), so a worker inside long calls does not outlive it.
  for (;;) {
    {
      std::lock_guard lock(end_mutex);
      if (ended) break;
    }
    pollfd watch{channel.fd(), POLLRDHUP, 0};
    if (::poll(&watch, 1, 100) > 0 && (watch.revents & (POLLRDHUP | POLLHUP | POLLERR))) exit_now(core::kExitOk);
  }
  // The front went away without a stop: nobody will read what this process does; leave now.
  if (!stop) exit_now(core::kExitOk);
  invoker->stop();
  invoker.reset();
  host->finalize();
  return core::kExitOk;
}

}  // namespace mvi::runtime
