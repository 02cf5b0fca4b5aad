// The _mvi_native embedded module: what python/mvi/_backend.py calls under the runtime to reach
// parameters and notifications owned by C++. Functions run with the GIL held and take only the
// stores' own short locks; they never call back into Python while holding one.
#include <pybind11/embed.h>
#include <pybind11/stl.h>

#include "convert.hpp"
#include "function_table.hpp"
#include "mvi/core/error.hpp"
#include "mvi/logs/log.hpp"
#include "native.hpp"
#include "owned_buffer.hpp"

namespace py = pybind11;

namespace mvi::python {
namespace {

NativeContext g_context;
thread_local const nlohmann::ordered_json* t_parameter_view = nullptr;

// The call the current code belongs to: the executor thread's context, or — on the event loop
// thread, where many calls interleave — the contextvar mvi._runtime_loop sets per task.
std::pair<std::string, std::string> current_call() {
  if (const auto* call = logs::current_call()) return {call->entrypoint, call->request_id};
  py::dict modules = py::module_::import("sys").attr("modules");
  if (!modules.contains("mvi._runtime_loop")) return {};
  py::object value = modules["mvi._runtime_loop"].attr("current_call").attr("get")();
  if (value.is_none()) return {};
  py::tuple pair = value;
  return {py::str(pair[0]), py::str(pair[1])};
}

state::ParameterStore& parameters() {
  if (!g_context.parameters) throw std::logic_error("_mvi_native used before the runtime set its context");
  return *g_context.parameters;
}

std::string first_error(const schema::Errors& errors) {
  return errors.empty() ? std::string("invalid value") : errors.front().msg;
}

}  // namespace

void set_native_context(NativeContext context) { g_context = context; }

ScopedParameterView::ScopedParameterView(const nlohmann::ordered_json* values) : previous_(t_parameter_view) {
  if (values) t_parameter_view = values;
}

ScopedParameterView::~ScopedParameterView() { t_parameter_view = previous_; }

}  // namespace mvi::python

