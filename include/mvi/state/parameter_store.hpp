// Service parameters owned by C++ (SPEC §10): typed values, validated changes, a generation
// number per change. Thread-safe: readers share a lock, a change takes it exclusively, and
// listeners run after the lock is released.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mvi/schema/type_desc.hpp"
#include "mvi/schema/validator.hpp"

#include "mvi/core/listeners.hpp"

namespace mvi::state {

struct Parameter {
  std::string name;
  schema::TypeDesc type;
  nlohmann::ordered_json value;
  bool expose = true;    // false: read-only over HTTP
  bool monitor = false;
  std::string description;
};

enum class SetStatus { ok, not_found, invalid };

struct SetResult {
  SetStatus status = SetStatus::ok;
  nlohmann::ordered_json value;         // the stored (coerced) value on success
  std::uint64_t generation = 0; // the generation after the change
  schema::Errors errors;        // on invalid, with loc ["body", name, ...]
};

// Called after a successful change with the parameter name, new value and generation.
using ChangeListener = std::function<void(const std::string&, const nlohmann::ordered_json&, std::uint64_t)>;

// A parameter from its declaration as plain data: {name, value, type (a TypeDesc's JSON), expose,
// monitor, description}, as add_parameter() makes it and a worker process sends it to the front.
// Throws core::Error(validation) for a type that cannot be read.
Parameter parameter_from_declaration(const nlohmann::ordered_json& declaration);

class ParameterStore {
 public:
  // Adds a parameter; its initial value is validated against its type.
  // Throws core::Error(validation) for a duplicate name or a value of the wrong type.
  void add(Parameter parameter);

  std::optional<nlohmann::ordered_json> get(const std::string& name) const;
  std::optional<Parameter> describe(const std::string& name) const;
  std::vector<Parameter> list() const;
  nlohmann::ordered_json values() const;  // {name: value, ...} in declaration order

  // Validates and applies a change atomically; the state is unchanged unless status is ok.
  SetResult set(const std::string& name, nlohmann::ordered_json value);

  std::uint64_t generation() const;
  void add_listener(ChangeListener listener);

 private:
  mutable std::shared_mutex mutex_;
  std::vector<Parameter> params_;  // few, so a linear scan keeps declaration order for free
  std::uint64_t generation_ = 0;
  core::Listeners<std::string, nlohmann::ordered_json, std::uint64_t> listeners_;
};

}  // namespace mvi::state
