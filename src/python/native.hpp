// Internal to src/python: the C++ state reached by the _mvi_native embedded module. The pointer is
// set once before user code runs and cleared after the interpreter is finalised. (Which call a
// thread is running lives in logs::current_call(), shared with the log.)
#pragma once

#include <string>

#include "mvi/python/host.hpp"

namespace mvi::python {

void set_native_context(NativeContext context);

// While alive, service.get_parameter()/get_parameters() on this thread read `values` ({name: value})
// instead of the store: a call in a worker process sees one generation throughout. Null: no view.
class ScopedParameterView {
 public:
  explicit ScopedParameterView(const nlohmann::ordered_json* values);
  ~ScopedParameterView();
  ScopedParameterView(const ScopedParameterView&) = delete;
  ScopedParameterView& operator=(const ScopedParameterView&) = delete;

 private:
  const nlohmann::ordered_json* previous_;
};


}  // namespace mvi::python