PYBIND11_EMBEDDED_MODULE(_mvi_native, m) {
  using namespace mvi;
  using namespace mvi::python;
  m.doc() = "mvi-runtime's native state (parameters, notifications); present only under the runtime";

  register_owned_buffer(m);

  m.def("add_parameter", [](const std::string& name, py::handle value, py::handle type_desc, bool expose,
                            bool monitor, py::object description, bool disable_http_logs) {
    nlohmann::ordered_json declaration = {{"name", name},
                                          {"value", py_to_json(value)},
                                          {"type", py_to_json(type_desc)},
                                          {"expose", expose},
                                          {"monitor", monitor},
                                          {"description", description.is_none() ? std::string() : std::string(py::str(description))},
                                          {"disable_http_logs", disable_http_logs}};
    try {
      parameters().add(state::parameter_from_declaration(declaration));
      if (g_context.declarations) g_context.declarations->push_back(std::move(declaration));
    } catch (const core::Error& e) {
      throw py::value_error(e.what());
    }
  });

  m.def("get_parameter", [](const std::string& name) -> py::object {
    if (t_parameter_view) {
      auto it = t_parameter_view->find(name);
      if (it == t_parameter_view->end()) throw py::key_error(name);
      return json_to_py(*it);
    }
    auto value = parameters().get(name);
    if (!value) throw py::key_error(name);
    return json_to_py(*value);
  });

  m.def("set_parameter", [](const std::string& name, py::handle value) -> py::object {
    auto result = parameters().set(name, py_to_json(value));
    if (result.status == state::SetStatus::not_found) throw py::key_error(name);
    if (result.status == state::SetStatus::invalid)
      throw py::value_error("parameter '" + name + "': " + first_error(result.errors));
    if (result.status == state::SetStatus::unavailable)
      throw std::runtime_error("parameter '" + name + "' not changed: " + result.message);
    if (g_context.parameter_set) g_context.parameter_set(name, result.value);
    return json_to_py(result.value);
  });

  m.def("get_parameters", []() -> py::object {
    return json_to_py(t_parameter_view ? *t_parameter_view : parameters().values());
  });

  // service.store(**variables): numbers and strings as they are, other values as JSON; a value that
  // cannot be encoded is logged and skipped, never raised into user code.
  m.def("store", [](py::dict variables) {
    if (!g_context.monitor && !g_context.store) return;
    py::object fallback = py::module_::import("mvi._encode").attr("to_jsonable");
    std::vector<std::pair<std::string, nlohmann::ordered_json>> values;
    for (auto kv : variables) {
      std::string name = to_utf8(py::str(kv.first));
      try {
        values.emplace_back(name, py_to_json(kv.second, fallback));
      } catch (py::error_already_set& e) {
        logs::get("mvi.monitor")->warn("store(): '{}' skipped: {}", name, exception_summary(e));
      } catch (const std::exception& e) {
        PyErr_Clear();
        logs::get("mvi.monitor")->warn("store(): '{}' skipped: {}", name, e.what());
      }
    }
    py::gil_scoped_release release;
    for (auto& [name, value] : values)
      if (g_context.store)
        g_context.store(name, std::move(value));
      else
        g_context.monitor->record(name, std::move(value));
  });

  // Python logging records and print() lines (python/mvi/_logging.py) join the runtime's log.
  m.def("log_enabled", [](int levelno) { return logs::enabled(logs::from_python_level(levelno)); });
  m.def("log", [](int levelno, py::str logger, py::str message, py::object traceback) {
    logs::Record r;
    r.level = logs::from_python_level(levelno);
    if (!logs::enabled(r.level)) return;
    // Text Python holds but UTF-8 cannot (lone surrogates) is replaced: logging never raises.
    r.logger = to_utf8(logger);
    r.message = to_utf8(message);
    if (!traceback.is_none()) r.traceback = to_utf8(py::str(traceback));
    if (!logs::current_call()) std::tie(r.entrypoint, r.request_id) = current_call();
    py::gil_scoped_release release;  // formatting and queueing need no Python
    logs::emit(std::move(r));
  });
  m.def("log_level", []() { return std::string(logs::level_name(logs::threshold())); });
  m.def("reserved_segments", []() { return g_context.reserved_segments; });
  m.def("service_info", []() {
    py::dict info;
    info["name"] = g_context.service_name;
    info["version"] = g_context.service_version;
    info["root_path"] = g_context.root_path;
    return info;
  });
  // (entrypoint, request id) of the call the caller runs in, or None: call_service() passes the id on.
  m.def("current_call", []() -> py::object {
    auto [entrypoint, request_id] = current_call();
    if (request_id.empty()) return py::none();
    return py::make_tuple(entrypoint, request_id);
  });
  // os._exit() skips every exit path of the runtime: python/mvi/_logging.py calls this first, so the
  // log says who ended the process and the lines still queued reach stdout.
  m.def("exit_notice", [](int code) {
    logs::Record r;
    r.level = logs::Level::critical;
    r.logger = "mvi.runtime";
    r.message = "the service called os._exit(" + std::to_string(code) + "); the process exits now";
    if (!logs::current_call()) std::tie(r.entrypoint, r.request_id) = current_call();
    py::gil_scoped_release release;
    logs::emit(std::move(r));
    logs::flush(std::chrono::milliseconds(1000));
  });

  m.def("notify", [](const std::string& msg, int severity, bool dashboard, py::object emails, double timer) {
    if (!g_context.notifications && !g_context.notify) return;
    state::NotificationInput in;
    in.msg = msg;
    in.severity = severity;
    in.dashboard = dashboard;
    in.timer = timer;
    if (!emails.is_none())
      for (py::handle e : emails) in.emails.push_back(py::str(e));
    std::tie(in.entrypoint, in.request_id) = current_call();
    // Release the GIL while recording: listeners (log, delivery queues) never need it.
    py::gil_scoped_release release;
    if (g_context.notify)
      g_context.notify(std::move(in));
    else
      g_context.notifications->record(std::move(in));
  });
}
