// JSON ⇄ Python object conversion. Call with the GIL held. Errors are raised as pybind11
// exceptions (TypeError/ValueError) so they surface naturally on either side of the boundary.
#pragma once

#include <pybind11/pybind11.h>

#include <nlohmann/json.hpp>

namespace mvi::python {

pybind11::object json_to_py(const nlohmann::ordered_json& value);

// A Python str as UTF-8; lone surrogates (which UTF-8 cannot carry) become U+FFFD, never an error.
std::string to_utf8(pybind11::handle str);

// Like json.dumps's data model: None, bool, int, float, str, list/tuple/set, dict (str, int,
// float, bool or None keys), plus bytes as base64. NaN and ±Infinity become null; ints beyond 64
// bits become floats. Any other object is passed to `fallback` (mvi._encode.to_jsonable: numpy,
// pandas, datetimes, Enums, dataclasses, models…) and its result converted in turn; without a
// fallback, or if it raises, TypeError "Object of type X is not JSON serializable".
nlohmann::ordered_json py_to_json(pybind11::handle value, pybind11::handle fallback = pybind11::handle());

}  // namespace mvi::python
