// Internal to src/python: bytes built in C++ (a packed ndarray) handed to Python without a copy. The
// object owns them and lends them writable through the buffer protocol, so numpy.frombuffer uses them
// in place and the array keeps the object alive. The type lives in _mvi_native; GIL required.
#pragma once

#include <cstdint>
#include <vector>

#include <pybind11/pybind11.h>

namespace mvi::python {

struct OwnedBuffer {
  std::vector<std::uint8_t> bytes;
};

// Defines the OwnedBuffer type in `module` (the runtime's _mvi_native, or a test's stand-in).
void register_owned_buffer(pybind11::module_& module);

}  // namespace mvi::python
