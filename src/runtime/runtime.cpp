// Wires the modules together and owns their order of construction and destruction:
// stores → Python host → notification sinks → App → Server; shutdown stops the Server, then the executors,
// then notification delivery, then finalises Python (every Responder and py::object is gone before what it points into).
#include "mvi/runtime/runtime.hpp"

#include "mvi/core/json.hpp"

#include <algorithm>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>
#include <unistd.h>

#include "mvi/api/app.hpp"
#include "mvi/config/config.hpp"
#include "mvi/core/error.hpp"
#include "mvi/core/lifecycle.hpp"
#include "mvi/http/server.hpp"
#include "mvi/logs/crash.hpp"
#include "mvi/logs/log.hpp"
#include "mvi/monitor/lazy_monitor.hpp"
#include "mvi/notify/dispatcher.hpp"
#include "mvi/openapi/openapi.hpp"
#include "mvi/python/host.hpp"
#include "mvi/runtime/signals.hpp"
#include "mvi/core/serial_queue.hpp"
#include "mvi/state/file_state.hpp"
#include "mvi/state/redis_state.hpp"
#include "mvi/state/notification_store.hpp"
#include "mvi/state/parameter_store.hpp"
#include "mvi/workers/pool.hpp"
#include "exit.hpp"
#include "worker_role.hpp"

