// OpenAPI 3.1 generation: JSON Schema per TypeDesc, one operation per entrypoint, the parameter
// routes typed per parameter, and the built-in routes. Pure functions; thread-safe.
#include "mvi/openapi/openapi.hpp"

#include <cctype>
#include <stdexcept>

#include <cctype>

namespace mvi::openapi {

using json = nlohmann::ordered_json;
using schema::Kind;
using schema::TypeDesc;

namespace {

json ref_to(const std::string& name) { return {{"$ref", "#/components/schemas/" + name}}; }

// Two different classes may share a __name__; the second gets its ref appended.
std::string component_name(const TypeDesc& t, const json& components) {
  std::string name = t.name.empty() ? (t.kind == Kind::enum_ ? "Enum" : "Object") : t.name;
  if (!components.contains(name)) return name;
  const json& existing = components[name];
  if (existing.value("x-mvi-ref", -2) == t.ref) return name;
  return name + "_" + std::to_string(t.ref);
}

json scalar_type_of(const json& values) {
  std::string type;
  for (const auto& v : values) {
    std::string t = v.is_string() ? "string" : v.is_boolean() ? "boolean" : v.is_number_integer() ? "integer"
                    : v.is_number() ? "number" : v.is_null() ? "null" : "";
    if (type.empty()) type = t;
    else if (type != t) return nullptr;
  }
  return type.empty() ? json(nullptr) : json(type);
}

json ndarray_leaf(const std::string& dtype) {
  if (dtype.rfind("int", 0) == 0 || dtype.rfind("uint", 0) == 0) return {{"type", "integer"}};
  if (dtype == "bool") return {{"type", "boolean"}};
  if (dtype.rfind("float", 0) == 0 || dtype == "double") return {{"type", "number"}};
  return json::object();
}

std::string title_case(const std::string& name) {
  std::string out;
  bool up = true;
  for (char c : name) {
    if (c == '_') {
      out += ' ';
      up = true;
    } else {
      out += up ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
      up = false;
    }
  }
  return out;
}

json error_responses() {
  return {
      {"422",
       {{"description", "Validation Error"},
        {"content", {{"application/json", {{"schema", ref_to("HTTPValidationError")}}}}}}},
      {"500",
       {{"description", "Internal Server Error (the traceback is in the service log)"},
        {"content", {{"application/json", {{"schema", ref_to("ServerError")}}}}}}},
      {"503",
       {{"description", "Not ready, shutting down, or too many calls queued (see Retry-After)"},
        {"content", {{"application/json", {{"schema", ref_to("HTTPError")}}}}}}},
  };
}

json json_response(const std::string& description, const json& schema) {
  return {{"description", description}, {"content", {{"application/json", {{"schema", schema}}}}}};
}

void add_common_components(json& components) {
  json loc_item = {{"anyOf", json::array({json{{"type", "string"}}, json{{"type", "integer"}}})}};
  json properties = json::object();
  properties["loc"] = {{"title", "Location"}, {"type", "array"}, {"items", loc_item}};
  properties["msg"] = {{"title", "Message"}, {"type", "string"}};
  properties["type"] = {{"title", "Error Type"}, {"type", "string"}};
  properties["input"] = {{"title", "Input"}};
  components["ValidationError"] = {{"title", "ValidationError"},
                                   {"type", "object"},
                                   {"required", json::array({"loc", "msg", "type"})},
                                   {"properties", properties}};
  components["HTTPValidationError"] = {
      {"title", "HTTPValidationError"},
      {"type", "object"},
      {"properties", {{"detail", {{"title", "Detail"}, {"type", "array"}, {"items", ref_to("ValidationError")}}}}}};
  components["HTTPError"] = {{"title", "HTTPError"},
                             {"type", "object"},
                             {"properties", {{"detail", {{"title", "Detail"}}}}}};
  components["ServerError"] = {
      {"title", "ServerError"},
      {"type", "object"},
      {"properties", {{"detail", {{"type", "string"}}}, {"request_id", {{"type", "string"}}}}}};
  components["Notification"] = {
      {"title", "Notification"},
      {"type", "object"},
      {"properties",
       {{"id", {{"type", "integer"}}},
        {"service_name", {{"type", "string"}}},
        {"service_version", {{"type", "string"}}},
        {"msg", {{"type", "string"}}},
        {"severity", {{"type", "integer"}, {"enum", {0, 1, 2}}, {"description", "0 INFO, 1 WARNING, 2 CRITICAL"}}},
        {"severity_name", {{"type", "string"}}},
        {"dashboard", {{"type", "boolean"}}},
        {"emails", {{"type", "array"}, {"items", {{"type", "string"}}}}},
        {"timer", {{"type", "number"}}},
        {"timestamp", {{"type", "number"}, {"description", "Unix seconds of the latest occurrence"}}},
        {"counter", {{"type", "integer"}}},
        {"entrypoint", {{"type", json::array({"string", "null"})}}},
        {"request_id", {{"type", json::array({"string", "null"})}}}}}};
}

}  // namespace

json builtin_operation(const std::string& id) {
  json plain_ok = json_response("OK", {{"type", "object"}});
  if (id == "health_live")
    return {{"tags", {"health"}},
            {"summary", "Liveness: the process answers"},
            {"operationId", id},
            {"security", json::array()},
            {"responses", {{"200", plain_ok}}}};
  if (id == "health_ready")
    return {{"tags", {"health"}},
            {"summary", "Readiness: loaded, an executor free or queued, not stuck, not draining"},
            {"operationId", id},
            {"security", json::array()},
            {"responses", {{"200", plain_ok}, {"503", json_response("Not ready", {{"type", "object"}})}}}};
  if (id == "status")
    return {{"tags", {"health"}},
            {"summary", "Name, version, life-cycle state, uptime, executors, request counts"},
            {"operationId", id},
            {"responses", {{"200", plain_ok}}}};
  if (id == "list_notifications")
    return {{"tags", {"notifications"}},
            {"summary", "Notifications, newest first"},
            {"operationId", id},
            {"parameters",
             {{{"name", "severity"}, {"in", "query"}, {"required", false},
               {"description", "At least this severity: 0/1/2 or INFO/WARNING/CRITICAL"}, {"schema", {{"type", "string"}}}},
              {{"name", "since"}, {"in", "query"}, {"required", false},
               {"description", "Only those after this Unix time"}, {"schema", {{"type", "number"}}}},
              {{"name", "limit"}, {"in", "query"}, {"required", false}, {"schema", {{"type", "integer"}, {"minimum", 0}}}}}},
            {"responses",
             {{"200", json_response("Notifications", {{"type", "array"}, {"items", ref_to("Notification")}})},
              {"422", error_responses()["422"]}}}};
  if (id == "monitor_json" || id == "monitor_csv" || id == "monitor_db") {
    json query = json::array();
    if (id != "monitor_db") {
      const std::string time = "Inclusive bound: Unix seconds, ISO 8601, or Daeploy's 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC)";
      query = {{{"name", "start"}, {"in", "query"}, {"required", false}, {"description", time},
                {"schema", {{"type", "string"}}}},
               {{"name", "end"}, {"in", "query"}, {"required", false}, {"description", time},
                {"schema", {{"type", "string"}}}},
               {{"name", "variables"}, {"in", "query"}, {"required", false},
                {"description", "Repeat for each variable; none = all. An unknown one answers 412"},
                {"schema", {{"type", "array"}, {"items", {{"type", "string"}}}}}},
               {{"name", "format"}, {"in", "query"}, {"required", false},
                {"description", "daeploy (default): Daeploy's timestamps and float values; iso: ISO 8601 "
                                "timestamps and values as stored"},
                {"schema", {{"type", "string"}, {"enum", {"daeploy", "iso"}}, {"default", "daeploy"}}}}};
    }
    json series = {{"type", "object"},
                   {"additionalProperties",
                    {{"type", "object"},
                     {"properties", {{"timestamp", {{"type", "array"}, {"items", {{"type", "string"}}}}},
                                     {"value", {{"type", "array"}}}}}}}};
    json ok = id == "monitor_json" ? json_response("{variable: {timestamp: [...], value: [...]}}", series)
              : id == "monitor_csv"
                  ? json{{"description", "csv_data.zip: one <variable>.csv per variable"},
                         {"content", {{"application/zip", {{"schema", {{"type", "string"}, {"format", "binary"}}}}}}}}
                  : json{{"description", "database.db: a copy of the monitoring database (SQLite)"},
                         {"content",
                          {{"application/vnd.sqlite3", {{"schema", {{"type", "string"}, {"format", "binary"}}}}}}}};
    json responses = {{"200", ok}};
    if (id != "monitor_db") {
      responses["412"] = json_response(id == "monitor_csv" ? "Unknown variables, or nothing monitored yet"
                                                          : "Unknown variables",
                                       ref_to("HTTPError"));
      responses["422"] = error_responses()["422"];
    }
    const char* summary = id == "monitor_json" ? "Monitored values as JSON"
                          : id == "monitor_csv" ? "Monitored values as CSV files in a zip"
                                                : "The monitoring database";
    return {{"tags", {"monitoring"}}, {"summary", summary}, {"operationId", id}, {"parameters", query},
            {"responses", responses}};
  }
  if (id == "clear_notifications")
    return {{"tags", {"notifications"}},
            {"summary", "Clear all notifications"},
            {"operationId", id},
            {"responses", {{"200", plain_ok}}}};
  throw std::logic_error("no OpenAPI operation named '" + id + "'");
}

json json_schema(const TypeDesc& t, json& components) {
  switch (t.kind) {
    case Kind::any: return json::object();
    case Kind::str: return {{"type", "string"}};
    case Kind::int_: return {{"type", "integer"}};
    case Kind::float_:
    case Kind::number: return {{"type", "number"}};
    case Kind::bool_: return {{"type", "boolean"}};
    case Kind::none: return {{"type", "null"}};
    case Kind::bytes: return {{"type", "string"}, {"contentEncoding", "base64"}};
    case Kind::datetime: return {{"type", "string"}, {"format", "date-time"}};
    case Kind::date: return {{"type", "string"}, {"format", "date"}};
    case Kind::time: return {{"type", "string"}, {"format", "time"}};
    case Kind::uuid: return {{"type", "string"}, {"format", "uuid"}};
    case Kind::list: {
      json s = {{"type", "array"}, {"items", json_schema(t.items[0], components)}};
      if (t.container == schema::Container::set || t.container == schema::Container::frozenset) s["uniqueItems"] = true;
      return s;
    }
    case Kind::dict:
      return {{"type", "object"}, {"additionalProperties", json_schema(t.items[0], components)}};
    case Kind::tuple: {
      json prefix = json::array();
      for (const auto& item : t.items) prefix.push_back(json_schema(item, components));
      return {{"type", "array"}, {"prefixItems", prefix}, {"minItems", t.items.size()}, {"maxItems", t.items.size()}};
    }
    case Kind::union_: {
      json any = json::array();
      for (const auto& item : t.items) any.push_back(json_schema(item, components));
      return {{"anyOf", any}};
    }
    case Kind::literal: {
      json s = t.values.size() == 1 ? json{{"const", t.values[0]}} : json{{"enum", t.values}};
      if (auto type = scalar_type_of(t.values); !type.is_null()) s["type"] = type;
      return s;
    }
    case Kind::enum_: {
      std::string name = component_name(t, components);
      json s = {{"title", name}, {"enum", t.values}, {"x-mvi-ref", t.ref}};
      if (auto type = scalar_type_of(t.values); !type.is_null()) s["type"] = type;
      components[name] = s;
      return ref_to(name);
    }
    case Kind::object: {
      std::string name = component_name(t, components);
      if (!components.contains(name)) {
        components[name] = {{"x-mvi-ref", t.ref}};  // placeholder: a nested use of the same class refers to it
        json properties = json::object(), required = json::array();
        for (const auto& f : t.fields) {
          properties[f.name] = json_schema(f.type, components);
          if (f.default_value) {
            // a $ref cannot carry siblings in every tool: wrap it, as FastAPI does
            json& p = properties[f.name];
            if (p.contains("$ref")) p = {{"allOf", json::array({p})}};
            p["default"] = *f.default_value;
          }
          if (f.required) required.push_back(f.name);
        }
        json s = {{"title", name}, {"type", "object"}, {"properties", properties}, {"x-mvi-ref", t.ref}};
        if (!required.empty()) s["required"] = required;
        if (!t.description.empty()) s["description"] = t.description;
        components[name] = s;
      }
      return ref_to(name);
    }
    case Kind::ndarray: {
      json leaf = ndarray_leaf(t.dtype);
      std::size_t ndim = t.has_shape ? t.shape.size() : 1;
      json s = leaf;
      for (std::size_t d = ndim; d-- > 0;) {
        json level = {{"type", "array"}, {"items", s}};
        if (t.has_shape && t.shape[d] >= 0) level["minItems"] = level["maxItems"] = t.shape[d];
        s = level;
      }
      std::string desc = "numpy.ndarray as nested JSON arrays";
      if (!t.dtype.empty()) desc += ", dtype " + t.dtype;
      if (t.has_shape) {
        desc += ", shape (";
        for (std::size_t i = 0; i < t.shape.size(); ++i)
          desc += (i ? ", " : "") + (t.shape[i] < 0 ? std::string("None") : std::to_string(t.shape[i]));
        desc += t.shape.size() == 1 ? ",)" : ")";
      }
      s["description"] = desc;
      return s;
    }
    case Kind::dataframe:
      return {{"description", "pandas.DataFrame: {column: [values]}, {column: {index: value}} or [{column: value}]"},
              {"anyOf",
               {{{"type", "object"}, {"additionalProperties", {{"anyOf", {{{"type", "array"}}, {{"type", "object"}}}}}}},
                {{"type", "array"}, {"items", {{"type", "object"}}}}}}};
  }
  return json::object();
}

json build_document(const registry::Registry& registry, const std::vector<state::Parameter>& parameters,
                    const ApiInfo& info, const std::vector<BuiltinRoute>& builtins) {
  json components = json::object();
  add_common_components(components);
  json paths = json::object();
  for (const auto& route : builtins) {
    std::string method = route.method;
    for (auto& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    paths[route.path][method] = builtin_operation(route.operation_id);
  }

  for (const auto& ep : registry.entrypoints) {
    if (!ep.include_in_schema) continue;
    json op;
    op["operationId"] = ep.operation_id.empty() ? ep.name : ep.operation_id;
    op["summary"] = ep.summary.empty() ? title_case(ep.name) : ep.summary;
    if (!ep.description.empty()) op["description"] = ep.description;
    op["tags"] = ep.tags.empty() ? json{"entrypoints"} : json(ep.tags);
    if (ep.deprecated) op["deprecated"] = true;
    json properties = json::object(), required = json::array();
    for (const auto& p : ep.params) {
      json s = json_schema(p.type, components);
      if (p.default_value) s["default"] = *p.default_value;
      properties[p.name] = s;
      if (p.required) required.push_back(p.name);
    }
    if (ep.method == "GET") {
      json query = json::array();
      for (const auto& p : ep.params)
        query.push_back({{"name", p.name}, {"in", "query"}, {"required", p.required}, {"schema", properties[p.name]}});
      if (!query.empty()) op["parameters"] = query;
    } else if (!ep.params.empty()) {
      json body = {{"title", "Body_" + ep.name}, {"type", "object"}, {"properties", properties}};
      if (!required.empty()) body["required"] = required;
      op["requestBody"] = {{"required", !required.empty()}, {"content", {{"application/json", {{"schema", body}}}}}};
    }
    json responses = error_responses();
    const std::string success = ep.response_description.empty() ? "Successful Response" : ep.response_description;
    if (ep.status_code == 204) responses["204"] = {{"description", success}};
    else if (!ep.media_type.empty())
      responses[std::to_string(ep.status_code)] = {
          {"description", success}, {"content", {{ep.media_type, {{"schema", {{"type", "string"}}}}}}}};
    else responses[std::to_string(ep.status_code)] = json_response(success, json_schema(ep.returns, components));
    op["responses"] = responses;
    std::string method = ep.method;
    for (auto& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    paths["/" + ep.name][method] = op;
  }

  json all_properties = json::object();
  for (const auto& p : parameters) {
    json s = json_schema(p.type, components);
    if (!p.description.empty()) s["description"] = p.description;
    all_properties[p.name] = s;
    json value_body = {{"type", "object"}, {"properties", {{p.name, s}}}, {"required", {p.name}}};
    std::string path = "/parameters/" + p.name;
    paths[path]["get"] = {{"tags", {"parameters"}},
                          {"summary", "Get " + p.name},
                          {"operationId", "get_parameter_" + p.name},
                          {"responses", {{"200", json_response("The current value", value_body)}}}};
    if (p.expose) {
      json responses = error_responses();
      responses.erase("500");
      responses["200"] = json_response("The new value", value_body);
      responses["404"] = json_response("Unknown parameter", ref_to("HTTPError"));
      paths[path]["post"] = {
          {"tags", {"parameters"}},
          {"summary", "Change " + p.name},
          {"description", "Body {\"" + p.name + "\": value} (or Daeploy's {\"value\": value}). Validated like an "
                          "entrypoint argument; the change is atomic and raises an INFO notification."},
          {"operationId", "set_parameter_" + p.name},
          {"requestBody", {{"required", true}, {"content", {{"application/json", {{"schema", value_body}}}}}}},
          {"responses", responses}};
    }
  }
  // Daeploy's routes for the same values: bare values in and out ({"value": v} posted, "OK" answered).
  for (const auto& p : parameters) {
    json s = all_properties[p.name];
    std::string path = "/~parameters/" + p.name;
    paths[path]["get"] = {{"tags", {"parameters"}},
                          {"summary", "Get " + p.name + " (Daeploy's shape: the bare value)"},
                          {"operationId", "get_bare_parameter_" + p.name},
                          {"responses", {{"200", json_response("The current value", s)}}}};
    if (p.expose) {
      json responses = error_responses();
      responses.erase("500");
      responses["200"] = json_response("OK", {{"type", "string"}});
      responses["404"] = json_response("Unknown parameter", ref_to("HTTPError"));
      paths[path]["post"] = {
          {"tags", {"parameters"}},
          {"summary", "Change " + p.name + " (Daeploy's shape: {\"value\": value})"},
          {"operationId", "set_bare_parameter_" + p.name},
          {"requestBody",
           {{"required", true},
            {"content", {{"application/json",
                          {{"schema", {{"type", "object"}, {"properties", {{"value", s}}}, {"required", {"value"}}}}}}}}}},
          {"responses", responses}};
    }
  }
  paths["/~parameters"]["get"] = {
      {"tags", {"parameters"}},
      {"summary", "All parameters and their values (Daeploy's route)"},
      {"operationId", "list_bare_parameters"},
      {"responses", {{"200", json_response("Parameters", {{"type", "object"}, {"properties", all_properties}})}}}};
  paths["/parameters"]["get"] = {
      {"tags", {"parameters"}},
      {"summary", "All parameters and their values"},
      {"operationId", "list_parameters"},
      {"responses", {{"200", json_response("Parameters", {{"type", "object"}, {"properties", all_properties}})}}}};

  // Internal bookkeeping keys are not part of the published schemas.
  for (auto& [name, s] : components.items()) s.erase("x-mvi-ref");

  json doc = {
      {"openapi", "3.1.0"},
      // "name version", Daeploy's title (its clients and the docs page show it)
      {"info", {{"title", info.version.empty() ? info.title : info.title + " " + info.version}, {"version", info.version}}},
      {"paths", paths},
      {"components", {{"schemas", components}}},
      {"tags",
       {{{"name", "entrypoints"}, {"description", "The service's functions"}},
        {{"name", "parameters"}, {"description", "Values the service reads, changeable while it runs"}},
        {{"name", "notifications"}, {"description", "What the service reported with notify()"}},
        {{"name", "monitoring"}, {"description", "Values recorded by service.store() and monitor=True"}},
        {{"name", "health"}, {"description", "Probes and status, answered without Python"}}}},
  };
  if (!info.root_path.empty()) doc["servers"] = {{{"url", info.root_path}}};
  if (info.bearer_auth) {
    doc["components"]["securitySchemes"] = {{"bearerAuth", {{"type", "http"}, {"scheme", "bearer"}}}};
    doc["security"] = {{{"bearerAuth", json::array()}}};
  }
  return doc;
}

}  // namespace mvi::openapi
