// Internal to src/python: the Python objects C++ keeps after loading (the entrypoint functions,
// the classes arguments are built from, and helpers imported once). Owned by PythonHost; used by
// executor threads with the GIL held; cleared with the GIL held before the interpreter is
// finalised (pybind11 objects must not outlive it). Lazily imported members are filled on first
// use, also under the GIL.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include <pybind11/pybind11.h>

namespace mvi::python {

struct FunctionTable {
  std::vector<pybind11::object> functions;  // by Registry index
  std::vector<pybind11::object> classes;    // by TypeDesc::ref (Enums, dataclasses, models)
  pybind11::object http_exception;          // mvi.exceptions.HTTPException
  pybind11::object format_exception;        // traceback.format_exception
  pybind11::object schedule_coroutine;      // mvi._runtime_loop.schedule: async entrypoints on the one loop
  pybind11::object jobs;                    // the exported periodic jobs (a list of dicts)
  pybind11::object startup, shutdown;       // @service.on_startup / on_shutdown functions (lists)
  pybind11::object is_coroutine;            // inspect.iscoroutine
  pybind11::object to_jsonable;             // mvi._encode.to_jsonable: return values C++ does not know
  pybind11::object datetime_type, date_type, time_type, uuid_type;
  pybind11::object numpy;   // imported on first ndarray argument
  pybind11::object pandas;  // imported on first DataFrame argument
  pybind11::object native;  // _mvi_native, imported on first packed ndarray (it defines OwnedBuffer)
  // The concurrent futures of async calls being awaited on the loop, by call id, so that a cancelled
  // call's future can be found (with the GIL) from an id that C++ closures carry instead of the object.
  std::unordered_map<std::uint64_t, pybind11::object> awaited;

  void clear() { *this = FunctionTable{}; }
};

// "Traceback (most recent call last): ..." for the current exception; never throws.
std::string format_traceback(const FunctionTable& table, pybind11::error_already_set& e);

// "ValueError: boom" (type name and message, no traceback); never throws.
std::string exception_summary(pybind11::error_already_set& e);

}  // namespace mvi::python
