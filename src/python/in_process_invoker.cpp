// Executor threads: wait for calls without the GIL, take it per call, run the user's functions,
// release it, then complete the calls; the waker thread wakes another executor while calls block.
// Python exceptions are turned into plain CallResult data here and never leave src/python.
#include "in_process_invoker.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "build.hpp"
#include "convert.hpp"
#include "mvi/core/thread.hpp"
#include "mvi/exec/blocked.hpp"
#include "mvi/logs/crash.hpp"
#include "mvi/logs/log.hpp"
#include "native.hpp"

namespace py = pybind11;

namespace mvi::python {
namespace {

// Holds the GIL for a scope with the executor's kept thread state; released on every exit path,
// exceptions included, so a failing call can never leave the GIL taken.
class HeldGil {
 public:
  explicit HeldGil(PyThreadState* state) { PyEval_RestoreThread(state); }
  ~HeldGil() { PyEval_SaveThread(); }
  HeldGil(const HeldGil&) = delete;
  HeldGil& operator=(const HeldGil&) = delete;
};

// The 500 result for a failure of ours (not the user's code), logged with the call's request id.
exec::CallResult internal_failure(const exec::Call& call, const char* what) {
  exec::CallResult r = exec::CallResult::exception(what);
  logs::Record rec;
  rec.level = logs::Level::error;
  rec.logger = "mvi.runtime";
  rec.message = "call to entrypoint '" + call.entrypoint_name + "' failed inside the runtime: " + what;
  rec.entrypoint = call.entrypoint_name;
  rec.request_id = call.request_id;
  logs::emit(std::move(rec));
  return r;
}

std::string header_safe(std::string s) {
  s.erase(std::remove_if(s.begin(), s.end(), [](char c) { return c == '\r' || c == '\n' || c == '\0'; }), s.end());
  return s;
}

}  // namespace

namespace {
// The value at a pydantic error location inside the argument as sent (v1 errors carry no input).
nlohmann::ordered_json value_at(const nlohmann::ordered_json& root, const nlohmann::ordered_json& path) {
  const nlohmann::ordered_json* node = &root;
  for (const auto& key : path) {
    if (key.is_string() && node->is_object() && node->contains(key.get<std::string>())) node = &(*node)[key.get<std::string>()];
    else if (key.is_number_integer() && node->is_array() && key.get<std::size_t>() < node->size()) node = &(*node)[key.get<std::size_t>()];
    else return nullptr;
  }
  return *node;
}
}  // namespace

nlohmann::ordered_json InProcessInvoker::build_errors(const std::string& param, const nlohmann::ordered_json& sent,
                                              py::error_already_set& e) {
  nlohmann::ordered_json detail = nlohmann::ordered_json::array();
  py::object exc = e.value();
  try {
    if (py::hasattr(exc, "errors")) {  // pydantic's ValidationError (v1 and v2)
      for (py::handle err : exc.attr("errors")()) {
        py::dict d = py::reinterpret_borrow<py::dict>(err);
        nlohmann::ordered_json inner = nlohmann::ordered_json::array();
        if (d.contains("loc"))
          for (py::handle part : d["loc"]) inner.push_back(py_to_json(part, table_.to_jsonable));
        nlohmann::ordered_json loc = nlohmann::ordered_json::array({"body", param});
        for (const auto& part : inner) loc.push_back(part);
        detail.push_back({{"type", d.contains("type") ? py::str(d["type"]).cast<std::string>() : "value_error"},
                          {"loc", loc},
                          {"msg", d.contains("msg") ? py::str(d["msg"]).cast<std::string>() : "Invalid value"},
                          {"input", value_at(sent, inner)}});
      }
      if (!detail.empty()) return detail;
    }
  } catch (const std::exception&) {
    detail = nlohmann::ordered_json::array();  // an unexpected errors() shape: fall back to the message
  }
  std::string msg;
  try {
    msg = py::str(exc).cast<std::string>();
  } catch (const std::exception&) {
    msg = "Invalid value";
  }
  detail.push_back({{"type", "value_error"}, {"loc", {"body", param}}, {"msg", msg}, {"input", sent}});
  return detail;
}

InProcessInvoker::InProcessInvoker(FunctionTable& table, const registry::Registry& registry, ExecutorOptions options)
    : table_(table),
      registry_(registry),
      metrics_(options.metrics),
      before_wait_(std::move(options.before_wait)),
      feed_(std::move(options.feed)),
      batch_scheduling_(options.batch_scheduling),
      queue_limit_(options.queue_limit),
      thread_count_(static_cast<std::size_t>(std::max(options.threads, 1))) {
  feed_live_ = static_cast<bool>(feed_);
  slots_.resize(thread_count_);
  for (std::size_t i = 0; i < thread_count_; ++i) threads_.emplace_back([this, i] { run_worker(i); });
  if (thread_count_ > 1) watcher_ = std::thread([this] { watch_blocking(); });
}

InProcessInvoker::~InProcessInvoker() { stop(); }

bool InProcessInvoker::submit(exec::Call call, exec::Completion done) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= queue_limit_) return false;
    queue_.push_back({std::move(call), std::move(done), 0, std::chrono::steady_clock::now()});
    queue_size_.store(queue_.size(), std::memory_order_relaxed);
  }
  cv_.notify_one();
  return true;
}

