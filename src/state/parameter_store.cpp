// ParameterStore: shared_mutex for reads, exclusive only to apply a change; the writer mutex orders
// changes, their backend writes and their listeners.
#include "mvi/state/parameter_store.hpp"

#include "mvi/core/json.hpp"

#include "mvi/core/error.hpp"

#include <algorithm>

namespace mvi::state {

using json = nlohmann::ordered_json;

Parameter parameter_from_declaration(const json& d) {
  Parameter p;
  try {
    p.name = d.at("name").get<std::string>();
    p.value = d.at("value");
    p.expose = d.value("expose", true);
    p.monitor = d.value("monitor", false);
    p.description = d.value("description", std::string());
    p.disable_http_logs = d.value("disable_http_logs", false);
  } catch (const nlohmann::json::exception& e) {
    throw core::Error::validation(std::string("a parameter declaration is malformed: ") + e.what());
  }
  p.type = schema::parse_type_desc(d.at("type"), "parameter '" + p.name + "'");
  return p;
}

void ParameterStore::attach(std::shared_ptr<StateBackend> backend, RestoreListener on_rejected) {
  auto stored = backend->parameters();
  const std::uint64_t generation = backend->generation();
  std::lock_guard writer(write_mutex_);
  std::unique_lock lock(mutex_);
  backend_ = std::move(backend);
  stored_ = std::move(stored);
  on_rejected_ = std::move(on_rejected);
  generation_ = std::max(generation_, generation);
}

void ParameterStore::add(Parameter parameter) {
  schema::Errors errors;
  if (!schema::validate(parameter.type, parameter.value, json::array({parameter.name}), errors))
    throw core::Error::validation("parameter '" + parameter.name + "': initial value " +
                                  dump_json(parameter.value) +
                                  " does not match its type " + schema::display_name(parameter.type) + ": " +
                                  errors.front().msg);
  const std::string name = parameter.name;
  std::string rejected;
  {
    std::lock_guard writer(write_mutex_);
    std::unique_lock lock(mutex_);
    for (const auto& p : params_)
      if (p.name == parameter.name)
        throw core::Error::validation("parameter '" + parameter.name + "' is already defined");
    if (auto it = stored_.find(parameter.name); it != stored_.end()) {
      json value = it->second.value;
      schema::Errors wrong;
      if (schema::validate(parameter.type, value, json::array({parameter.name}), wrong)) {
        parameter.value = std::move(value);
        parameter.generation = it->second.generation;
      }
      else
        rejected = "the stored value " + dump_json(it->second.value) + " of parameter '" + parameter.name +
                   "' does not fit its type " + schema::display_name(parameter.type) + " (" + wrong.front().msg +
                   "); the value in the code, " + dump_json(parameter.value) + ", is used";
    }
    params_.push_back(std::move(parameter));
  }
  if (!rejected.empty() && on_rejected_) on_rejected_(name, rejected);
}

std::optional<json> ParameterStore::get(const std::string& name) const {
  std::shared_lock lock(mutex_);
  for (const auto& p : params_)
    if (p.name == name) return p.value;
  return std::nullopt;
}

std::optional<Parameter> ParameterStore::describe(const std::string& name) const {
  std::shared_lock lock(mutex_);
  for (const auto& p : params_)
    if (p.name == name) return p;
  return std::nullopt;
}

std::vector<Parameter> ParameterStore::list() const {
  std::shared_lock lock(mutex_);
  return params_;
}

json ParameterStore::values() const {
  std::shared_lock lock(mutex_);
  json out = json::object();
  for (const auto& p : params_) out[p.name] = p.value;
  return out;
}

SetResult ParameterStore::set(const std::string& name, json value) {
  SetResult result;
  std::lock_guard writer(write_mutex_);
  std::uint64_t generation = 0;
  {
    // Types never change after add(), and values change only under the writer lock: a shared lock
    // suffices to validate, and readers go on meanwhile.
    std::shared_lock lock(mutex_);
    const Parameter* target = nullptr;
    for (const auto& p : params_)
      if (p.name == name) target = &p;
    if (!target) {
      result.status = SetStatus::not_found;
      return result;
    }
    if (!schema::validate(target->type, value, json::array({"body", name}), result.errors)) {
      result.status = SetStatus::invalid;
      return result;
    }
    generation = generation_ + 1;
  }
  if (backend_) {
    try {
      generation = backend_->store_parameter(name, value, generation);
    } catch (const StateUnavailable& e) {
      result.status = SetStatus::unavailable;
      result.message = e.what();
      return result;
    }
  }
  apply(name, value, generation);
  result.value = std::move(value);
  result.generation = generation;
  listeners_.notify(name, result.value, result.generation);
  local_listeners_.notify(name, result.value, result.generation);
  return result;
}

void ParameterStore::apply(const std::string& name, const json& value, std::uint64_t generation) {
  std::unique_lock lock(mutex_);
  for (auto& p : params_)
    if (p.name == name) {
      p.value = value;
      p.generation = generation;
    }
  generation_ = std::max(generation_, generation);
}

bool ParameterStore::apply_remote(const std::string& name, json value, std::uint64_t generation) {
  std::lock_guard writer(write_mutex_);
  {
    std::shared_lock lock(mutex_);
    const Parameter* target = nullptr;
    for (const auto& p : params_)
      if (p.name == name) target = &p;
    if (!target || generation <= target->generation) return false;
    schema::Errors errors;
    if (!schema::validate(target->type, value, json::array({name}), errors)) return false;
  }
  apply(name, value, generation);
  listeners_.notify(name, value, generation);
  return true;
}

std::pair<std::map<std::string, StoredParameter>, std::uint64_t> ParameterStore::known() const {
  std::shared_lock lock(mutex_);
  std::map<std::string, StoredParameter> out;
  for (const auto& p : params_)
    if (p.generation > 0) out[p.name] = {p.value, p.generation};
  return {std::move(out), generation_};
}

std::uint64_t ParameterStore::generation() const {
  std::shared_lock lock(mutex_);
  return generation_;
}

void ParameterStore::add_listener(ChangeListener listener, Changes which) {
  (which == Changes::all ? listeners_ : local_listeners_).add(std::move(listener));
}

}  // namespace mvi::state
