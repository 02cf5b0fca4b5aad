// Registry parsing and argument validation. Pure functions over immutable data; thread-safe.
#include "mvi/registry/registry.hpp"

#include <optional>
#include <set>

#include "mvi/core/error.hpp"
#include "mvi/core/json.hpp"

namespace mvi::registry {

using json = nlohmann::ordered_json;

const Entrypoint* Registry::find(std::string_view name) const {
  for (const auto& ep : entrypoints)
    if (ep.name == name) return &ep;
  return nullptr;
}

namespace {

std::string str_or(const json& j, const char* key, std::string fallback) {
  if (j.contains(key) && j[key].is_string()) return j[key].get<std::string>();
  return fallback;
}

bool bool_or(const json& j, const char* key, bool fallback) {
  if (j.contains(key) && j[key].is_boolean()) return j[key].get<bool>();
  return fallback;
}

}  // namespace

Registry parse_registry(const json& j) {
  Registry r;
  if (!j.is_object()) throw core::Error::load_failed("the mvi registry export is not an object");
  std::set<std::string> seen;
  if (j.contains("entrypoints")) {
    for (const auto& e : j["entrypoints"]) {
      Entrypoint ep;
      ep.index = r.entrypoints.size();
      ep.name = str_or(e, "name", "");
      if (ep.name.empty()) throw core::Error::load_failed("an entrypoint has no name");
      if (!seen.insert(ep.name).second)
        throw core::Error::load_failed("entrypoint '" + ep.name + "' is registered twice");
      ep.method = str_or(e, "method", "POST");
      ep.status_code = e.value("status_code", 200);
      ep.monitor = bool_or(e, "monitor", false);
      ep.disable_http_logs = bool_or(e, "disable_http_logs", false);
      ep.is_async = bool_or(e, "is_async", false);
      ep.summary = str_or(e, "summary", "");
      ep.description = str_or(e, "description", "");
      if (auto tags = e.find("tags"); tags != e.end() && tags->is_array())
        for (const auto& tag : *tags)
          if (tag.is_string()) ep.tags.push_back(tag.get<std::string>());
      ep.deprecated = bool_or(e, "deprecated", false);
      ep.include_in_schema = bool_or(e, "include_in_schema", true);
      ep.operation_id = str_or(e, "operation_id", "");
      ep.response_description = str_or(e, "response_description", "");
      ep.media_type = str_or(e, "media_type", "");
      ep.mount = str_or(e, "mount", "");
      if (!ep.mount.empty() && (ep.mount.front() != '/' || ep.mount.size() < 2))
        throw core::Error::load_failed("entrypoint '" + ep.name + "': bad mount prefix '" + ep.mount + "'");
      if (!ep.media_type.empty() && ep.media_type != "text/plain" && ep.media_type != "text/html")
        throw core::Error::load_failed("entrypoint '" + ep.name + "': unsupported media type '" + ep.media_type + "'");
      if (e.contains("params")) {
        for (const auto& p : e["params"]) {
          Param param;
          param.name = str_or(p, "name", "");
          std::string where = "entrypoint '" + ep.name + "', parameter '" + param.name + "'";
          param.type = p.contains("type") ? schema::parse_type_desc(p["type"], where) : schema::TypeDesc{};
          param.required = bool_or(p, "required", true);
          if (p.contains("default")) param.default_value = p["default"];
          ep.params.push_back(std::move(param));
        }
      }
      if (e.contains("returns") && !e["returns"].is_null())
        ep.returns = schema::parse_type_desc(e["returns"], "entrypoint '" + ep.name + "', return value");
      seal(ep);
      r.entrypoints.push_back(std::move(ep));
    }
  }
  if (j.contains("jobs")) {
    for (const auto& jb : j["jobs"]) {
      Job job;
      job.name = str_or(jb, "name", "");
      job.seconds = jb.value("seconds", 0.0);
      job.wait_first = bool_or(jb, "wait_first", false);
      r.jobs.push_back(std::move(job));
    }
  }
  return r;
}

std::string describe(const Registry& r) {
  std::string out = "entrypoints:\n";
  if (r.entrypoints.empty()) out += "  (none)\n";
  for (const auto& ep : r.entrypoints) {
    out += "  " + ep.method + " /" + ep.name + "(";
    for (std::size_t i = 0; i < ep.params.size(); ++i) {
      if (i) out += ", ";
      out += ep.params[i].name + ": " + schema::display_name(ep.params[i].type);
      if (!ep.params[i].required) out += " = ...";
    }
    out += ") -> " + schema::display_name(ep.returns);
    if (ep.is_async) out += " [async]";
    out += "\n";
  }
  if (!r.jobs.empty()) {
    out += "jobs:\n";
    for (const auto& job : r.jobs) out += "  " + job.name + " every " + std::to_string(job.seconds) + " s\n";
  }
  return out;
}

void seal(Entrypoint& ep) {
  schema::TypeDesc t;
  t.kind = schema::Kind::object;
  t.construct = schema::Construct::typeddict;
  t.name = ep.name;
  for (const auto& p : ep.params) t.fields.push_back({p.name, p.type, p.required});
  t.needs_build = true;  // so the validator records a note per argument
  ep.arguments = std::move(t);
  // Decided once here, not per call: `any` when nothing about the result is checked.
  ep.result_check = schema::result_is_checked(ep.returns) ? schema::result_shape(ep.returns) : schema::TypeDesc{};
}

namespace {

bool accepts_null(const schema::TypeDesc& type) {
  json probe = nullptr;
  schema::Errors ignored;
  return schema::validate(type, probe, json::array(), ignored);
}

}  // namespace

bool validate_arguments(const Entrypoint& ep, json& args, std::string_view source, schema::Errors& errors,
                        std::vector<schema::BuildNote>* notes) {
  // Daeploy's rule for an explicit null: where the type takes None (Optional, unannotated) it is the
  // value; otherwise it is as if the argument were not sent — its default, or "missing" when required.
  // (A null whose note holds an array packed by the fast path stands for that array.)
  if (args.is_object())
    for (std::size_t i = 0; i < ep.params.size(); ++i) {
      const auto& p = ep.params[i];
      if (notes && i < notes->size() && (*notes)[i].array) continue;
      if (auto it = args.find(p.name); it != args.end() && it->is_null() && !accepts_null(p.type)) args.erase(it);
    }
  // The validator's object rules are the arguments' rules: every missing or wrong field reported with
  // loc [source, name, ...], unknown fields dropped (extra keyword arguments would be a TypeError), the
  // rest in the function's declaration order. One note per parameter, kept when the fast path packed
  // an array already.
  schema::BuildNote note;
  if (notes) note.children = std::move(*notes);
  const std::size_t first_error = errors.size();
  const bool ok = schema::validate(ep.arguments, args, json::array({std::string(source)}), errors, notes ? &note : nullptr);
  // A missing argument's input is null, as FastAPI reports a missing body field (an embedded one, the shape
  // Daeploy declared every argument as); inside an argument it stays the object as sent, as pydantic's.
  for (std::size_t i = first_error; i < errors.size(); ++i)
    if (errors[i].type == "missing" && errors[i].loc.size() == 2) errors[i].input = nullptr;
  if (notes) {
    *notes = std::move(note.children);
    notes->resize(ep.params.size());
  }
  return ok;
}

}  // namespace mvi::registry
