// WorkerPool: one supervising thread per worker slot spawns the process, reads its frames (results,
// logs, notifications) until it ends, reaps it, answers its in-flight calls 502 and restarts it after
// a back-off. One mutex guards the slots and the front queue; frames are encoded and sent outside it.
#include "mvi/workers/pool.hpp"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "mvi/core/error.hpp"
#include "mvi/logs/log.hpp"
#include "mvi/workers/channel.hpp"
#include "mvi/workers/codec.hpp"
#include "mvi/workers/process.hpp"
#include "mvi/workers/started_table.hpp"

namespace mvi::workers {
namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::ordered_json;

enum class State { not_started, starting, running, failed, stopping };

const char* state_name(State s) {
  switch (s) {
    case State::not_started: return "NOT_STARTED";
    case State::starting: return "STARTING";
    case State::running: return "RUNNING";
    case State::failed: return "FAILED";
    case State::stopping: return "STOPPING";
  }
  return "FAILED";
}

// A queued call whose client has gone is dropped before it is sent; one that waited this long is
// probed (a peek at its socket) in case the client left without the server noticing yet.
constexpr auto kProbeAfter = std::chrono::milliseconds(20);

// A worker that ran this long before it ended restarts after the initial back-off again.
constexpr auto kHealthyRun = std::chrono::seconds(30);

// A call on its way to a worker: encoded once (its id is unique for the pool's life), so it can be
// sent again, unchanged, to another worker if the first one dies before starting it.
struct Pending {
  std::uint64_t id = 0;
  std::shared_ptr<const std::string> frame;
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
  std::shared_ptr<Channel> channel;  // shared: senders outside the lock keep it alive
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
  std::uint64_t served = 0;         // calls answered by the current process
  std::uint64_t recycle_after = 0;  // --max-requests plus this process's jitter; 0 = never
  std::thread thread;
};

// A frame to write to a worker, once the lock is released.
struct Send {
  std::shared_ptr<Channel> channel;
  std::shared_ptr<const std::string> frame;
};

}  // namespace

struct WorkerPool::Impl {
  PoolOptions options;
  PoolHooks hooks;
  std::function<void(const Loaded&)> on_loaded;

  mutable std::mutex mutex;
  std::condition_variable changed;  // a slot changed state; stop() was called
  std::vector<std::unique_ptr<Slot>> slots;
  std::deque<Pending> queue;
  std::atomic<std::size_t> queued{0};
  std::atomic<std::uint64_t> next_id{1};
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
  std::uint64_t jitter_state = 0x9e3779b97f4a7c15ull;

  std::vector<std::string> worker_argv() const {
    std::vector<std::string> argv = options.argv;
    argv.push_back("--worker-fd=" + std::to_string(kWorkerChannelFd));
    return argv;
  }

  void supervise(Slot& slot);
  void serve_process(Slot& slot);
  void on_hello(Slot& slot, const std::shared_ptr<Channel>& channel, Frame& frame);
  void on_result(Slot& slot, Frame& frame);
  void on_end(Slot& slot, const std::string& cause);
  void assign_jobs_locked(std::vector<std::shared_ptr<Channel>>& notify);
  void dispatch_locked(Slot& slot, std::vector<Send>& sends, std::vector<Pending>& dropped);
  // Calls a worker may hold: those its executors run and as many again waiting, so it never idles
  // between calls; the rest wait here, where any worker can take them.
  std::size_t capacity() const { return static_cast<std::size_t>(options.threads) * 2; }
  static void send_all(std::vector<Send>& sends);
  void watch();
  void recycle_locked(Slot& slot, const std::string& why, std::vector<std::shared_ptr<Channel>>& stops);
  std::uint64_t next_recycle_after();
};

namespace {

bool client_left(const Pending& p, Clock::time_point now) {
  const auto& token = p.cancel;
  return token && (token->cancelled() || (now - p.queued_at > kProbeAfter && token->client_gone()));
}

}  // namespace

void WorkerPool::Impl::send_all(std::vector<Send>& sends) {
  // A send that fails means the worker is gone: its supervisor answers the call when it sees the end.
  for (auto& s : sends) s.channel->send(*s.frame);
  sends.clear();
}

