// Parsing request bodies into JSON with the nesting limit enforced while parsing (deeply nested
// values overflow the stack when nlohmann copies or dumps them). Pure; thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace mvi::api {

struct JsonParse {
  std::optional<nlohmann::json> value;
  std::string error;  // why parsing failed, for a 400 body
};

// An empty or all-whitespace body parses as `empty_as` (usually {}).
JsonParse parse_json_body(std::string_view body, std::size_t max_depth,
                          const nlohmann::json& empty_as = nlohmann::json::object());

}  // namespace mvi::api
