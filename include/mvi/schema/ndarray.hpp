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

struct PackedArray {
  std::string dtype;                 // numpy dtype name, e.g. "float64"
  std::vector<std::int64_t> shape;
  const nlohmann::json::binary_t* data = nullptr;  // native-endian, C order
};

// The packed form left in place of the JSON array by validate() for an ndarray kind; nullopt for a
// value left as JSON (a non-numeric array numpy must convert itself).
std::optional<PackedArray> packed_array(const nlohmann::json& value);

// The packed form for a buffer built elsewhere (the simdjson fast path).
nlohmann::json make_packed(const std::string& dtype, const std::vector<std::int64_t>& shape, std::vector<std::uint8_t> data);

// Validates `value` against an ndarray TypeDesc and, for numeric dtypes, replaces it with the
// packed form. Reports at most one error (an array's errors are usually all the same).
bool pack_ndarray(const TypeDesc& type, nlohmann::json& value, const nlohmann::json& loc, Errors& errors);

}  // namespace mvi::schema
