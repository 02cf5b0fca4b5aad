// JSON request bodies: parsed by mvi::parse_json, failures turned into the answer the client gets.
#include "mvi/api/json_body.hpp"

#include "mvi/core/json.hpp"

namespace mvi::api {

JsonParse parse_json_body(std::string_view body, std::size_t max_depth, const Json& empty_as) {
  JsonParse out;
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    out.value = empty_as;
    return out;
  }
  JsonParseResult parsed = parse_json(body, max_depth);
  if (parsed.value) {
    out.value = std::move(parsed.value);
    return out;
  }
  if (parsed.error == JsonParseResult::Error::too_deep) {
    out.error = http::Response::error(400, parsed.message);
    return out;
  }
  // FastAPI's shape for a body that is not JSON: one json_invalid item at the failing position.
  Json item = Json::object();
  item["type"] = "json_invalid";
  item["loc"] = Json::array({"body", parsed.position});
  item["msg"] = "JSON decode error";
  item["input"] = Json::object();
  item["ctx"] = Json{{"error", parsed.message}};
  out.error = http::Response::json(422, Json{{"detail", Json::array({std::move(item)})}});
  return out;
}

}  // namespace mvi::api
