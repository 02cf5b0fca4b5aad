// Validation and lax coercion of JSON values against a TypeDesc, with pydantic v2's lax rules
// ("5" → 5 for int, 5 → 5.0 for float, "true" → true for bool, but 5 is not a str).
// Pure functions of their arguments; thread-safe.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mvi/schema/type_desc.hpp"

namespace mvi::schema {

// One entry of FastAPI's 422 body: {"type", "loc", "msg", "input"}.
struct ValidationError {
  std::string type;
  nlohmann::json loc;  // array of keys and indices
  std::string msg;
  nlohmann::json input;

  nlohmann::json to_json() const;
};

using Errors = std::vector<ValidationError>;

// Coerces `value` in place to `type`. On failure appends one error per wrong leaf, with `loc`
// as the path prefix, and returns false (value then left partially coerced; callers discard it).
bool validate(const TypeDesc& type, nlohmann::json& value, const nlohmann::json& loc, Errors& errors);

// After validation a union value whose chosen option needs building is wrapped as
// {kUnionChoiceKey: index, "value": v}; the builder unwraps it.
inline constexpr const char* kUnionChoiceKey = "__mvi_union__";

// {"detail": [ ... ]} for a 422 response.
nlohmann::json errors_body(const Errors& errors);

}  // namespace mvi::schema
