// What the service declared: entrypoints with their analysed signatures, and periodic jobs.
// Built once after the service file is loaded and never changed, so shared without locks.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "mvi/schema/type_desc.hpp"
#include "mvi/schema/validator.hpp"

namespace mvi::registry {

struct Param {
  std::string name;
  schema::TypeDesc type;
  bool required = true;
  std::optional<nlohmann::ordered_json> default_value;  // when the Python default is JSON-encodable (docs only)
};

struct Entrypoint {
  std::size_t index = 0;  // position in Registry::entrypoints and in the invoker's function table
  std::string name;
  std::string method = "POST";
  int status_code = 200;
  bool monitor = false;
  bool disable_http_logs = false;
  bool is_async = false;
  std::string summary;
  std::string description;
  // FastAPI's route options that mean something here (python-api.md): OpenAPI tags (empty: "entrypoints"),
  // deprecated, hidden from the document, the operation id (empty: the name), the success response's text,
  // and a text media type ("text/plain", "text/html") the str result is sent as instead of JSON.
  std::vector<std::string> tags;
  bool deprecated = false;
  bool include_in_schema = true;
  std::string operation_id;
  std::string response_description;
  std::string media_type;
  // service.app.mount(): the prefix ("/dash") a WSGI/ASGI app is served under; the function takes the request
  // as plain data. Empty for an entrypoint.
  std::string mount;
  std::vector<Param> params;
  schema::TypeDesc returns;
  // What a result is checked against (schema::validate_result): schema::result_shape(returns), the shape the
  // encoder's JSON has, or `any` when the result is not checked (schema::result_is_checked). Set by seal().
  schema::TypeDesc result_check;
  // The arguments as one object type (a TypedDict of the params, in order): what validate_arguments
  // checks a body against, with the validator's own object rules. Set by parse_registry, or by
  // seal() for an Entrypoint built by hand.
  schema::TypeDesc arguments;
};

// Derives `arguments` from `params` and `result_check` from `returns`; call after changing either.
void seal(Entrypoint& ep);

struct Job {
  std::string name;
  double seconds = 0;
  bool wait_first = false;
};

struct Registry {
  std::vector<Entrypoint> entrypoints;
  std::vector<Job> jobs;

  const Entrypoint* find(std::string_view name) const;
};

// From the JSON form of mvi's export (function objects removed). Throws core::Error(load_failed).
Registry parse_registry(const nlohmann::ordered_json& j);

// Human-readable listing for `mvi-runtime --check`.
std::string describe(const Registry& r);

// Validates an entrypoint's arguments object in place: coerces each field, reports every
// missing or wrong field with loc ["body", name, ...] (or ["query", name] for query arguments).
// Unknown fields are dropped, as FastAPI does; the rest keep the function's declaration order.
// Returns false with `errors` filled on failure. With `notes`, it is resized to one BuildNote per
// parameter (in ep.params order) recording what the builder needs; notes already holding packed
// arrays (the fast path) are kept and checked.
bool validate_arguments(const Entrypoint& ep, nlohmann::ordered_json& args, std::string_view source,
                        schema::Errors& errors, std::vector<schema::BuildNote>* notes = nullptr);

}  // namespace mvi::registry
