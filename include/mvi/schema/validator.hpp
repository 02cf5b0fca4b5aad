// Validation and lax coercion of JSON values against a TypeDesc, with pydantic v2's lax rules
// ("5" → 5 for int, 5 → 5.0 for float, "true" → true for bool, but 5 is not a str).
// Pure functions of their arguments; thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mvi/schema/type_desc.hpp"

namespace mvi::schema {

// One entry of FastAPI's 422 body: {"type", "loc", "msg", "input"}.
struct ValidationError {
  std::string type;
  nlohmann::ordered_json loc;  // array of keys and indices
  std::string msg;
  nlohmann::ordered_json input;

  nlohmann::ordered_json to_json() const;
};

using Errors = std::vector<ValidationError>;

// A numeric array packed into one contiguous buffer (native-endian, C order) for numpy.
struct PackedArray {
  std::string dtype;  // numpy dtype name, e.g. "float64"
  std::vector<std::int64_t> shape;
  std::vector<std::uint8_t> data;
};

// What building the Python value needs beyond the coerced JSON, kept beside it and never inside it
// (a client can send any JSON shape, so no key in the value may mean anything to the builder):
// which option of a union validated, and the packed buffer of a numeric ndarray (whose JSON value
// is then null). It mirrors the value only where the TypeDesc needs_build: children are indexed
// like the TypeDesc's (list/dict: element or entry index in order; tuple: position; object: field
// index in TypeDesc::fields; union: children[0] is the note of the chosen option's value).
struct BuildNote {
  std::size_t choice = 0;              // union: index of the option that validated
  std::shared_ptr<PackedArray> array;  // ndarray: the packed buffer, or null when left as JSON (shared: a copied Call shares it)
  std::vector<BuildNote> children;
};

// Coerces `value` in place to `type`. On failure appends one error per wrong leaf, with `loc`
// as the path prefix, and returns false (value then left partially coerced; callers discard it).
// With a `note`, records what the builder needs (union choices, packed arrays) there; a note that
// already holds a packed array for an ndarray (the simdjson fast path) is only checked for shape.
bool validate(const TypeDesc& type, nlohmann::ordered_json& value, const nlohmann::ordered_json& loc, Errors& errors,
              BuildNote* note = nullptr);

// A function's result against its return annotation, as a FastAPI response model checks it: coerced in place
// with the same lax rules ("10" for an int is 10), keys a model or dataclass does not declare dropped, fields
// missing from a result given their default (objects, and inside lists, tuples, dicts and Optional). Results the
// encoder shapes itself (an ndarray or a DataFrame anywhere in the type) and `any` pass unchecked. On failure
// appends errors under loc ["response", ...] and returns false (the value is then partially coerced).
bool validate_result(const TypeDesc& type, nlohmann::ordered_json& value, Errors& errors);

// Whether validate_result checks anything for `type` (false: it returns true at once).
bool result_is_checked(const TypeDesc& type);

// {"detail": [ ... ]} for a 422 response.
nlohmann::ordered_json errors_body(const Errors& errors);

}  // namespace mvi::schema
