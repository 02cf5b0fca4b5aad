// Request bodies as JSON: an empty body stands for a default, invalid JSON is the client's 422
// (FastAPI's json_invalid) and nesting past the limit a 400. Pure; thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "mvi/http/message.hpp"

namespace mvi::api {

struct JsonParse {
  std::optional<nlohmann::ordered_json> value;
  std::optional<http::Response> error;  // set when value is not: the answer to send
};

// An empty or all-whitespace body parses as `empty_as` (usually {}). Parsing is linear in the
// body's size and checks the nesting limit while it reads (mvi::parse_json).
JsonParse parse_json_body(std::string_view body, std::size_t max_depth,
                          const nlohmann::ordered_json& empty_as = nlohmann::ordered_json::object());

}  // namespace mvi::api