std::size_t InProcessInvoker::queued() const {
  // Lock-free: the HTTP side asks on every entrypoint request.
  return queue_size_.load(std::memory_order_relaxed);
}

void InProcessInvoker::stop() {
  std::deque<Item> abandoned;
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  asleep_cv_.notify_all();
  watcher_cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
  if (watcher_.joinable()) watcher_.join();
  for (auto& slot : slots_)
    if (slot.stat_fd >= 0) {
      ::close(slot.stat_fd);
      slot.stat_fd = -1;
    }
  {
    std::lock_guard lock(mutex_);
    abandoned.swap(queue_);
    queue_size_.store(0, std::memory_order_relaxed);
  }
  for (auto& item : abandoned)
    if (!item.cancel_awaited) complete(item, exec::CallResult::unavailable());
}

void InProcessInvoker::complete(Item& item, exec::CallResult result) {
  try {
    item.done(std::move(result));
  } catch (const std::exception& e) {
    logs::runtime().error("completing the call to '{}' failed: {} [request_id={}]", item.call.entrypoint_name,
                          e.what(), item.call.request_id);
  } catch (...) {
    logs::runtime().error("completing the call to '{}' failed [request_id={}]", item.call.entrypoint_name,
                          item.call.request_id);
  }
}

std::vector<exec::RunningCall> InProcessInvoker::running() const {
  std::vector<exec::RunningCall> out;
  std::lock_guard lock(slots_mutex_);
  for (const auto& slot : slots_)
    if (slot.active) out.push_back(slot.call);
  return out;
}

void InProcessInvoker::set_slot(std::size_t index, const exec::Call* call) {
  thread_local logs::CrashSlot crash_slot;  // names the call in the last line of a fatal signal
  if (call) crash_slot.enter(call->entrypoint_name, call->request_id);
  else crash_slot.leave();
  std::lock_guard lock(slots_mutex_);
  Slot& slot = slots_[index];
  slot.active = call != nullptr;
  if (call) slot.call = {call->entrypoint_name, call->request_id, std::chrono::steady_clock::now()};
}

void InProcessInvoker::cancel_awaited(std::uint64_t id) {
  auto it = table_.awaited.find(id);
  if (it == table_.awaited.end()) return;  // finished meanwhile
  // concurrent.futures.Future.cancel() of run_coroutine_threadsafe cancels the task on the loop; the
  // done-callback then completes the call as cancelled.
  it->second.attr("cancel")();
}

void InProcessInvoker::run_worker(std::size_t index) {
  core::name_this_thread("mvi-exec");
  // Waiting under SCHED_BATCH lets the I/O thread queue every ready request before this one runs;
  // the user's code runs under the normal policy, which the threads and processes it starts inherit.
  if (batch_scheduling_) core::schedule_as_batch();
  {
    std::lock_guard lock(slots_mutex_);
    pthread_getcpuclockid(pthread_self(), &slots_[index].cpu_clock);
    // This thread's scheduler state, for the waker (a thread that waits for a CPU is not blocked).
    slots_[index].stat_fd = ::open("/proc/thread-self/stat", O_RDONLY | O_CLOEXEC);
  }
  // A thread state registered with PyGILState, kept for the thread's life, so that nested
  // PyGILState_Ensure/pybind11 acquisitions in user or library code find it.
  PyGILState_STATE gil_state = PyGILState_Ensure();
  PyThreadState* thread_state = PyEval_SaveThread();

  bool idle = true;  // under SCHED_BATCH, before_wait done: about to wait
  while (true) {
    std::optional<Item> item;
    {
      std::unique_lock lock(mutex_);
      item = next_item(index, lock, idle);
    }
    if (!item) break;
    // A thread that keeps finding calls queued runs them one after another without waiting in between.
    if (idle && batch_scheduling_) core::schedule_as_normal();
    idle = false;
    run_item(index, *item, thread_state);
    busy_.fetch_sub(1, std::memory_order_relaxed);
  }

  PyEval_RestoreThread(thread_state);
  PyGILState_Release(gil_state);
}

