// Plain-data description of a Python type, built once at load from the analysis done by
// python/mvi/_signature.py. Immutable after load, so it is read by I/O threads without locks.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mvi::schema {

enum class Kind { any, str, int_, float_, bool_, none, list, dict, tuple, union_, literal };

struct TypeDesc {
  Kind kind = Kind::any;
  // list: items[0]; dict: items[0] is the value type; tuple: one per position; union: the options.
  std::vector<TypeDesc> items;
  nlohmann::json literal_values = nlohmann::json::array();  // literal: the allowed values
};

inline TypeDesc scalar(Kind kind) {
  TypeDesc t;
  t.kind = kind;
  return t;
}

// Builds a TypeDesc from its JSON form ({"kind": "list", "items": {...}}, ...).
// Throws core::Error(load_failed) naming `where` for an unknown or malformed description.
TypeDesc parse_type_desc(const nlohmann::json& j, const std::string& where);

// The JSON form again (for --check and tests).
nlohmann::json to_json(const TypeDesc& t);

// A short human name such as "list[int]" for messages.
std::string display_name(const TypeDesc& t);

}  // namespace mvi::schema
