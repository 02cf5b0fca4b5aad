// The OpenAPI 3.1 document of a loaded service: a pure, deterministic function of what the service
// registered (DESIGN rule 9). Objects keep their insertion order: properties and `required` in
// declaration order, paths in route-table order, everything else in a fixed order.
// Thread-safe (no shared state).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mvi/registry/registry.hpp"
#include "mvi/schema/type_desc.hpp"
#include "mvi/state/parameter_store.hpp"

namespace mvi::openapi {

struct ApiInfo {
  std::string title;
  std::string version;
  std::string root_path;     // becomes servers[0].url when set
  bool bearer_auth = false;  // adds the Bearer security scheme
};

// A built-in route to document: where it is, and the name of its operation (builtin_operation).
struct BuiltinRoute {
  std::string method;  // "GET"
  std::string path;
  std::string operation_id;
};

// `builtins` come from the App's route table (api::App::documented_routes()), in its order.
nlohmann::ordered_json build_document(const registry::Registry& registry, const std::vector<state::Parameter>& parameters,
                                      const ApiInfo& info, const std::vector<BuiltinRoute>& builtins);

// The OpenAPI operation object of a documented built-in route; throws std::logic_error for an
// unknown id (a route table naming an operation that does not exist is a bug caught by the tests).
nlohmann::ordered_json builtin_operation(const std::string& operation_id);

// The JSON Schema of one type; named types (Enums, dataclasses, models) are added to
// `components` ("#/components/schemas/<Name>") and referenced.
nlohmann::ordered_json json_schema(const schema::TypeDesc& type, nlohmann::ordered_json& components);

}  // namespace mvi::openapi
