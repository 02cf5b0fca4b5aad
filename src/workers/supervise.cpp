// WorkerPool's supervision: one thread per worker slot spawns the process and waits while its link hands
// the process's frames (results, logs, notifications) to on_frame on the I/O threads; when the link ends
// it reaps the process, answers or re-queues its calls and restarts it after a back-off; the watcher enforces --call-timeout and --worker-memory-limit; recycling drains a worker
// and replaces it. State shared with pool.cpp is in pool_impl.hpp, under Impl::mutex.
#include <signal.h>

#include <algorithm>
#include <cstdio>

#include "mvi/logs/log.hpp"
#include "mvi/workers/codec.hpp"
#include "mvi/workers/process.hpp"
#include "pool_impl.hpp"

namespace mvi::workers {

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
  {
    std::lock_guard lock(mutex);
    slot.pid = spawned.pid;
    slot.started = std::move(started);
    slot.served = 0;
    slot.recycling = false;
    slot.stop_sent = false;
    slot.recycle_reason.clear();
    slot.kill_reason.clear();
    slot.recycle_after = next_recycle_after();
    slot.state = State::starting;
    slot.load_error.clear();
    slot.link_ended = false;
    // Its frames are handled on the I/O threads; this thread waits for the end, then reaps.
    slot.link = Link::open(
        *io, spawned.fd, [this, &slot, pid = spawned.pid](Frame& frame) { on_frame(slot, pid, frame); },
        [this, &slot] {
          std::lock_guard ended(mutex);
          slot.link_ended = true;
          changed.notify_all();
        });
  }
  logs::runtime().info("worker {} started (pid {})", slot.index, spawned.pid);
  {
    std::unique_lock lock(mutex);
    changed.wait(lock, [&] { return slot.link_ended; });
  }
  // The channel ends when the process does (or it closed its end, then it is ending): reap it now.
  ::kill(spawned.pid, SIGKILL);  // a worker that closed its channel but lives on is of no use
  on_end(slot, reap(spawned.pid));
}

void WorkerPool::Impl::on_frame(Slot& slot, pid_t pid, Frame& frame) {
  try {
    switch (frame.type) {
      case FrameType::hello: on_hello(slot, frame); break;
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
        ::kill(pid, SIGKILL);
    }
  } catch (const std::exception& e) {
    logs::runtime().error("worker {} sent a frame that cannot be read ({}); ending it", slot.index, e.what());
    ::kill(pid, SIGKILL);
  }
}

void WorkerPool::Impl::on_hello(Slot& slot, Frame& frame) {
  Json registry = frame.header.at("registry");
  std::unique_lock lock(mutex);
  const auto link = slot.link;
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
    slot.kill_reason = "was refused: it registered a different service than the first worker";
    slot.kill_cause = "refused";
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
    link->send(FrameType::init, Json{{"values", std::move(values)}, {"generation", generation}});
    std::lock_guard relock(mutex);
    slot.synced = true;
  }
  std::vector<Send> sends;
  std::vector<Pending> dropped;
  std::vector<std::shared_ptr<Link>> jobs;
  lock.lock();
  slot.state = State::running;
  const long pid = slot.pid;
  dispatch_locked(slot, sends, dropped);
  assign_jobs_locked(jobs);
  changed.notify_all();
  lock.unlock();
  logs::runtime().info("worker {} (pid {}) is running", slot.index, pid);
  for (auto& l : jobs) l->send(FrameType::start_jobs, Json::object());
  send_all(sends);
  for (auto& p : dropped) p.done(exec::CallResult::cancelled());
}

void WorkerPool::Impl::on_result(Slot& slot, Frame& frame) {
  ResultInfo info;
  exec::CallResult result = decode_result(frame, info);
  const std::uint64_t id = info.id;
  result.generation = info.generation;
  exec::Completion done;
  std::vector<Send> sends;
  std::vector<Pending> dropped;
  std::vector<std::shared_ptr<Link>> stops;
  // Only the supervising thread changes slot.pid, and not while the link that brought this frame is open.
  const std::uint64_t rss = options.memory_limit_bytes && slot.pid ? rss_bytes(slot.pid) : 0;
  {
    std::lock_guard lock(mutex);
    auto it = slot.in_flight.find(id);
    if (it == slot.in_flight.end()) throw std::runtime_error("a result for unknown call " + std::to_string(id));
    done = std::move(it->second.done);
    if (it->second.cancel) it->second.cancel->clear_hook();
    if (transport) {
      const std::chrono::duration<double> round_trip = Clock::now() - it->second.sent_at;
      transport->observe(std::max(0.0, round_trip.count() - info.worker_seconds));
    }
    slot.in_flight.erase(it);
    ++slot.calls;
    ++slot.served;
    if (slot.recycle_after && slot.served >= slot.recycle_after)
      recycle_locked(slot, "after " + std::to_string(slot.served) + " calls (--max-requests)", stops);
    else if (rss && rss * 10 > options.memory_limit_bytes * 9)
      recycle_locked(slot, "at " + std::to_string(rss >> 20) + " MiB, over 90 % of --worker-memory-limit", stops);
    if (slot.recycling && slot.in_flight.empty() && !slot.stop_sent) {
      slot.stop_sent = true;
      stops.push_back(slot.link);
    }
    dispatch_locked(slot, sends, dropped);
  }
  for (auto& l : stops) l->send(FrameType::stop, Json::object());
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
  std::vector<std::shared_ptr<Link>> jobs;
  std::string load_error;
  bool was_jobs = false;
  long pid = 0;
  {
    std::lock_guard lock(mutex);
    pid = slot.pid;
    killed = !slot.kill_reason.empty();
    if (killed) cause_text = slot.kill_reason;
    if (!stopping) {
      const char* key = slot.recycling && slot.in_flight.empty() && !killed ? "recycle"
                        : killed                                            ? slot.kill_cause.c_str()
                        : how.rfind("was killed", 0) == 0                   ? "crash"
                                                                            : "exit";
      ++slot.exits[key];
    }
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
    if (slot.link) slot.link->close();  // ended already: this only releases it
    slot.link = nullptr;
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
  for (auto& l : jobs) l->send(FrameType::start_jobs, Json::object());
  for (auto& [id, call] : lost) {
    if (call.cancel) call.cancel->clear_hook();
    call.done(exec::CallResult::worker_lost(cause_text));
  }
}

void WorkerPool::Impl::recycle_locked(Slot& slot, const std::string& why, std::vector<std::shared_ptr<Link>>& stops) {
  if (slot.recycling || stopping) return;
  // It takes no new call; once the ones it holds are answered it is told to stop, and is replaced.
  slot.recycling = true;
  slot.recycle_reason = why;
  if (slot.in_flight.empty() && slot.link && !slot.stop_sent) {
    slot.stop_sent = true;
    stops.push_back(slot.link);
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
          s->kill_cause = "call_timeout";
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
      slot->kill_cause = "memory_limit";
      kills.push_back(pid);
    }
    // Workers block SIGTERM (the front stops them with a frame); one that overran gets SIGKILL at once.
    for (pid_t pid : kills) ::kill(pid, SIGKILL);
    lock.lock();
  }
}

}  // namespace mvi::workers