void WorkerPool::Impl::dispatch_locked(Slot& slot, std::vector<Send>& sends, std::vector<Pending>& dropped) {
  const auto now = Clock::now();
  while (slot.state == State::running && slot.synced && !slot.recycling && slot.in_flight.size() < capacity() &&
         !queue.empty()) {
    Pending p = std::move(queue.front());
    queue.pop_front();
    queued.store(queue.size(), std::memory_order_relaxed);
    if (client_left(p, now)) {
      dropped.push_back(std::move(p));
      continue;
    }
    p.sent_at = now;
    sends.push_back({slot.channel, p.frame});
    const std::uint64_t id = p.id;
    slot.in_flight.emplace(id, std::move(p));
  }
}

void WorkerPool::Impl::assign_jobs_locked(std::vector<std::shared_ptr<Channel>>& notify) {
  if (!jobs_wanted || stopping) return;
  for (const auto& s : slots)
    if (s->jobs) return;
  for (auto& s : slots)
    if (s->state == State::running && s->channel) {
      s->jobs = true;
      notify.push_back(s->channel);
      return;
    }
}

void WorkerPool::Impl::supervise(Slot& slot) {
  double backoff = options.restart_backoff_s;
  for (;;) {
    const auto started = Clock::now();
    serve_process(slot);
    std::unique_lock lock(mutex);
    if (stopping || start_failed || !loaded) return;
    if (slot.recycling) {  // planned: its calls were drained, the replacement starts at once
      ++slot.restarts;
      continue;
    }
    if (Clock::now() - started > kHealthyRun) backoff = options.restart_backoff_s;
    logs::runtime().warn("worker {} {}; restarting it in {:.2f} s", slot.index, slot.last_exit, backoff);
    changed.wait_for(lock, std::chrono::duration<double>(backoff), [&] { return stopping; });
    if (stopping) return;
    backoff = std::min(backoff * 2, options.restart_backoff_max_s);
    ++slot.restarts;
  }
}

void WorkerPool::Impl::serve_process(Slot& slot) {
  Spawned spawned;
  StartedTable started;
  try {
    started = StartedTable::create();
    spawned = spawn_worker(worker_argv(), started.fd());
  } catch (const std::exception& e) {
    std::lock_guard lock(mutex);
    slot.state = State::failed;
    slot.last_exit = std::string("could not start: ") + e.what();
    if (!loaded) {
      start_failed = true;
      start_error = slot.last_exit;
    }
    changed.notify_all();
    return;
  }
  auto channel = std::make_shared<Channel>(spawned.fd);
  {
    std::lock_guard lock(mutex);
    slot.pid = spawned.pid;
    slot.channel = channel;
    slot.started = std::move(started);
    slot.served = 0;
    slot.recycling = false;
    slot.stop_sent = false;
    slot.recycle_reason.clear();
    slot.kill_reason.clear();
    slot.recycle_after = next_recycle_after();
    slot.state = State::starting;
    slot.load_error.clear();
  }
  logs::runtime().info("worker {} started (pid {})", slot.index, spawned.pid);
  Frame frame;
  while (channel->receive(frame)) {
    try {
      switch (frame.type) {
        case FrameType::hello: on_hello(slot, channel, frame); break;
        case FrameType::load_failed: {
          std::lock_guard lock(mutex);
          slot.load_error = frame.header.value("traceback", std::string());
          break;
        }
        case FrameType::result: on_result(slot, frame); break;
        case FrameType::log:
          if (hooks.log) hooks.log(decode_record(frame.header));
          break;
        case FrameType::notify:
          if (hooks.notify) hooks.notify(decode_notification(frame.header));
          break;
        case FrameType::store:
          if (hooks.store) hooks.store(frame.header.at("name").get<std::string>(), frame.header.at("value"));
          break;
        case FrameType::set_parameter:
          if (hooks.set_parameter) hooks.set_parameter(frame.header.at("name").get<std::string>(), frame.header.at("value"));
          break;
        default:
          logs::runtime().error("worker {} sent an unexpected frame (type {}); ending it", slot.index,
                                static_cast<int>(frame.type));
          ::kill(spawned.pid, SIGKILL);
      }
    } catch (const std::exception& e) {
      logs::runtime().error("worker {} sent a frame that cannot be read ({}); ending it", slot.index, e.what());
      ::kill(spawned.pid, SIGKILL);
    }
  }
  // The channel ends when the process does (or it closed its end, then it is ending): reap it now.
  channel->shut();
  ::kill(spawned.pid, SIGKILL);  // a worker that closed its channel but lives on is of no use
  on_end(slot, reap(spawned.pid));
}