std::optional<InProcessInvoker::Item> InProcessInvoker::next_item(std::size_t index, std::unique_lock<std::mutex>& lock,
                                                                  bool& idle) {
  // How long an extra executor stays awake with nothing to do before it sleeps again.
  constexpr auto kQuietSpell = std::chrono::milliseconds(200);
  for (;;) {
    // Once stopping, queued calls are not started: stop() answers them as unavailable.
    if (stopping_) return std::nullopt;
    if (index < awake_ && !queue_.empty()) {
      Item item = std::move(queue_.front());
      queue_.pop_front();
      queue_size_.store(queue_.size(), std::memory_order_relaxed);
      busy_.fetch_add(1, std::memory_order_relaxed);  // here, under the lock the waker reads it with
      if (watcher_idle_) watcher_cv_.notify_one();
      return item;
    }
    if (!idle) {  // before this thread waits: what it held back leaves, and it yields to the I/O thread
      lock.unlock();
      if (before_wait_) before_wait_();
      if (batch_scheduling_) core::schedule_as_batch();
      idle = true;
      lock.lock();
      continue;
    }
    if (index >= awake_) {
      asleep_cv_.wait(lock);
      continue;
    }
    if (feed_live_ && !feeding_) {  // nobody reads the input now: this thread does, while idle
      feeding_ = true;
      lock.unlock();
      const bool more = feed_(*this);
      lock.lock();
      feeding_ = false;
      feed_live_ = feed_live_ && more;
      continue;
    }
    if (index > 0 && index + 1 == awake_) {
      // The newest extra executor: back to sleep after a quiet spell.
      if (cv_.wait_for(lock, kQuietSpell) == std::cv_status::timeout && queue_.empty() && index + 1 == awake_ &&
          !stopping_) {
        --awake_;
        cv_.notify_all();  // the next newest starts its own quiet spell
      }
      continue;
    }
    cv_.wait(lock);
  }
}

void InProcessInvoker::watch_blocking() {
  core::name_this_thread("mvi-exec-waker");
  // Its looks (every kBlockedAfter while calls wait) must not preempt a computing executor: when every CPU
  // is busy nothing is blocked and the look can wait for the next tick; when a call blocks, a CPU is idle.
  core::schedule_as_batch();
  std::vector<std::chrono::nanoseconds> cpu(thread_count_), last_cpu(thread_count_);
  auto last = std::chrono::steady_clock::now();
  bool fresh = true;  // no baseline yet: the first look only takes one
  // Calls wait in the queue, or in the input nobody reads now. mutex_ held.
  const auto work_waits = [this] { return !queue_.empty() || (feed_live_ && !feeding_); };
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (busy_.load(std::memory_order_relaxed) == 0) {
      // Nothing runs: sleep until an executor takes a call (it notifies only while this flag is set).
      watcher_idle_ = true;
      watcher_cv_.wait(lock);
      watcher_idle_ = false;
      fresh = true;
      continue;
    }
    // Every kBlockedAfter while calls wait; a slower look while none does (a new one is seen at the next).
    watcher_cv_.wait_for(lock, work_waits() ? exec::kBlockedAfter : 5 * exec::kBlockedAfter);
    if (stopping_) break;
    const std::size_t awake = awake_;
    const bool waits = work_waits();
    lock.unlock();
    const auto now = std::chrono::steady_clock::now();
    const bool in_calls = sample_cpu(awake, now, cpu);
    std::chrono::nanoseconds used{0};
    for (std::size_t i = 0; i < awake; ++i) used += cpu[i] - last_cpu[i];
    const bool wake = !fresh && in_calls && waits && awake < thread_count_ &&
                      exec::blocked(now - last, used) && none_runnable(awake);
    last_cpu = cpu;
    last = now;
    fresh = false;
    lock.lock();
    if (wake && awake_ == awake && !stopping_) {
      ++awake_;
      asleep_cv_.notify_all();
      fresh = true;  // the woken thread's CPU time has no baseline yet
    }
  }
}

bool InProcessInvoker::sample_cpu(std::size_t awake, std::chrono::steady_clock::time_point now,
                                  std::vector<std::chrono::nanoseconds>& cpu) {
  bool in_calls = true;
  std::lock_guard lock(slots_mutex_);
  for (std::size_t i = 0; i < awake && i < slots_.size(); ++i) {
    const Slot& slot = slots_[i];
    timespec ts{};
    if (clock_gettime(slot.cpu_clock, &ts) == 0) cpu[i] = std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
    // An awake executor between calls takes the waiting work itself; a call just started may yet compute.
    if (!slot.active || now - slot.call.started < exec::kBlockedAfter) in_calls = false;
  }
  return in_calls;
}

