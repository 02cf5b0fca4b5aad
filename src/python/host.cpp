// PythonHost: interpreter start-up (PyConfig built deliberately), loading the service through
// mvi._loader, and shutdown. Main thread only. The GIL is held by the main thread from
// construction until start_executors(), and again from finalize().
#include "mvi/python/host.hpp"

#include <pybind11/embed.h>

#include <cstdlib>
#include <filesystem>

#include "convert.hpp"
#include "function_table.hpp"
#include "in_process_invoker.hpp"
#include "mvi/core/error.hpp"
#include "mvi/logs/log.hpp"
#include "native.hpp"

#ifndef MVI_PYTHON_EXECUTABLE
#error "MVI_PYTHON_EXECUTABLE must name the Python the build linked"
#endif
#ifndef MVI_PYTHON_HOME
#error "MVI_PYTHON_HOME must name that Python's prefix"
#endif
#ifndef MVI_SOURCE_PYTHON_DIR
#error "MVI_SOURCE_PYTHON_DIR must name the source tree's python/ folder"
#endif

namespace py = pybind11;
using json = nlohmann::ordered_json;

namespace mvi::python {

namespace {

// `format(type, value, traceback)` (traceback.format_exception's signature) joined into one text.
std::string formatted(py::handle format, py::error_already_set& e) {
  py::list lines = format(e.type(), e.value(), e.trace());
  std::string out;
  for (py::handle line : lines) out += py::str(line).cast<std::string>();
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

}  // namespace

std::string format_traceback(const FunctionTable& table, py::error_already_set& e) {
  try {
    if (table.format_exception) return formatted(table.format_exception, e);
  } catch (const std::exception&) {
    // Formatting itself failed (a broken __str__, say): fall back to pybind11's summary.
  }
  return e.what();
}

// An error while loading or starting the service: the user's frames only (mvi._loader.format_error), falling back
// to the whole traceback when that helper is not there (the failure may be mvi's own import).
std::string format_user_traceback(const FunctionTable& table, py::error_already_set& e) {
  try {
    return formatted(py::module_::import("mvi._loader").attr("format_error"), e);
  } catch (const std::exception&) {
    PyErr_Clear();
  }
  return format_traceback(table, e);
}

std::string exception_summary(py::error_already_set& e) {
  try {
    std::string type = py::str(e.type().attr("__name__"));
    std::string message = py::str(e.value());
    return message.empty() ? type : type + ": " + message;
  } catch (const std::exception&) {
    return "exception";  // a broken __str__: the traceback in the log still says what happened
  }
}

struct PythonHost::Impl {
  HostOptions options;
  FunctionTable table;
  PyThreadState* main_state = nullptr;  // set while the main thread has released the GIL
  bool finalized = false;
  nlohmann::ordered_json exported;  // what load_service() read, as plain data
  bool started_up = false;          // run_startup() succeeded: finalize() runs the shutdown functions
};

namespace {

void check(PyStatus status, PyConfig& config) {
  if (PyStatus_Exception(status)) {
    PyConfig_Clear(&config);
    throw core::Error::internal(std::string("cannot start Python: ") + (status.err_msg ? status.err_msg : "unknown"));
  }
}

void start_interpreter() {
  PyConfig config;
  PyConfig_InitPythonConfig(&config);
  // C++ owns SIGTERM/SIGINT; user code still gets KeyboardInterrupt-free, predictable shutdown.
  config.install_signal_handlers = 0;
  config.parse_argv = 0;
  // Like PYTHONUNBUFFERED: print() output reaches the container log at once.
  config.buffered_stdio = 0;
  // The linked Python's own installation, whatever PYTHONHOME or PATH say; PYTHONPATH is honoured.
  check(PyConfig_SetBytesString(&config, &config.program_name, MVI_PYTHON_EXECUTABLE), config);
  check(PyConfig_SetBytesString(&config, &config.home, MVI_PYTHON_HOME), config);
  py::initialize_interpreter(&config, 0, nullptr, false);
}

}  // namespace

std::string find_package_dir(const std::string& executable_path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path exe = fs::weakly_canonical(fs::path(executable_path), ec);
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv("MVI_PYTHON_PACKAGE_DIR")) candidates.emplace_back(env);
  if (!ec) candidates.push_back(exe.parent_path().parent_path() / "share" / "mvi-runtime" / "python");
  candidates.emplace_back(MVI_SOURCE_PYTHON_DIR);
  for (const auto& c : candidates)
    if (fs::exists(c / "mvi" / "__init__.py", ec)) return c.string();
  return MVI_SOURCE_PYTHON_DIR;
}

PythonHost::PythonHost(HostOptions options, NativeContext context) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  set_native_context(context);
  start_interpreter();
  py::module_ sys = py::module_::import("sys");
  py::list path = sys.attr("path");
  path.insert(0, impl_->options.package_dir);
  // Python logging, warnings and print() join the runtime's log before any user code runs.
  py::module_::import("mvi._logging").attr("install")();
  // An activated virtualenv is honoured on purpose: its packages become importable.
  if (const char* venv = std::getenv("VIRTUAL_ENV")) {
    py::module_ site = py::module_::import("site");
    py::object version = sys.attr("version_info");
    std::string sp = std::string(venv) + "/lib/python" + py::str(version.attr("major")).cast<std::string>() + "." +
                     py::str(version.attr("minor")).cast<std::string>() + "/site-packages";
    // addsitedir appends (and processes .pth files); move what it added to the front so the
    // virtualenv's packages win over Debian's, as they do in the venv's own python.
    std::size_t before = py::len(path);
    site.attr("addsitedir")(sp);
    py::list added = path[py::slice(static_cast<py::ssize_t>(before), static_cast<py::ssize_t>(py::len(path)), 1)];
    path.attr("__delitem__")(py::slice(static_cast<py::ssize_t>(before), static_cast<py::ssize_t>(py::len(path)), 1));
    for (std::size_t i = 0; i < py::len(added); ++i) path.insert(static_cast<py::ssize_t>(1 + i), added[i]);
  }
}