void WorkerPool::Impl::on_hello(Slot& slot, const std::shared_ptr<Channel>& channel, Frame& frame) {
  Json registry = frame.header.at("registry");
  std::unique_lock lock(mutex);
  if (!loaded) {
    first.registry = std::move(registry);
    first.parameters = frame.header.at("parameters");
    lock.unlock();
    try {
      if (on_loaded) on_loaded(first);
    } catch (const std::exception& e) {
      lock.lock();
      slot.load_error = e.what();
      lock.unlock();
      ::kill(slot.pid, SIGKILL);
      return;
    }
    lock.lock();
    loaded = true;
  } else if (registry != first.registry) {
    lock.unlock();
    logs::runtime().error("worker {} (pid {}) registered a different service than the first worker (service.py changed "
                          "since start-up?); it is refused and restarted",
                          slot.index, slot.pid);
    ::kill(slot.pid, SIGKILL);
    return;
  }
  lock.unlock();
  {
    // Values and generation read and sent under the lock broadcasts take: no change falls in between.
    std::lock_guard params(parameters_mutex);
    auto [values, generation] = hooks.parameters ? hooks.parameters() : std::pair<Json, std::uint64_t>{Json::object(), 0};
    channel->send(FrameType::init, Json{{"values", std::move(values)}, {"generation", generation}});
    std::lock_guard relock(mutex);
    slot.synced = true;
  }
  std::vector<Send> sends;
  std::vector<Pending> dropped;
  std::vector<std::shared_ptr<Channel>> jobs;
  lock.lock();
  slot.state = State::running;
  const long pid = slot.pid;
  dispatch_locked(slot, sends, dropped);
  assign_jobs_locked(jobs);
  changed.notify_all();
  lock.unlock();
  logs::runtime().info("worker {} (pid {}) is running", slot.index, pid);
  for (auto& ch : jobs) ch->send(FrameType::start_jobs, Json::object());
  send_all(sends);
  for (auto& p : dropped) p.done(exec::CallResult::cancelled());
}

void WorkerPool::Impl::on_result(Slot& slot, Frame& frame) {
  std::uint64_t id = 0, generation = 0;
  exec::CallResult result = decode_result(frame, id, generation);
  result.generation = generation;
  exec::Completion done;
  std::vector<Send> sends;
  std::vector<Pending> dropped;
  std::vector<std::shared_ptr<Channel>> stops;
  // This thread is the one that sets slot.pid: reading it here needs no lock.
  const std::uint64_t rss = options.memory_limit_bytes && slot.pid ? rss_bytes(slot.pid) : 0;
  {
    std::lock_guard lock(mutex);
    auto it = slot.in_flight.find(id);
    if (it == slot.in_flight.end()) throw std::runtime_error("a result for unknown call " + std::to_string(id));
    done = std::move(it->second.done);
    slot.in_flight.erase(it);
    ++slot.calls;
    ++slot.served;
    if (slot.recycle_after && slot.served >= slot.recycle_after)
      recycle_locked(slot, "after " + std::to_string(slot.served) + " calls (--max-requests)", stops);
    else if (rss && rss * 10 > options.memory_limit_bytes * 9)
      recycle_locked(slot, "at " + std::to_string(rss >> 20) + " MiB, over 90 % of --worker-memory-limit", stops);
    if (slot.recycling && slot.in_flight.empty() && !slot.stop_sent) {
      slot.stop_sent = true;
      stops.push_back(slot.channel);
    }
    dispatch_locked(slot, sends, dropped);
  }
  for (auto& ch : stops) ch->send(FrameType::stop, Json::object());
  send_all(sends);  // first: the worker starts its next call while this one's answer is written
  done(std::move(result));
  for (auto& p : dropped) p.done(exec::CallResult::cancelled());
}

