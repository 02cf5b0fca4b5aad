// Depth-limited JSON parsing via nlohmann's parser callback, which sees each container start
// with its depth before the container is built.
#include "mvi/api/json_body.hpp"

namespace mvi::api {

namespace {
struct DepthExceeded {};

std::string clean_message(const char* what) {
  // nlohmann prefixes "[json.exception.parse_error.101] "; the reader needs only the reason.
  std::string s = what;
  auto close = s.find("] ");
  return close == std::string::npos ? s : s.substr(close + 2);
}
}  // namespace

JsonParse parse_json_body(std::string_view body, std::size_t max_depth, const nlohmann::json& empty_as) {
  JsonParse out;
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    out.value = empty_as;
    return out;
  }
  auto limit = [max_depth](int depth, nlohmann::json::parse_event_t event, nlohmann::json&) {
    if ((event == nlohmann::json::parse_event_t::object_start ||
         event == nlohmann::json::parse_event_t::array_start) &&
        static_cast<std::size_t>(depth) >= max_depth)
      throw DepthExceeded{};
    return true;
  };
  try {
    out.value = nlohmann::json::parse(body.begin(), body.end(), limit);
  } catch (const DepthExceeded&) {
    out.value.reset();
    out.error = "JSON nesting deeper than " + std::to_string(max_depth) + " levels";
  } catch (const nlohmann::json::exception& e) {
    out.value.reset();
    out.error = "Invalid JSON body: " + clean_message(e.what());
  }
  return out;
}

}  // namespace mvi::api
