// WorkerPool's Invoker side: submit() encodes a call and gives it to the least busy worker with room,
// or queues it; the queue is drained as workers answer (dispatch_locked). The supervising threads
// live in supervise.cpp. One mutex (Impl::mutex) guards the slots and the queue; frames are encoded
// and sent outside it.
#include "mvi/workers/pool.hpp"

#include <signal.h>

#include <algorithm>

#include "mvi/core/error.hpp"
#include "mvi/logs/log.hpp"
#include "mvi/workers/codec.hpp"
#include "mvi/workers/process.hpp"
#include "pool_impl.hpp"

namespace mvi::workers {

void WorkerPool::Impl::send_all(std::vector<Send>& sends) {
  // A send that fails means the worker is gone: its supervisor answers the call when it sees the end.
  for (auto& s : sends) {
    s.link->send(s.frame);
    forward_cancel(s.cancel, s.link, s.id);
  }
  sends.clear();
}

void WorkerPool::Impl::forward_cancel(const std::shared_ptr<core::CancelToken>& token,
                                      const std::shared_ptr<Link>& link, std::uint64_t id) {
  // Only watched calls (async ones) can be cancelled once sent; the hook runs on the thread that
  // cancels (an I/O thread) and only writes a small frame. Cleared when the result arrives.
  if (!token || !token->watch_requested()) return;
  token->on_cancel([weak = std::weak_ptr<Link>(link), id] {
    if (auto l = weak.lock()) l->send(FrameType::cancel, nlohmann::ordered_json{{"id", id}});
  });
}

void WorkerPool::Impl::dispatch_locked(Slot& slot, std::vector<Send>& sends, std::vector<Pending>& dropped) {
  const auto now = Clock::now();
  while (slot.state == State::running && slot.synced && !slot.recycling && slot.in_flight.size() < capacity() &&
         !queue.empty()) {
    Pending p = std::move(queue.front());
    queue.pop_front();
    queued.store(queue.size(), std::memory_order_relaxed);
    if (p.cancel && p.cancel->abandoned(now - p.queued_at)) {
      dropped.push_back(std::move(p));
      continue;
    }
    p.sent_at = now;
    sends.push_back({slot.link, p.frame, p.cancel, p.id});
    const std::uint64_t id = p.id;
    slot.in_flight.emplace(id, std::move(p));
  }
}

void WorkerPool::Impl::assign_jobs_locked(std::vector<std::shared_ptr<Link>>& notify) {
  if (!jobs_wanted || stopping) return;
  for (const auto& s : slots)
    if (s->jobs) return;
  for (auto& s : slots)
    if (s->state == State::running && s->link) {
      s->jobs = true;
      notify.push_back(s->link);
      return;
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

Loaded WorkerPool::start(boost::asio::io_context& io, std::function<void(const Loaded&)> on_loaded) {
  Impl& d = *impl_;
  d.io = &io;
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
  const auto frame = std::make_shared<const OutFrame>(
      OutFrame{encode_frame(FrameType::parameter, Json{{"name", name}, {"value", value}, {"generation", generation}}), {}});
  std::vector<std::shared_ptr<Link>> links;
  {
    std::lock_guard lock(d.mutex);
    for (const auto& s : d.slots)
      if (s->synced && s->link) links.push_back(s->link);
  }
  // Queued ahead of any call submitted after this returns: each worker applies it before such a call.
  for (auto& l : links) l->send(frame);
}

void WorkerPool::set_metrics(metrics::Metrics* metrics) {
  std::lock_guard lock(impl_->mutex);
  impl_->transport = metrics ? &metrics->worker_transport() : nullptr;
}

void WorkerPool::set_async_entrypoints(std::vector<bool> async) {
  std::lock_guard lock(impl_->mutex);
  impl_->async_entrypoints = std::move(async);
}

void WorkerPool::start_jobs() {
  Impl& d = *impl_;
  std::vector<std::shared_ptr<Link>> jobs;
  {
    std::lock_guard lock(d.mutex);
    d.jobs_wanted = true;
    d.assign_jobs_locked(jobs);
  }
  for (auto& l : jobs) l->send(FrameType::start_jobs, Json::object());
}

bool WorkerPool::submit(exec::Call call, exec::Completion done) {
  Impl& d = *impl_;
  Pending p;
  p.id = d.next_id.fetch_add(1, std::memory_order_relaxed);
  // Encoded before the lock, so I/O threads never serialise on it.
  p.frame = std::make_shared<const OutFrame>(encode_call(p.id, call, &d.blobs));
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
  auto link = best->link;
  auto frame = p.frame;
  const std::uint64_t id = p.id;
  auto token = p.cancel;
  best->in_flight.emplace(id, std::move(p));
  lock.unlock();
  link->send(std::move(frame));
  Impl::forward_cancel(token, link, id);
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

std::size_t WorkerPool::awake() const {
  // A running worker has at least its one hot executor; how many more it woke is its own business.
  std::lock_guard lock(impl_->mutex);
  std::size_t n = 0;
  for (const auto& s : impl_->slots) n += s->state == State::running;
  return n;
}

std::size_t WorkerPool::waiting() const {
  std::lock_guard lock(impl_->mutex);
  std::size_t n = impl_->queue.size();
  for (const auto& s : impl_->slots)
    for (const auto& [id, call] : s->in_flight) n += !s->started.started(id);
  return n;
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
    for (const auto& s : impl_->slots) {
      exec::WorkerStatus w;
      w.index = s->index;
      w.pid = s->pid;
      w.state = state_name(s->state);
      w.restarts = s->restarts;
      w.calls = s->calls;
      w.in_flight = s->in_flight.size();
      for (const auto& [id, call] : s->in_flight) w.busy += s->started.started(id);
      w.last_exit = s->last_exit;
      w.jobs = s->jobs;
      w.restarts_by_cause.assign(s->exits.begin(), s->exits.end());
      out.push_back(std::move(w));
    }
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
  std::vector<std::shared_ptr<Link>> links;
  {
    std::lock_guard lock(d.mutex);
    if (d.stopped) return;
    d.stopped = d.stopping = true;
    abandoned.swap(d.queue);
    d.queued.store(0, std::memory_order_relaxed);
    for (auto& s : d.slots) {
      if (s->link) links.push_back(s->link);
      if (s->state == State::running || s->state == State::starting) s->state = State::stopping;
    }
    d.changed.notify_all();
  }
  for (auto& p : abandoned) p.done(exec::CallResult::unavailable());
  // Each worker finishes its running calls, runs the service's shutdown steps and exits; one that
  // does not within the timeout is killed.
  for (auto& l : links) l->send(FrameType::stop, Json::object());
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
