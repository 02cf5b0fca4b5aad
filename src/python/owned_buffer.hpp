// Internal to src/python: bytes built in C++ (a packed ndarray) handed to Python without a copy. The
// object owns them and lends them writable through the buffer protocol, so numpy.frombuffer uses them
// in place and the array keeps the object alive. The type lives in _mvi_native; GIL required.
#pragma once

#include <cstdint>
#include <vector>

namespace mvi::python {

struct OwnedBuffer {
  std::vector<std::uint8_t> bytes;
};

}  // namespace mvi::python
