// Service parameters owned by C++ (SPEC §10): typed values, validated changes, a generation
// number per change, kept by a state backend when one is attached. Thread-safe: readers share a lock,
// a change takes it exclusively only to apply the value; the backend write and the listeners run under
// a writer lock that readers never take.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mvi/schema/type_desc.hpp"
#include "mvi/schema/validator.hpp"

#include "mvi/core/listeners.hpp"
#include "mvi/state/state_backend.hpp"

namespace mvi::state {

struct Parameter {
  std::string name;
  schema::TypeDesc type;
  nlohmann::ordered_json value;
  bool expose = true;    // false: read-only over HTTP
  bool monitor = false;
  std::string description;
  bool disable_http_logs = false;  // its GETs and POSTs are left out of the access log
  std::uint64_t generation = 0;  // of the change that set the value; 0: the code's value
};

// unavailable: the state backend could not keep the change (it is not applied; 503).
enum class SetStatus { ok, not_found, invalid, unavailable };

struct SetResult {
  SetStatus status = SetStatus::ok;
  nlohmann::ordered_json value;         // the stored (coerced) value on success
  std::uint64_t generation = 0; // the generation after the change
  schema::Errors errors;        // on invalid, with loc ["body", name, ...]
  std::string message;          // on unavailable: why
};

// Called after a successful change with the parameter name, new value and generation.
using ChangeListener = std::function<void(const std::string&, const nlohmann::ordered_json&, std::uint64_t)>;
// Called when a stored value no longer fits the type the code declares (the code's value is used).
using RestoreListener = std::function<void(const std::string& name, const std::string& message)>;


// A parameter from its declaration as plain data: {name, value, type (a TypeDesc's JSON), expose,
// monitor, description}, as add_parameter() makes it and a worker process sends it to the front.
// Throws core::Error(validation) for a type that cannot be read.
Parameter parameter_from_declaration(const nlohmann::ordered_json& declaration);

class ParameterStore {
 public:
  // Keeps every change in `backend` before applying it, and restores what it kept: the generation at
  // once, each parameter's value when it is added (if it still fits the declared type; otherwise
  // `on_rejected` is told and the code's value stays). Values of parameters the code no longer declares
  // stay in the backend. Before the first add(); throws what the backend throws reading its state.
  void attach(std::shared_ptr<StateBackend> backend, RestoreListener on_rejected);

  // Adds a parameter; its initial value is validated against its type.
  // Throws core::Error(validation) for a duplicate name or a value of the wrong type.
  void add(Parameter parameter);

  std::optional<nlohmann::ordered_json> get(const std::string& name) const;
  std::optional<Parameter> describe(const std::string& name) const;
  std::vector<Parameter> list() const;
  nlohmann::ordered_json values() const;  // {name: value, ...} in declaration order

  // Validates, keeps (in the backend, if attached) and applies a change; the state is unchanged unless
  // status is ok. Changes are made one at a time and their listeners run in generation order, before the
  // next change; readers never wait for the backend.
  SetResult set(const std::string& name, nlohmann::ordered_json value);

  // A change made on another replica (from the state backend's thread): applied, with its listeners,
  // unless this store already has that parameter at the same or a newer generation; ignored for a
  // parameter this service does not declare or a value that does not fit. True if applied.
  bool apply_remote(const std::string& name, nlohmann::ordered_json value, std::uint64_t generation);
  // The values changed here or restored (generation > 0) with their generations, and the generation:
  // what a shared backend that lost its data is given back.
  std::pair<std::map<std::string, StoredParameter>, std::uint64_t> known() const;

  std::uint64_t generation() const;
  // Which changes a listener hears: all of them, or only those made in this process (a change made on
  // another replica is announced there, not again here).
  enum class Changes { all, local };
  void add_listener(ChangeListener listener, Changes which = Changes::all);

 private:
  // The value and generation in place (write_mutex_ held; takes the exclusive lock).
  void apply(const std::string& name, const nlohmann::ordered_json& value, std::uint64_t generation);

  // One change at a time, held through the backend write and the listeners (recursive: a listener may
  // change another parameter; that change runs inside it, with the next generation).
  std::recursive_mutex write_mutex_;
  mutable std::shared_mutex mutex_;
  std::vector<Parameter> params_;  // few, so a linear scan keeps declaration order for free
  std::uint64_t generation_ = 0;
  std::shared_ptr<StateBackend> backend_;
  std::map<std::string, StoredParameter> stored_;  // what the backend kept, taken as parameters are added
  RestoreListener on_rejected_;
  core::Listeners<std::string, nlohmann::ordered_json, std::uint64_t> listeners_;        // every change
  core::Listeners<std::string, nlohmann::ordered_json, std::uint64_t> local_listeners_;  // changes made here
};

}  // namespace mvi::state