void WorkerPool::Impl::on_end(Slot& slot, const std::string& how) {
  std::string cause_text = how;
  bool recycled = false;
  bool killed = false;  // by the watcher, which named the reason (and answered a timed-out call itself)
  std::unordered_map<std::uint64_t, Pending> lost;
  std::vector<Pending> requeued;
  std::vector<Send> sends;
  std::vector<Pending> dropped;
  std::vector<std::shared_ptr<Channel>> jobs;
  std::string load_error;
  bool was_jobs = false;
  long pid = 0;
  {
    std::lock_guard lock(mutex);
    pid = slot.pid;
    killed = !slot.kill_reason.empty();
    if (killed) cause_text = slot.kill_reason;
    // A recycle that went as planned: drained, told to stop, exited.
    recycled = slot.recycling && slot.kill_reason.empty() && slot.in_flight.empty();
    if (recycled) cause_text = "recycled " + slot.recycle_reason;
    lost.swap(slot.in_flight);
    // Calls the worker had not started go back to the front of the queue, in their order, for the
    // others; an async call may have started without a trace in the table, so it is never sent twice.
    if (!stopping) {
      for (auto it = lost.begin(); it != lost.end();) {
        const bool is_async = it->second.entrypoint < async_entrypoints.size() && async_entrypoints[it->second.entrypoint];
        if (!is_async && !slot.started.started(it->first)) {
          requeued.push_back(std::move(it->second));
          it = lost.erase(it);
        } else {
          ++it;
        }
      }
      std::sort(requeued.begin(), requeued.end(), [](const Pending& a, const Pending& b) { return a.id > b.id; });
      for (auto& p : requeued) queue.push_front(std::move(p));
      queued.store(queue.size(), std::memory_order_relaxed);
    }
    slot.started = StartedTable();
    slot.pid = 0;
    slot.channel = nullptr;
    slot.synced = false;
    slot.last_exit = "(pid " + std::to_string(pid) + ") " + cause_text;
    slot.state = stopping || recycled ? State::stopping : State::failed;
    was_jobs = slot.jobs;
    slot.jobs = false;
    load_error = slot.load_error;
    if (!loaded && !start_failed) {
      start_failed = true;
      start_error = load_error.empty() ? "the worker process " + cause_text + " before the service loaded" : load_error;
    }
    assign_jobs_locked(jobs);
    for (auto& other : slots)
      if (other.get() != &slot) dispatch_locked(*other, sends, dropped);
    changed.notify_all();
  }
  send_all(sends);
  for (auto& p : dropped) p.done(exec::CallResult::cancelled());
  if (!requeued.empty())
    logs::runtime().warn("worker {} had not started {} call(s); they go to the other workers", slot.index,
                         requeued.size());
  if (recycled && !stopping) {
    logs::runtime().info("worker {} (pid {}) {}; its replacement starts now", slot.index, pid, cause_text);
  } else if (!stopping) {
    std::string running;
    for (const auto& [id, call] : lost)
      running += (running.empty() ? "" : ", ") + ("'" + call.entrypoint_name + "' [request_id=" + call.request_id + "]");
    logs::runtime().error("worker {} (pid {}) {}{}", slot.index, pid, cause_text,
                          running.empty() ? std::string(killed ? "" : " while idle") : " while running " + running);
    if (!load_error.empty() && loaded) logs::runtime().error("worker {} could not load the service:\n{}", slot.index, load_error);
  }
  if (was_jobs && !jobs.empty()) logs::runtime().info("the periodic jobs move to another worker");
  for (auto& ch : jobs) ch->send(FrameType::start_jobs, Json::object());
  for (auto& [id, call] : lost) call.done(exec::CallResult::worker_lost(cause_text));
}

void WorkerPool::Impl::recycle_locked(Slot& slot, const std::string& why, std::vector<std::shared_ptr<Channel>>& stops) {
  if (slot.recycling || stopping) return;
  // It takes no new call; once the ones it holds are answered it is told to stop, and is replaced.
  slot.recycling = true;
  slot.recycle_reason = why;
  if (slot.in_flight.empty() && slot.channel && !slot.stop_sent) {
    slot.stop_sent = true;
    stops.push_back(slot.channel);
  }
}

std::uint64_t WorkerPool::Impl::next_recycle_after() {
  if (!options.max_requests) return 0;
  if (!options.max_requests_jitter) return options.max_requests;
  // xorshift: workers started together do not all recycle at once (gunicorn's --max-requests-jitter).
  jitter_state ^= jitter_state << 13;
  jitter_state ^= jitter_state >> 7;
  jitter_state ^= jitter_state << 17;
  return options.max_requests + jitter_state % (options.max_requests_jitter + 1);
}

