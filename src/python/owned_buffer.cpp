// OwnedBuffer's Python type: the bytes, writable through the buffer protocol. GIL required.
#include "owned_buffer.hpp"

namespace py = pybind11;

namespace mvi::python {

void register_owned_buffer(py::module_& module) {
  py::class_<OwnedBuffer>(module, "OwnedBuffer", py::buffer_protocol())
      .def_buffer([](OwnedBuffer& b) {
        return py::buffer_info(b.bytes.data(), 1, py::format_descriptor<std::uint8_t>::format(), 1,
                               {static_cast<py::ssize_t>(b.bytes.size())}, {1}, /*readonly=*/false);
      })
      .def("__len__", [](const OwnedBuffer& b) { return b.bytes.size(); });
}

}  // namespace mvi::python
