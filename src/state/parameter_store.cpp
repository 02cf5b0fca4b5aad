// ParameterStore: shared_mutex for reads, exclusive for changes; listeners called unlocked.
#include "mvi/state/parameter_store.hpp"

#include "mvi/core/json.hpp"

#include "mvi/core/error.hpp"

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
  } catch (const nlohmann::json::exception& e) {
    throw core::Error::validation(std::string("a parameter declaration is malformed: ") + e.what());
  }
  p.type = schema::parse_type_desc(d.at("type"), "parameter '" + p.name + "'");
  return p;
}

void ParameterStore::add(Parameter parameter) {
  schema::Errors errors;
  if (!schema::validate(parameter.type, parameter.value, json::array({parameter.name}), errors))
    throw core::Error::validation("parameter '" + parameter.name + "': initial value " +
                                  dump_json(parameter.value) +
                                  " does not match its type " + schema::display_name(parameter.type) + ": " +
                                  errors.front().msg);
  std::unique_lock lock(mutex_);
  for (const auto& p : params_)
    if (p.name == parameter.name)
      throw core::Error::validation("parameter '" + parameter.name + "' is already defined");
  params_.push_back(std::move(parameter));
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
  {
    std::unique_lock lock(mutex_);
    Parameter* target = nullptr;
    for (auto& p : params_)
      if (p.name == name) target = &p;
    if (!target) {
      result.status = SetStatus::not_found;
      return result;
    }
    // Validate while holding the lock so the type cannot change under us; it is cheap for
    // parameter-sized values and keeps check-and-apply atomic.
    if (!schema::validate(target->type, value, json::array({"body", name}), result.errors)) {
      result.status = SetStatus::invalid;
      return result;
    }
    target->value = value;
    result.value = std::move(value);
    result.generation = ++generation_;
  }
  listeners_.notify(name, result.value, result.generation);
  return result;
}

std::uint64_t ParameterStore::generation() const {
  std::shared_lock lock(mutex_);
  return generation_;
}

void ParameterStore::add_listener(ChangeListener listener) { listeners_.add(std::move(listener)); }

}  // namespace mvi::state