bool InProcessInvoker::none_runnable(std::size_t awake) {
  std::lock_guard lock(slots_mutex_);
  for (std::size_t i = 0; i < awake && i < slots_.size(); ++i) {
    if (slots_[i].stat_fd < 0) continue;  // no /proc: the CPU time alone decides
    char buf[512];
    const ssize_t n = ::pread(slots_[i].stat_fd, buf, sizeof buf - 1, 0);
    if (n <= 0) continue;
    buf[n] = '\0';
    // "pid (comm) S ...": the state follows the last ')'. R: running, or waiting for a CPU.
    const char* close = std::strrchr(buf, ')');
    if (close && close[1] == ' ' && close[2] == 'R') return false;
  }
  return true;
}

void InProcessInvoker::run_item(std::size_t index, Item& item, PyThreadState* thread_state) {
  if (item.cancel_awaited) {
    try {
      HeldGil gil(thread_state);
      try {
        cancel_awaited(item.cancel_awaited);
      } catch (py::error_already_set& e) {
        logs::runtime().warn("cancelling an awaited call failed: {}", e.what());
      }
    } catch (const std::exception& e) {
      logs::runtime().warn("cancelling an awaited call failed: {}", e.what());
    }
    return;
  }
  // The client left (or the deadline answered) while the call waited: Python never sees it. A call
  // that waited long enough for a client to give up is probed (one non-blocking peek at its socket).
  const auto& token = item.call.cancel;
  if (token && token->abandoned(std::chrono::steady_clock::now() - item.queued_at)) {
    complete(item, exec::CallResult::cancelled());
    return;
  }
  set_slot(index, &item.call);
  if (item.call.on_start) item.call.on_start(index);
  auto asked = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point taken;
  std::optional<exec::CallResult> result;
  // No exception leaves this thread: anything a call throws answers that call with a 500.
  try {
    HeldGil gil(thread_state);
    taken = std::chrono::steady_clock::now();
    try {
      result = run_call(item.call, item.done);
    } catch (py::error_already_set& e) {
      result = internal_failure(item.call, e.what());
      e.restore();
      PyErr_Clear();
    }
  } catch (const std::exception& e) {
    result = internal_failure(item.call, e.what());
  } catch (...) {
    result = internal_failure(item.call, "unknown exception");
  }
  if (metrics_) {
    auto released = std::chrono::steady_clock::now();
    metrics_->gil_wait().observe(std::chrono::duration<double>(taken - asked).count());
    metrics_->gil_hold().observe(std::chrono::duration<double>(released - taken).count());
  }
  set_slot(index, nullptr);
  if (result) complete(item, std::move(*result));
}

std::optional<exec::CallResult> InProcessInvoker::run_call(exec::Call& call, exec::Completion& done) {
  logs::ScopedCallContext scope(call.entrypoint_name, call.request_id);
  ScopedParameterView view(call.parameters.get());
  py::dict kwargs;
  const auto& ep = registry_.entrypoints.at(call.entrypoint);
  if (call.notes.size() != ep.params.size()) call.notes.resize(ep.params.size());
  for (std::size_t i = 0; i < ep.params.size(); ++i) {
    const auto& p = ep.params[i];
    auto it = call.args.find(p.name);
    if (it == call.args.end()) continue;
    try {
      kwargs[py::str(p.name)] = build_value(p.type, *it, call.notes[i], table_);
    } catch (py::error_already_set& e) {
      // A constructor refused the value (a pydantic validator, an Enum, numpy): the client's fault.
      return exec::CallResult::invalid(build_errors(p.name, *it, e));
    }
  }
  try {
    py::object result = table_.functions.at(call.entrypoint)(**kwargs);
    if (table_.is_coroutine(result).cast<bool>()) {
      await_on_loop(result, call, done);
      return std::nullopt;
    }
    return exec::CallResult::ok(py_to_json(result, table_.to_jsonable));
  } catch (py::error_already_set& e) {
    return result_from_exception(e, call.entrypoint_name);
  } catch (const std::exception& e) {
    // Conversion of the return value (e.g. a type JSON cannot carry).
    logs::get("mvi.entrypoint")->error("entrypoint '{}' failed: {}", call.entrypoint_name, e.what());
    return exec::CallResult::exception(e.what());
  }
}