PythonHost::~PythonHost() {
  if (!impl_->finalized) finalize();
}

registry::Registry PythonHost::load_service() {
  auto& t = impl_->table;
  try {
    t.format_exception = py::module_::import("traceback").attr("format_exception");
    t.http_exception = py::module_::import("mvi.exceptions").attr("HTTPException");
    t.schedule_coroutine = py::module_::import("mvi._runtime_loop").attr("schedule");
    t.is_coroutine = py::module_::import("inspect").attr("iscoroutine");
    t.to_jsonable = py::module_::import("mvi._encode").attr("to_jsonable");
    py::dict exported = py::module_::import("mvi._loader").attr("load_service")(impl_->options.service_path);

    // Keep the function objects here; everything else is plain data for the Registry.
    json plain = json::object();
    plain["entrypoints"] = json::array();
    plain["jobs"] = json::array();
    for (const char* section : {"entrypoints", "jobs"}) {
      if (!exported.contains(section)) continue;
      for (py::handle entry : exported[section]) {
        py::dict d = py::reinterpret_borrow<py::dict>(entry);
        json item = json::object();
        for (auto kv : d) {
          std::string key = py::str(kv.first);
          if (key == "function") continue;
          if (key == "params") {
            json params = json::array();
            for (py::handle p : kv.second) {
              json pj = json::object();
              for (auto pkv : py::reinterpret_borrow<py::dict>(p)) {
                std::string pkey = py::str(pkv.first);
                if (pkey == "default") {
                  // Python applies its own default; the JSON form only documents it, when it has one.
                  try {
                    pj[pkey] = py_to_json(pkv.second);
                  } catch (const std::exception&) {
                    PyErr_Clear();
                  }
                  continue;
                }
                pj[pkey] = py_to_json(pkv.second);
              }
              params.push_back(std::move(pj));
            }
            item["params"] = std::move(params);
            continue;
          }
          item[key] = py_to_json(kv.second);
        }
        if (std::string(section) == "entrypoints") t.functions.push_back(d["function"]);
        plain[section].push_back(std::move(item));
      }
    }
    t.jobs = exported.contains("jobs") ? py::object(exported["jobs"]) : py::list();
    t.startup = exported.contains("startup") ? py::object(exported["startup"]) : py::list();
    t.shutdown = exported.contains("shutdown") ? py::object(exported["shutdown"]) : py::list();
    if (exported.contains("classes"))
      for (py::handle cls : exported["classes"]) t.classes.push_back(py::reinterpret_borrow<py::object>(cls));
    registry::Registry registry = registry::parse_registry(plain);
    impl_->exported = std::move(plain);
    // The event loop exists only for services that need it: async entrypoints or periodic jobs.
    bool needs_loop = !registry.jobs.empty();
    for (const auto& ep : registry.entrypoints) needs_loop |= ep.is_async;
    if (needs_loop) py::module_::import("mvi._runtime_loop").attr("start")();
    return registry;
  } catch (py::error_already_set& e) {
    throw core::Error::load_failed(format_user_traceback(t, e));
  } catch (const core::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw core::Error::load_failed(std::string("cannot read what the service registered: ") + e.what());
  }
}

