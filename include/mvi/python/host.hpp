// The one owner of the embedded CPython interpreter (DESIGN rule 5): creates it with signal
// handlers off and Debian's Python home, runs the service file as __main__, hands out the
// in-process executors, and finalises it. Construct and use from the main thread only; the
// executors it creates are the only other threads that take the GIL.
// Ordering: destroy every Invoker from start_executors() before calling finalize().
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "mvi/exec/invoker.hpp"
#include "mvi/metrics/metrics.hpp"
#include "mvi/monitor/lazy_monitor.hpp"
#include "mvi/registry/registry.hpp"
#include "mvi/state/notification_store.hpp"
#include "mvi/state/parameter_store.hpp"

namespace mvi::python {

struct HostOptions {
  std::string service_path;
  std::string package_dir;  // the folder holding the mvi package, put first on sys.path
};

// The C++ state the `mvi` package reaches through the _mvi_native module. Must outlive the host.
struct NativeContext {
  state::ParameterStore* parameters = nullptr;
  state::NotificationStore* notifications = nullptr;
  monitor::LazyMonitor* monitor = nullptr;  // service.store(); may be null
  // A worker process of isolated mode: notify(), store() and a set_parameter() by user code go to the
  // front through these instead of the stores above; add_parameter() declarations are collected as
  // plain data (state::parameter_from_declaration) for the front.
  std::function<void(state::NotificationInput)> notify;
  std::function<void(const std::string&, nlohmann::ordered_json)> store;
  std::function<void(const std::string&, const nlohmann::ordered_json&)> parameter_set;
  std::vector<nlohmann::ordered_json>* declarations = nullptr;
  // First path segments of the built-in routes (api::App::reserved_segments()): the names an entrypoint
  // may not take, handed to the mvi package as _mvi_native.reserved_segments().
  std::vector<std::string> reserved_segments;
  // Who this service is, for user code (_mvi_native.service_info(): mvi.utilities, call_service's caller header).
  std::string service_name, service_version, root_path;
};

struct ExecutorOptions {
  int threads = 1;  // the most executor threads; one takes calls, more wake only while calls block
  std::size_t queue_limit = 1024;
  metrics::Metrics* metrics = nullptr;  // GIL wait/hold histograms; may be null
  // Run by an executor thread before it waits for calls (a worker process writes the answers it held
  // back then, in one write). May be empty.
  std::function<void()> before_wait;
  // Executors wait for calls under SCHED_BATCH so the I/O thread queues every ready request before
  // one runs (in-process mode). Two system calls per wait; a worker process has no I/O thread.
  bool batch_scheduling = true;
  // An idle executor calls this instead of waiting, when no other is inside it. It blocks until input
  // arrives, submits the calls that input brings and returns true; or returns false once no more will
  // come, and the executors then wait as usual. (A worker process reads its frames on an executor: no
  // hand-off between a reader and the executor.) stop() must not be called while it may still block.
  std::function<bool(exec::Invoker& self)> feed;
};

class PythonHost {
 public:
  PythonHost(HostOptions options, NativeContext context);
  ~PythonHost();
  PythonHost(const PythonHost&) = delete;
  PythonHost& operator=(const PythonHost&) = delete;

  // What load_service() read from the service, as plain data (registry::parse_registry's input).
  const nlohmann::ordered_json& exported() const;

  // Runs the service file as __main__ and returns what it registered.
  // Throws core::Error(load_failed) whose message is the Python traceback.
  registry::Registry load_service();

  // Starts the executor threads and releases the GIL held by the calling (main) thread.
  // `registry` (from load_service) must outlive the executors.
  std::unique_ptr<exec::Invoker> start_executors(const registry::Registry& registry, ExecutorOptions options);

  // Runs the service's @service.on_startup functions (after load_service, before the executors start).
  // Throws core::Error(load_failed) with the traceback when one raises. finalize() then runs the
  // on_shutdown functions first.
  void run_startup();

  // Schedules the service's @service.call_every jobs on the event loop; once the service is ready.
  void start_jobs();

  // Re-takes the GIL, drops every Python reference held by C++, and finalises the interpreter.
  void finalize();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The folder holding the `mvi` package: beside an installed binary, else the source tree.
std::string find_package_dir(const std::string& executable_path);

}  // namespace mvi::python
