// Plain-data description of a Python type, built once at load from the analysis done by
// python/mvi/_signature.py (contract: docs/dev/type-descriptions.md). Immutable after load, so it
// is read by I/O threads without locks.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mvi::schema {

// `number`: an int or a float, kept as sent (a parameter declared with a numeric default and no type=, SPEC §2.1).
enum class Kind {
  any, str, int_, float_, number, bool_, none, bytes, datetime, date, time, uuid,
  list, dict, tuple, union_, literal, enum_, object, ndarray, dataframe,
};

enum class Container { list, tuple, set, frozenset };
enum class Construct { dataclass, typeddict, pydantic };

struct Field;

struct TypeDesc {
  Kind kind = Kind::any;
  // list: items[0]; dict: items[0] is the value type; tuple: one per position; union: the options.
  std::vector<TypeDesc> items;
  nlohmann::ordered_json values = nlohmann::ordered_json::array();  // literal and enum: the allowed values
  Container container = Container::list;            // list: the Python collection to build
  std::string name;                                 // enum/object: the class name
  int ref = -1;                                     // enum/object: index into the export's classes
  Construct construct = Construct::dataclass;       // object
  std::vector<Field> fields;                        // object
  std::string description;                          // object
  std::string dtype;                                // ndarray: numpy dtype name, "" = inferred
  bool has_shape = false;                           // ndarray
  std::vector<std::int64_t> shape;                  // ndarray: -1 = any length
  bool any_elements = false;                        // ndarray: Daeploy's ArrayInput, any JSON array numpy takes
  std::vector<std::string> columns;                 // dataframe: required columns
  // Whether building the Python value needs more than plain JSON → Python conversion.
  bool needs_build = false;
};

struct Field {
  std::string name;
  TypeDesc type;
  bool required = true;
  // The default as JSON, when it has one that converts (a default_factory has none): OpenAPI shows it, and a
  // result missing the field gets it, as a response model fills it in.
  std::optional<nlohmann::ordered_json> default_value;
};

inline TypeDesc scalar(Kind kind) {
  TypeDesc t;
  t.kind = kind;
  return t;
}

// Builds a TypeDesc from its JSON form ({"kind": "list", "items": {...}}, ...).
// Throws core::Error(load_failed) naming `where` for an unknown or malformed description.
TypeDesc parse_type_desc(const nlohmann::ordered_json& j, const std::string& where);

// The JSON form again (for --check and tests).
nlohmann::ordered_json to_json(const TypeDesc& t);

// A short human name such as "list[int]" for messages.
std::string display_name(const TypeDesc& t);

// What a function's result is checked against, once the encoder made it JSON: `t` with every float (and number)
// also accepting null (NaN and infinities became null), and bytes, datetime, date, time and UUID as plain
// strings (the encoder already wrote base64 and ISO text; checking must not rewrite it). Inside containers and
// objects too; object fields are followed once per class (a recursive model stops at its second appearance).
TypeDesc result_shape(const TypeDesc& t);

}  // namespace mvi::schema