void InProcessInvoker::await_on_loop(py::object coroutine, const exec::Call& call, exec::Completion& done) {
  // The loop thread completes the call: the callback converts the result there (with the GIL), then
  // releases the GIL before answering. It holds the table, not the invoker, which may be gone by then.
  auto completion = std::make_shared<exec::Completion>(std::move(done));
  FunctionTable& table = table_;
  std::string name = call.entrypoint_name, request_id = call.request_id;
  const std::uint64_t id = next_awaited_.fetch_add(1, std::memory_order_relaxed);
  std::shared_ptr<core::CancelToken> token = call.cancel;
  py::cpp_function on_done([&table, completion, name, request_id, id, token](py::object future) {
    logs::ScopedCallContext scope(name, request_id);
    table.awaited.erase(id);
    if (token) token->clear_hook();
    exec::CallResult r;
    try {
      if (future.attr("cancelled")().cast<bool>()) {
        // Cancelled because the client left (or the deadline answered); otherwise the loop stopped.
        const bool by_client = token && token->cancelled();
        r = by_client ? exec::CallResult::cancelled() : exec::CallResult::unavailable();
      } else if (py::object exc = future.attr("exception")(); !exc.is_none()) {
        // Re-raise the coroutine's own exception so its traceback starts in user code, not in
        // concurrent.futures.
        py::object type = py::type::of(exc);
        py::object tb = exc.attr("__traceback__");
        PyErr_Restore(type.release().ptr(), exc.release().ptr(), tb.is_none() ? nullptr : tb.release().ptr());
        throw py::error_already_set();
      } else {
        r = exec::CallResult::ok(py_to_json(future.attr("result")(), table.to_jsonable));
      }
    } catch (py::error_already_set& e) {
      r = exception_result(table, e, name);
    } catch (const std::exception& e) {
      r = exec::CallResult::exception(e.what());
      logs::get("mvi.entrypoint")->error("entrypoint '{}' failed: {}", name, e.what());
    }
    py::gil_scoped_release release;
    (*completion)(std::move(r));
  });
  py::object future = table_.schedule_coroutine(coroutine, name, request_id);
  table_.awaited.emplace(id, future);
  if (token) {
    // The hook runs on whichever thread cancels (an I/O thread): it only queues a control item for an
    // executor, which cancels the future with the GIL held. It names the invoker, which outlives it:
    // the done-callback clears it, and at shutdown the server (whose threads cancel) stops first.
    token->on_cancel([this, id] {
      {
        std::lock_guard lock(mutex_);
        if (stopping_) return;
        queue_.push_front(Item{{}, {}, id});
        queue_size_.store(queue_.size(), std::memory_order_relaxed);
      }
      cv_.notify_one();
    });
  }
  future.attr("add_done_callback")(on_done);
}

exec::CallResult InProcessInvoker::result_from_exception(py::error_already_set& e, const std::string& entrypoint) {
  return exception_result(table_, e, entrypoint);
}

exec::CallResult exception_result(FunctionTable& table, py::error_already_set& e, const std::string& entrypoint) {
  if (e.matches(table.http_exception)) {
    py::object exc = e.value();
    exec::RaisedHttpError raised;
    nlohmann::ordered_json detail;
    try {
      raised.status = exc.attr("status_code").cast<int>();
      detail = py_to_json(exc.attr("detail"), table.to_jsonable);
      py::object headers = exc.attr("headers");
      if (PyDict_Check(headers.ptr()))
        for (auto kv : py::reinterpret_borrow<py::dict>(headers))
          raised.headers.emplace_back(header_safe(py::str(kv.first)), header_safe(py::str(kv.second)));
    } catch (const std::exception& detail_error) {
      detail = std::string("HTTPException detail could not be encoded: ") + detail_error.what();
    }
    if (raised.status < 200 || raised.status > 599) {
      logs::get("mvi.entrypoint")->error("entrypoint '{}' raised HTTPException with status {}, answered as 500",
                                         entrypoint, raised.status);
      raised.status = 500;
    }
    return exec::CallResult::http_error(std::move(raised), std::move(detail));
  }
  exec::CallResult r = exec::CallResult::exception(exception_summary(e));
  logs::Record rec;
  rec.level = logs::Level::error;
  rec.logger = "mvi.entrypoint";
  rec.message = "entrypoint '" + entrypoint + "' raised " + r.error;
  rec.traceback = format_traceback(table, e);
  logs::emit(std::move(rec));  // the call context adds the entrypoint and request id
  return r;
}

}  // namespace mvi::python
