// The runtime's one JSON value type: nlohmann's ordered_json, so object keys keep the order they
// arrived in (the wire, a Python dict, a declaration) and leave in that order — a DataFrame's
// columns, a model's fields, /parameters in declaration order (SPEC §5, issue 12). Values; the
// functions here are pure and thread-safe.
//
// ordered_json looks keys up linearly, and its operator[] searches before it inserts: building an
// object of n keys that way costs n²/2 comparisons. Code that builds objects from untrusted or
// large input uses append_member() or parse_json() below, never operator[].
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace mvi {

using Json = nlohmann::ordered_json;

// Appends `key: value` to an object without searching for `key` first. For keys known to be
// distinct, or where a repeat must stay a repeat (json.dumps writes {1: "a", "1": "b"} as two "1"s).
inline void append_member(Json& object, std::string key, Json value) {
  if (!object.is_object()) object = Json::object();
  object.get_ref<Json::object_t&>().emplace_back(std::move(key), std::move(value));
}

// Dumps with invalid UTF-8 replaced, so any value can be written (DESIGN rule 12).
inline std::string dump_json(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

struct JsonParseResult {
  enum class Error { none, invalid, too_deep };
  std::optional<Json> value;
  Error error = Error::none;
  std::string message;       // why it failed ("syntax error while parsing value - ...")
  std::size_t position = 0;  // byte offset of the failure, for invalid
};

// Parses untrusted JSON text in linear time, with containers nested at most `max_depth` deep
// (checked while parsing: nlohmann copies and dumps recursively, so a deeper value could overflow
// the stack later). A repeated key keeps its first position and its last value, as Python's
// json.loads does.
JsonParseResult parse_json(std::string_view text, std::size_t max_depth);

}  // namespace mvi
