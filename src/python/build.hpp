// Internal to src/python: builds the Python argument objects from validated JSON, once, guided by
// the TypeDesc (datetimes, Enums, dataclasses, models, ndarrays from packed buffers, DataFrames).
// GIL required. Python exceptions raised by constructors propagate as error_already_set. Packed
// ndarrays are consumed: their bytes move out of the note into the array numpy gets.
#pragma once

#include <pybind11/pybind11.h>

#include <nlohmann/json.hpp>

#include "function_table.hpp"
#include "mvi/schema/type_desc.hpp"
#include "mvi/schema/validator.hpp"

namespace mvi::python {

// `note` is what validation recorded beside `value` (schema::BuildNote): union choices, packed
// arrays. A note that does not match the value raises std::logic_error (our bug, answered 500).
pybind11::object build_value(const schema::TypeDesc& type, nlohmann::ordered_json& value, schema::BuildNote& note,
                             FunctionTable& table);

}  // namespace mvi::python