void WorkerPool::Impl::watch() {
  const auto timeout = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options.call_timeout_s));
  std::unique_lock lock(mutex);
  while (!stopping) {
    changed.wait_for(lock, std::chrono::milliseconds(50), [&] { return stopping; });
    if (stopping) break;
    const auto now = Clock::now();
    std::vector<pid_t> kills;
    std::vector<Pending> timed_out;
    std::vector<std::pair<Slot*, pid_t>> measure;
    for (auto& s : slots) {
      if (!s->pid || s->state != State::running || !s->kill_reason.empty()) continue;
      if (options.memory_limit_bytes) measure.emplace_back(s.get(), s->pid);
      if (!options.call_timeout_s) continue;
      for (auto it = s->in_flight.begin(); it != s->in_flight.end();) {
        Pending& p = it->second;
        if (!p.started_seen && s->started.started(it->first)) p.started_seen = now;
        if (p.started_seen && now - *p.started_seen > timeout) {
          s->kill_reason = "was stopped: '" + p.entrypoint_name + "' [request_id=" + p.request_id +
                           "] ran longer than --call-timeout";
          timed_out.push_back(std::move(p));
          it = s->in_flight.erase(it);
        } else {
          ++it;
        }
      }
      if (!s->kill_reason.empty()) kills.push_back(s->pid);
    }
    lock.unlock();
    for (auto& p : timed_out) {
      char limit[32];
      std::snprintf(limit, sizeof limit, "%g", options.call_timeout_s);
      p.done(exec::CallResult::timed_out(std::string("The call ran longer than --call-timeout (") + limit +
                                         " s); its worker process was stopped and is being replaced"));
    }
    for (auto& [slot, pid] : measure) {
      const std::uint64_t rss = rss_bytes(pid);
      if (rss <= options.memory_limit_bytes) continue;
      std::lock_guard relock(mutex);
      if (slot->pid != pid || !slot->kill_reason.empty()) continue;
      slot->kill_reason = "was stopped: it used " + std::to_string(rss >> 20) + " MiB, over --worker-memory-limit (" +
                          std::to_string(options.memory_limit_bytes >> 20) + " MiB)";
      kills.push_back(pid);
    }
    // Workers block SIGTERM (the front stops them with a frame); one that overran gets SIGKILL at once.
    for (pid_t pid : kills) ::kill(pid, SIGKILL);
    lock.lock();
  }
}

WorkerPool::WorkerPool(PoolOptions options, PoolHooks hooks) : impl_(std::make_shared<Impl>()) {
  impl_->options = std::move(options);
  impl_->hooks = std::move(hooks);
  for (int i = 0; i < impl_->options.workers; ++i) {
    auto slot = std::make_unique<Slot>();
    slot->index = i;
    impl_->slots.push_back(std::move(slot));
  }
}

WorkerPool::~WorkerPool() { stop(); }

Loaded WorkerPool::start(std::function<void(const Loaded&)> on_loaded) {
  Impl& d = *impl_;
  d.on_loaded = std::move(on_loaded);
  Slot& first = *d.slots.front();
  first.thread = std::thread([&d, &first] { d.supervise(first); });
  std::unique_lock lock(d.mutex);
  d.changed.wait(lock, [&] { return d.start_failed || first.state == State::running || d.stopping; });
  if (d.start_failed) throw core::Error::load_failed(d.start_error);
  for (std::size_t i = 1; i < d.slots.size(); ++i) {
    Slot& slot = *d.slots[i];
    slot.thread = std::thread([&d, &slot] { d.supervise(slot); });
  }
  if (d.options.call_timeout_s > 0 || d.options.memory_limit_bytes) d.watcher = std::thread([&d] { d.watch(); });
  return d.first;
}

void WorkerPool::broadcast_parameter(const std::string& name, const nlohmann::ordered_json& value,
                                     std::uint64_t generation) {
  Impl& d = *impl_;
  std::lock_guard params(d.parameters_mutex);
  const std::string frame = encode_frame(FrameType::parameter, Json{{"name", name}, {"value", value}, {"generation", generation}});
  std::vector<std::shared_ptr<Channel>> channels;
  {
    std::lock_guard lock(d.mutex);
    for (const auto& s : d.slots)
      if (s->synced && s->channel) channels.push_back(s->channel);
  }
  for (auto& ch : channels) ch->send(frame);
}

void WorkerPool::set_async_entrypoints(std::vector<bool> async) {
  std::lock_guard lock(impl_->mutex);
  impl_->async_entrypoints = std::move(async);
}

void WorkerPool::start_jobs() {
  Impl& d = *impl_;
  std::vector<std::shared_ptr<Channel>> jobs;
  {
    std::lock_guard lock(d.mutex);
    d.jobs_wanted = true;
    d.assign_jobs_locked(jobs);
  }
  for (auto& ch : jobs) ch->send(FrameType::start_jobs, Json::object());
}

