// Internal to src/python: the Python objects C++ keeps after loading (the entrypoint functions and
// a few helpers). Owned by PythonHost; read by executor threads with the GIL held; cleared with
// the GIL held before the interpreter is finalised (pybind11 objects must not outlive it).
#pragma once

#include <vector>

#include <pybind11/pybind11.h>

namespace mvi::python {

struct FunctionTable {
  std::vector<pybind11::object> functions;  // by Registry index
  pybind11::object http_exception;          // mvi.exceptions.HTTPException
  pybind11::object format_exception;        // traceback.format_exception
  pybind11::object run_coroutine;           // asyncio.run, for async def entrypoints
  pybind11::object is_coroutine;            // inspect.iscoroutine

  void clear() {
    functions.clear();
    http_exception = {};
    format_exception = {};
    run_coroutine = {};
    is_coroutine = {};
  }
};

// "Traceback (most recent call last): ..." for the current exception; never throws.
std::string format_traceback(const FunctionTable& table, pybind11::error_already_set& e);

}  // namespace mvi::python
