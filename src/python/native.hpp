// Internal to src/python: the C++ state reached by the _mvi_native embedded module. The pointer is
// set once before user code runs and cleared after the interpreter is finalised. (Which call a
// thread is running lives in logs::current_call(), shared with the log.)
#pragma once

#include <string>

#include "mvi/python/host.hpp"

namespace mvi::python {

void set_native_context(NativeContext context);


}  // namespace mvi::python