const nlohmann::ordered_json& PythonHost::exported() const { return impl_->exported; }

std::unique_ptr<exec::Invoker> PythonHost::start_executors(const registry::Registry& registry, ExecutorOptions options) {
  auto invoker = std::make_unique<InProcessInvoker>(impl_->table, registry, std::move(options));
  impl_->main_state = PyEval_SaveThread();
  return invoker;
}

void PythonHost::run_startup() {
  auto& t = impl_->table;
  try {
    if (t.startup && py::len(t.startup) > 0) py::module_::import("mvi._lifespan").attr("startup")(t.startup);
    impl_->started_up = true;
  } catch (py::error_already_set& e) {
    throw core::Error::load_failed(format_user_traceback(t, e));
  }
}

void PythonHost::start_jobs() {
  if (!impl_->table.jobs || py::len(impl_->table.jobs) == 0) return;
  if (impl_->main_state) PyEval_RestoreThread(impl_->main_state);
  try {
    py::module_::import("mvi._runtime_loop")
        .attr("start_jobs")(impl_->table.jobs, py::module_::import("mvi.communication").attr("notify"));
  } catch (py::error_already_set& e) {
    logs::runtime().error("cannot start the periodic jobs: {}", format_traceback(impl_->table, e));
  }
  if (impl_->main_state) impl_->main_state = PyEval_SaveThread();
}

void PythonHost::finalize() {
  if (impl_->finalized) return;
  impl_->finalized = true;
  if (impl_->main_state) PyEval_RestoreThread(impl_->main_state);
  impl_->main_state = nullptr;
  // Shutdown functions first, while the event loop still runs (an async one may need it); only after a
  // start-up that ran (not for --check, nor after a failed start).
  if (impl_->started_up && impl_->table.shutdown && py::len(impl_->table.shutdown) > 0) {
    try {
      py::module_::import("mvi._lifespan").attr("shutdown")(impl_->table.shutdown);
    } catch (py::error_already_set& e) {
      logs::runtime().warn("running the on_shutdown functions: {}", exception_summary(e));
    }
  }
  try {
    // Cancels the jobs and async calls still running and joins the loop thread (bounded).
    if (py::module_::import("sys").attr("modules").contains("mvi._runtime_loop"))
      py::module_::import("mvi._runtime_loop").attr("stop")();
  } catch (py::error_already_set& e) {
    logs::runtime().warn("stopping the event loop: {}", exception_summary(e));
  }
  impl_->table.clear();
  try {
    py::finalize_interpreter();
  } catch (const std::exception& e) {
    logs::runtime().warn("Python finalisation reported: {}", e.what());
  }
  set_native_context({});
}

}  // namespace mvi::python
