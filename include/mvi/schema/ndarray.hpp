// numpy.ndarray inputs: nested JSON arrays of numbers are checked and packed into one contiguous
// buffer here, on the I/O thread, so the executor hands numpy a buffer instead of building a
// Python float per element. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mvi/schema/type_desc.hpp"
#include "mvi/schema/validator.hpp"

namespace mvi::schema {

// Validates `value` against an ndarray TypeDesc. With a `note`, a numeric array is packed into
// note->array and `value` becomes null (the buffer replaces the JSON); a note that already holds an
// array (packed by the fast path) is only checked against the declared shape. Reports at most one
// error (an array's errors are usually all the same).
bool pack_ndarray(const TypeDesc& type, nlohmann::ordered_json& value, const nlohmann::ordered_json& loc, Errors& errors,
                  BuildNote* note);

}  // namespace mvi::schema
