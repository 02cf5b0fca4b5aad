// Internal to src/python: builds the Python argument objects from validated JSON, once, guided by
// the TypeDesc (datetimes, Enums, dataclasses, models, ndarrays from packed buffers, DataFrames).
// GIL required. Python exceptions raised by constructors propagate as error_already_set. Packed
// ndarrays are consumed: their bytes move into the array numpy gets.
#pragma once

#include <pybind11/pybind11.h>

#include <nlohmann/json.hpp>

#include "function_table.hpp"
#include "mvi/schema/type_desc.hpp"

namespace mvi::python {

pybind11::object build_value(const schema::TypeDesc& type, nlohmann::json& value, FunctionTable& table);

}  // namespace mvi::python
