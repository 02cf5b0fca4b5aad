// Internal to src/python: the C++ state reached by the _mvi_native embedded module, and the
// per-thread record of which call an executor thread is running (for notify()'s entrypoint and
// request id). The context pointer is set once before user code runs; the call record is
// thread_local, so neither needs a lock.
#pragma once

#include <string>

#include "mvi/python/host.hpp"

namespace mvi::python {

void set_native_context(NativeContext context);

struct CurrentCall {
  const std::string* entrypoint = nullptr;
  const std::string* request_id = nullptr;
};

// Sets the calling thread's current call for the lifetime of the guard.
class CallScope {
 public:
  CallScope(const std::string& entrypoint, const std::string& request_id);
  ~CallScope();
  CallScope(const CallScope&) = delete;
  CallScope& operator=(const CallScope&) = delete;

 private:
  CurrentCall previous_;
};

}  // namespace mvi::python
