// The OpenAPI 3.1 document of a loaded service: a pure, deterministic function of what the service
// registered (DESIGN rule 9). nlohmann::ordered_json objects keep keys sorted, so dumps are stable.
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

nlohmann::ordered_json build_document(const registry::Registry& registry, const std::vector<state::Parameter>& parameters,
                              const ApiInfo& info);

// The JSON Schema of one type; named types (Enums, dataclasses, models) are added to
// `components` ("#/components/schemas/<Name>") and referenced.
nlohmann::ordered_json json_schema(const schema::TypeDesc& type, nlohmann::ordered_json& components);

}  // namespace mvi::openapi