namespace mvi::runtime {
namespace {

using json = nlohmann::ordered_json;

// Shared with the signal watcher thread, which may outlive run()'s locals.
struct ShutdownControl {
  std::mutex mutex;
  std::condition_variable cv;
  bool requested = false;
  int signo = 0;
  std::atomic<bool> serving{false};
};

std::string self_executable(const char* argv0) {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(argv0) : p.string();
}

std::string url_host(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

void install_state_listeners(state::ParameterStore& parameters, state::NotificationStore& notifications) {
  notifications.add_listener([](const state::Notification& n) {
    static constexpr logs::Level kLevels[] = {logs::Level::info, logs::Level::warning, logs::Level::critical};
    logs::Record r;
    r.level = kLevels[n.input.severity >= 0 && n.input.severity <= 2 ? n.input.severity : 0];
    r.logger = "mvi.notify";
    r.message = fmt::format("notification [{}] {} (counter={})", state::NotificationStore::severity_name(n.input.severity),
                            n.input.msg, n.counter);
    // Explicit, because async calls notify from the event loop thread, where no call context is set.
    r.entrypoint = n.input.entrypoint;
    r.request_id = n.input.request_id;
    logs::emit(std::move(r));
  }, state::NotificationStore::Raised::here);
  parameters.add_listener([&notifications](const std::string& name, const json& value, std::uint64_t generation) {
    std::string shown = dump_json(value);
    logs::runtime().info("parameter '{}' changed to {} (generation {})", name, shown, generation);
    notifications.record({"Parameter " + name + " changed to " + shown, 0, true, {}, 0, {}, {}});
  }, state::ParameterStore::Changes::local);  // a change from another replica is logged where it arrives
}

// Notification sinks besides the log (SPEC §6, docs/notifications.md). The store's listener owns the
// dispatcher, so a late notify() never finds it gone; run() stops it before Python is finalised.
std::shared_ptr<notify::Dispatcher> start_notify_sinks(const notify::NotifyConfigResult& parsed,
                                                       const config::Config& cfg,
                                                       state::NotificationStore& notifications) {
  auto log = logs::get("mvi.notify");
  for (const auto& w : parsed.warnings) log->warn("{}", w);
  if (!parsed.config.any_sink()) return nullptr;
  std::shared_ptr<notify::Dispatcher> dispatcher;
  try {
    dispatcher = std::make_shared<notify::Dispatcher>(parsed.config);
  } catch (const std::exception& e) {
    std::cerr << "mvi-runtime: " << e.what() << "\n";
    exit_now(core::kExitUsage);
  }
  for (const auto& line : notify::describe_sinks(parsed.config)) log->info("notification sink: {}", line);
  dispatcher->start();
  notifications.add_listener([dispatcher, name = cfg.name, version = cfg.version](const state::Notification& n) {
    dispatcher->enqueue(n, name, version);
  }, state::NotificationStore::Raised::here);  // the replica that raised it sends it
  return dispatcher;
}

// Exits the process at `deadline` unless destroyed first, naming what Python was still running.
class ShutdownWatchdog {
 public:
  ShutdownWatchdog(std::chrono::steady_clock::time_point deadline, const exec::Invoker& invoker)
      : invoker_(&invoker), thread_([this, deadline] {
          std::unique_lock lock(mutex_);
          if (cv_.wait_until(lock, deadline, [this] { return done_; })) return;
          std::string running;
          if (invoker_)
            for (const auto& call : invoker_->running())
            running += (running.empty() ? "" : ", ") + ("'" + call.entrypoint + "' [request_id=" + call.request_id + "]");
          logs::runtime().warn("graceful timeout: Python is still running ({}); exiting without finalising it",
                               running.empty() ? "a job, a thread or an interpreter shutdown step" : running);
          exit_now(core::kExitOk);
        }) {}
  // The invoker is about to be destroyed: stop reading it.
  void forget_invoker() {
    std::lock_guard lock(mutex_);
    invoker_ = nullptr;
  }

  ~ShutdownWatchdog() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  const exec::Invoker* invoker_;  // guarded by mutex_
  std::thread thread_;           // last: it starts reading the members above at once
};

// Isolated mode's Invoker: what the workers send lands in this process's stores and log, and every
// parameter change is sent to every worker before the change's POST answers.
std::unique_ptr<exec::Invoker> start_pool_invoker(const config::Config& cfg, int argc, const char* const* argv,
                                                  state::ParameterStore& parameters,
                                                  state::NotificationStore& notifications,
                                                  monitor::LazyMonitor& monitor, core::SerialQueue* state_writes) {
  workers::PoolOptions options;
  options.argv.push_back(self_executable(argv[0]));
  for (int i = 1; i < argc; ++i) options.argv.emplace_back(argv[i]);
  options.workers = cfg.workers;
  options.threads = cfg.threads;
  options.queue_limit = cfg.limits.queue_limit;
  options.restart_backoff_s = cfg.restart_backoff_s;
  options.stop_timeout_s = cfg.graceful_timeout_s;
  options.call_timeout_s = cfg.call_timeout_s;
  options.memory_limit_bytes = cfg.worker_memory_limit;
  options.max_requests = cfg.max_requests;
  options.max_requests_jitter = cfg.max_requests_jitter;
  workers::PoolHooks hooks;
  hooks.log = [](logs::Record r) { logs::emit(std::move(r)); };
  hooks.notify = [&notifications](state::NotificationInput in) { notifications.record(std::move(in)); };
  hooks.store = [&monitor](const std::string& name, json value) { monitor.record(name, std::move(value)); };
  hooks.set_parameter = [&parameters, state_writes](const std::string& name, json value) {
    auto set = [&parameters, name, value = std::move(value)]() mutable {
      auto r = parameters.set(name, std::move(value));
      if (r.status != state::SetStatus::ok)
        logs::runtime().warn("set_parameter('{}') from a worker was refused{}", name,
                             r.message.empty() ? "" : ": " + r.message);
    };
    // Frames are handled on an I/O thread, which must not wait for a state backend.
    if (state_writes) return state_writes->post(std::move(set));
    set();
  };
  hooks.parameters = [&parameters] { return std::pair{parameters.values(), parameters.generation()}; };
  auto pool = std::make_unique<workers::WorkerPool>(std::move(options), std::move(hooks));
  parameters.add_listener([p = pool.get()](const std::string& name, const json& value, std::uint64_t generation) {
    p->broadcast_parameter(name, value, generation);
  });
  return pool;
}

std::string describe_parameters(const state::ParameterStore& parameters) {
  std::string out = "parameters:\n";
  auto list = parameters.list();
  if (list.empty()) out += "  (none)\n";
  for (const auto& p : list)
    out += "  " + p.name + ": " + schema::display_name(p.type) + " = " +
           dump_json(p.value) + (p.expose ? "" : " (read-only)") + "\n";
  return out;
}

}  // namespace

int run(int argc, const char* const* argv) {
  block_signals();
  ignore_broken_pipes();
  auto parsed = config::parse_command_line(argc, argv, config::process_env());
  if (parsed.exit_code) {
    (*parsed.exit_code == 0 ? std::cout : std::cerr) << parsed.output << std::flush;
    return *parsed.exit_code;
  }
  const config::Config cfg = parsed.config;
  logs::LogOptions log_options;
  log_options.level = cfg.log_level;
  log_options.format = cfg.log_format;
  log_options.service_name = cfg.name;
  // --check and --openapi print their result on stdout; the log (and user print()s) go to stderr.
  log_options.to_stderr = cfg.check || cfg.print_openapi;
  logs::init(log_options);
  logs::install_crash_handlers(cfg.log_format == "json");
  if (cfg.worker_fd >= 0) return run_worker(cfg, self_executable(argv[0]));
  // Isolated mode (SPEC §9): Python runs only in worker processes; this process holds no interpreter.
  const bool isolated = cfg.workers > 0 && !cfg.check && !cfg.print_openapi;

  auto control = std::make_shared<ShutdownControl>();
  SignalWatcher watcher([control](int signo, int count) {
    if (count > 1 || !control->serving.load()) {
      // A second signal, or one while user code is still importing: leave at once.
      logs::runtime().warn("received signal {} {}; exiting now", signo,
                           count > 1 ? "again" : "during start-up");
      exit_now(128 + signo);
    }
    std::lock_guard lock(control->mutex);
    control->requested = true;
    control->signo = signo;
    control->cv.notify_all();
  });

  std::error_code ec;
  if (!std::filesystem::is_regular_file(cfg.service_path, ec)) {
    std::cerr << "mvi-runtime: service file not found: " << cfg.service_path << "\n";
    return core::kExitUsage;
  }

  monitor::MonitorOptions monitor_options;
  monitor_options.path = cfg.monitor_db.empty()
                             ? (std::filesystem::current_path(ec) / ".mvi" / (cfg.name + "-monitor.db")).string()
                             : cfg.monitor_db;
  if (!cfg.monitor_limit.empty()) {
    auto retention = monitor::parse_retention(cfg.monitor_limit);
    if (!retention) {
      std::cerr << "mvi-runtime: --monitor-limit / MVI_MONITOR_LIMIT: not a retention such as 10000rows or 90days: "
                << cfg.monitor_limit << "\n";
      return core::kExitUsage;
    }
    monitor_options.retention = *retention;
  }
  monitor::LazyMonitor monitor(monitor_options);

  state::ParameterStore parameters;
  state::NotificationStore notifications(cfg.name, cfg.version);
  install_state_listeners(parameters, notifications);
  parameters.add_listener([&parameters, &monitor](const std::string& name, const json& value, std::uint64_t) {
    if (auto p = parameters.describe(name); p && p->monitor) monitor.record(name, value);
  });
  const auto notify_config = notify::parse_notify_config(config::process_env());
  if (!notify_config.errors.empty()) {
    for (const auto& e : notify_config.errors) std::cerr << "mvi-runtime: " << e << "\n";
    return core::kExitUsage;
  }
  core::Lifecycle lifecycle;
  lifecycle.set(core::LifeState::starting);

  std::optional<python::PythonHost> host;
  if (!isolated) {
    python::NativeContext context;
    context.parameters = &parameters;
    context.notifications = &notifications;
    context.monitor = &monitor;
    context.reserved_segments = api::App::reserved_segments();
  context.service_name = cfg.name;
  context.service_version = cfg.version;
  context.root_path = cfg.root_path;
    try {
      host.emplace(python::HostOptions{std::filesystem::absolute(cfg.service_path).string(),
                                       python::find_package_dir(self_executable(argv[0]))},
                   context);
    } catch (const core::Error& e) {
      std::cerr << "mvi-runtime: " << e.what() << "\n";
      return e.exit_code();
    }
  }

  if (cfg.check || cfg.print_openapi) {
    try {
      auto registry = host->load_service();
      if (cfg.print_openapi)
        std::cout << openapi::build_document(registry, parameters.list(),
                                           {cfg.name, cfg.version, cfg.root_path, !cfg.security.token.empty()},
                                           api::App::documented_routes())
                         .dump(2, ' ', false, json::error_handler_t::replace)
                  << "\n" << std::flush;
      else
        std::cout << "service: " << cfg.name << " " << cfg.version << "\n"
                  << registry::describe(registry) << describe_parameters(parameters) << std::flush;
    } catch (const core::Error& e) {
      std::cerr << "mvi-runtime: cannot load " << cfg.service_path << ":\n" << e.what() << "\n";
      exit_now(e.exit_code());
    }
    host->finalize();
    logs::flush();
    return core::kExitOk;
  }
  // --state file:PATH or redis://: owned here, used by both stores; its changes run on `state_writes`.
  std::shared_ptr<state::StateBackend> state_backend;
  try {
    if (cfg.state.rfind("file:", 0) == 0) {
      state_backend = state::FileState::open(cfg.state.substr(5));
    } else if (cfg.state != "memory") {
      state_backend = std::make_shared<state::RedisState>(
          state::parse_redis_url(cfg.state),
          cfg.state_namespace.empty() ? "mvi:" + cfg.name + ":" + cfg.version : cfg.state_namespace);
    }
    if (state_backend) {
      notifications.attach(state_backend);
      parameters.attach(state_backend, [&notifications](const std::string&, const std::string& message) {
        logs::runtime().warn("{}", message);
        notifications.record({message, 1, true, {}, 0, {}, {}});
      });
    }
  } catch (const core::Error& e) {
    std::cerr << "mvi-runtime: " << e.what() << "\n";
    return e.exit_code();
  } catch (const std::exception& e) {
    std::cerr << "mvi-runtime: --state " << cfg.state << ": cannot read it: " << e.what() << "\n";
    return core::kExitUsage;
  }
  std::optional<core::SerialQueue> state_writes;
  if (state_backend) {
    state_writes.emplace("mvi-state-set");
    logs::runtime().info("parameters and notifications kept in {} (generation {})", state_backend->describe(),
                         parameters.generation());
  }
  std::unique_ptr<exec::Invoker> invoker;
  workers::WorkerPool* pool = nullptr;  // isolated mode; owned by `invoker`
  if (isolated) {
    invoker = start_pool_invoker(cfg, argc, argv, parameters, notifications, monitor,
                                 state_writes ? &*state_writes : nullptr);
    pool = static_cast<workers::WorkerPool*>(invoker.get());
  }
  auto notify_sinks = start_notify_sinks(notify_config, cfg, notifications);

  api::StaticFiles swagger_ui;
  if (auto dir = api::find_swagger_ui_dir(self_executable(argv[0]))) swagger_ui = api::load_swagger_ui(*dir);
  if (swagger_ui.empty())
    logs::runtime().warn("Swagger UI assets not found: /docs is unavailable (run scripts/setup.sh or set "
                         "MVI_SWAGGER_UI_DIR); /openapi.json works");
  std::optional<metrics::Metrics> metrics;  // created once the entrypoints are known; outlives the App
  api::App app({cfg, parameters, notifications, lifecycle, std::move(swagger_ui), &monitor, state_backend.get(),
                state_writes ? &*state_writes : nullptr});
  http::Server server(
      cfg.limits, [&app](http::Request r, http::Responder d) { app.handle(std::move(r), std::move(d)); },
      [&app](const http::Request& head, http::Responder d) { return app.precheck(head, std::move(d)); });
  std::uint16_t port = 0;
  try {
    port = server.listen(cfg.host, cfg.port);
  } catch (const core::Error& e) {
    std::cerr << "mvi-runtime: " << e.what() << "\n";
    exit_now(e.exit_code());
  }
  server.start(cfg.io_threads);
  // Health probes answer while user code imports; "listening on" is printed once requests can be served.
  logs::runtime().info("bound http://{}:{}{}; loading {}", url_host(cfg.host), port, cfg.root_path, cfg.service_path);

  registry::Registry registry;
  try {
    if (pool) {
      auto loaded = pool->start(server.io_context(), [&parameters](const workers::Loaded& l) {
        for (const auto& declaration : l.parameters) parameters.add(state::parameter_from_declaration(declaration));
      });
      registry = registry::parse_registry(loaded.registry);
      std::vector<bool> async;
      for (const auto& ep : registry.entrypoints) async.push_back(ep.is_async);
      pool->set_async_entrypoints(std::move(async));
    } else {
      registry = host->load_service();
      host->run_startup();
    }
  } catch (const core::Error& e) {
    lifecycle.set(core::LifeState::failed);
    logs::runtime().error("cannot load {}; see the traceback on stderr", cfg.service_path);
    std::cerr << "mvi-runtime: cannot load " << cfg.service_path << ":\n" << e.what() << "\n";
    server.stop();
    // Skip interpreter finalisation: a half-imported module may have started threads.
    exit_now(e.exit_code());
  }
  std::vector<std::string> names;
  for (const auto& ep : registry.entrypoints) names.push_back(ep.name);
  metrics.emplace(std::move(names));
  if (pool)
    pool->set_metrics(&*metrics);
  else
    invoker = host->start_executors(registry, {cfg.threads, cfg.limits.queue_limit, &*metrics});
  app.attach_service(registry, *invoker, *metrics);
  if (state_backend)
    // Every parameter is declared now: changes from other replicas (and a resync) can be applied.
    state_backend->watch({[&parameters](const std::string& name, const json& value, std::uint64_t generation) {
                            if (parameters.apply_remote(name, value, generation))
                              logs::runtime().info("parameter '{}' changed to {} on another replica (generation {})",
                                                   name, dump_json(value), generation);
                          },
                          [&notifications](const state::Notification& n) { notifications.merge_remote(n); },
                          [&parameters] { return parameters.known(); },
                          [&notifications] { return notifications.snapshot(); },
                          [&metrics](double seconds) { metrics->state_propagation().observe(seconds); }});
  lifecycle.set(core::LifeState::running);
  control->serving.store(true);
  if (pool) {
    if (!registry.jobs.empty()) pool->start_jobs();
  } else {
    host->start_jobs();
  }
  logs::runtime().info("service '{}' {} ready: {} entrypoint(s), {} parameter(s), {}", cfg.name, cfg.version,
                       registry.entrypoints.size(), parameters.list().size(),
                       pool ? fmt::format("{} worker process(es) of {} executor thread(s)", cfg.workers, cfg.threads)
                            : fmt::format("{} executor thread(s)", cfg.threads));
  logs::runtime().info("listening on http://{}:{}{}", url_host(cfg.host), port, cfg.root_path);

  int signo = 0;
  {
    std::unique_lock lock(control->mutex);
    control->cv.wait(lock, [&] { return control->requested; });
    signo = control->signo;
  }
  lifecycle.set(core::LifeState::stopping);
  double drain = signo == SIGINT ? 0.0 : cfg.drain_delay_s;
  logs::runtime().info("received signal {}: not ready; draining for {:.1f} s, then finishing in-flight requests",
                       signo, drain);
  std::this_thread::sleep_for(std::chrono::duration<double>(drain));
  server.set_closing();
  server.stop_accepting();
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            std::chrono::duration<double>(cfg.graceful_timeout_s));
  while (server.in_flight() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (server.in_flight() > 0) {
    // Python cannot interrupt a running function; waiting longer would break the timeout's promise.
    logs::runtime().warn("graceful timeout: {} request(s) still in flight are abandoned; exiting",
                         server.in_flight());
    exit_now(core::kExitOk);
  }
  // No request is waiting, but Python may still run a call whose client got 504, a job, or a thread
  // that finalisation would join: the rest of the stop is bounded by the same deadline (at least a
  // second for the stores to commit), then the process exits with the graceful stop's code anyway.
  // Nothing may change a parameter any more: the state threads stop before what their changes reach.
  if (state_writes) state_writes->stop();
  if (state_backend) state_backend->stop();
  const auto floor = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  ShutdownWatchdog watchdog(std::max(deadline, floor), *invoker);
  // Isolated mode's worker links run on the server's I/O threads: there the workers stop first.
  if (!pool) server.stop();
  invoker->stop();
  watchdog.forget_invoker();
  invoker.reset();
  server.stop();
  if (notify_sinks) notify_sinks->stop();
  if (host) host->finalize();
  logs::runtime().info("stopped");
  logs::flush();
  return core::kExitOk;  // the watchdog is destroyed (cancelled) on the way out, after the flush
}

}  // namespace mvi::runtime