bool WorkerPool::submit(exec::Call call, exec::Completion done) {
  Impl& d = *impl_;
  Pending p;
  p.id = d.next_id.fetch_add(1, std::memory_order_relaxed);
  // Encoded before the lock, so I/O threads never serialise on it.
  p.frame = std::make_shared<const std::string>(encode_call(p.id, call));
  p.entrypoint = call.entrypoint;
  p.entrypoint_name = std::move(call.entrypoint_name);
  p.request_id = std::move(call.request_id);
  p.cancel = std::move(call.cancel);
  p.done = std::move(done);
  p.queued_at = Clock::now();
  std::unique_lock lock(d.mutex);
  if (d.stopping) {
    lock.unlock();
    p.done(exec::CallResult::unavailable());
    return true;
  }
  // The least busy running worker with room takes it; otherwise it waits in the front queue.
  Slot* best = nullptr;
  if (d.queue.empty())
    for (auto& s : d.slots)
      if (s->state == State::running && s->synced && !s->recycling && s->in_flight.size() < d.capacity() &&
          (!best || s->in_flight.size() < best->in_flight.size()))
        best = s.get();
  if (!best) {
    if (d.queue.size() >= d.options.queue_limit) return false;
    d.queue.push_back(std::move(p));
    d.queued.store(d.queue.size(), std::memory_order_relaxed);
    return true;
  }
  p.sent_at = p.queued_at;
  auto channel = best->channel;
  auto frame = p.frame;
  const std::uint64_t id = p.id;
  best->in_flight.emplace(id, std::move(p));
  lock.unlock();
  channel->send(*frame);
  return true;
}

std::size_t WorkerPool::queued() const { return impl_->queued.load(std::memory_order_relaxed); }

std::size_t WorkerPool::busy() const {
  std::lock_guard lock(impl_->mutex);
  std::size_t n = 0;
  for (const auto& s : impl_->slots)
    for (const auto& [id, call] : s->in_flight) n += s->started.started(id);
  return n;
}

std::size_t WorkerPool::executors() const {
  return impl_->slots.size() * static_cast<std::size_t>(impl_->options.threads);
}

std::vector<exec::RunningCall> WorkerPool::running() const {
  std::lock_guard lock(impl_->mutex);
  std::vector<exec::RunningCall> out;
  for (const auto& s : impl_->slots)
    for (const auto& [id, call] : s->in_flight)
      if (s->started.started(id)) out.push_back({call.entrypoint_name, call.request_id, call.sent_at});
  return out;
}

std::vector<exec::WorkerStatus> WorkerPool::workers() const {
  std::vector<exec::WorkerStatus> out;
  {
    std::lock_guard lock(impl_->mutex);
    for (const auto& s : impl_->slots)
      out.push_back({s->index, s->pid, state_name(s->state), s->restarts, s->calls, s->in_flight.size(), 0, s->last_exit,
                     s->jobs});
  }
  for (auto& w : out)
    if (w.pid) w.rss_bytes = rss_bytes(static_cast<pid_t>(w.pid));
  return out;
}

bool WorkerPool::serving() const {
  std::lock_guard lock(impl_->mutex);
  for (const auto& s : impl_->slots)
    if (s->state == State::running) return true;
  return false;
}

void WorkerPool::stop() {
  Impl& d = *impl_;
  std::deque<Pending> abandoned;
  std::vector<std::shared_ptr<Channel>> channels;
  {
    std::lock_guard lock(d.mutex);
    if (d.stopped) return;
    d.stopped = d.stopping = true;
    abandoned.swap(d.queue);
    d.queued.store(0, std::memory_order_relaxed);
    for (auto& s : d.slots) {
      if (s->channel) channels.push_back(s->channel);
      if (s->state == State::running || s->state == State::starting) s->state = State::stopping;
    }
    d.changed.notify_all();
  }
  for (auto& p : abandoned) p.done(exec::CallResult::unavailable());
  // Each worker finishes its running calls, runs the service's shutdown steps and exits; one that
  // does not within the timeout is killed.
  for (auto& ch : channels) ch->send(FrameType::stop, Json::object());
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(d.options.stop_timeout_s));
  {
    std::unique_lock lock(d.mutex);
    d.changed.wait_until(lock, deadline, [&] {
      return std::all_of(d.slots.begin(), d.slots.end(), [](const auto& s) { return s->pid == 0; });
    });
    for (auto& s : d.slots)
      if (s->pid) {
        logs::runtime().warn("worker {} (pid {}) did not stop within {:.1f} s; killing it", s->index, s->pid,
                             d.options.stop_timeout_s);
        ::kill(s->pid, SIGKILL);
      }
  }
  for (auto& s : d.slots)
    if (s->thread.joinable()) s->thread.join();
  if (d.watcher.joinable()) d.watcher.join();
}

}  // namespace mvi::workers
