// JSON ⇄ Python conversion with the CPython API directly (no intermediate JSON text).
// GIL required; recursion bounded so circular structures fail instead of overflowing the stack.
#include "convert.hpp"

#include <cmath>
#include <string>

#include "mvi/core/json.hpp"
#include "mvi/schema/formats.hpp"

namespace py = pybind11;
using json = nlohmann::ordered_json;

namespace mvi::python {
namespace {

constexpr int kMaxDepth = 256;

py::object steal(PyObject* p) {
  if (!p) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(p);
}

std::string utf8(py::handle s) {
  Py_ssize_t n = 0;
  const char* data = PyUnicode_AsUTF8AndSize(s.ptr(), &n);
  if (data) return std::string(data, static_cast<std::size_t>(n));
  // Lone surrogates cannot be UTF-8; replace them rather than fail the whole response.
  PyErr_Clear();
  py::object b = steal(PyUnicode_AsEncodedString(s.ptr(), "utf-8", "replace"));
  return std::string(PyBytes_AS_STRING(b.ptr()), static_cast<std::size_t>(PyBytes_GET_SIZE(b.ptr())));
}

std::string type_name(py::handle v) { return Py_TYPE(v.ptr())->tp_name; }

json number_from_long(py::handle v) {
  int overflow = 0;
  long long n = PyLong_AsLongLongAndOverflow(v.ptr(), &overflow);
  if (!overflow) {
    if (n == -1 && PyErr_Occurred()) throw py::error_already_set();
    return static_cast<std::int64_t>(n);
  }
  if (overflow > 0) {
    unsigned long long u = PyLong_AsUnsignedLongLong(v.ptr());
    if (!PyErr_Occurred()) return static_cast<std::uint64_t>(u);
    PyErr_Clear();
  }
  double d = PyLong_AsDouble(v.ptr());
  if (d == -1.0 && PyErr_Occurred()) {
    PyErr_Clear();
    return nullptr;  // beyond double range: like NaN, no JSON number can hold it
  }
  return d;
}

std::string key_string(py::handle k, py::handle fallback) {
  if (PyUnicode_Check(k.ptr())) return utf8(k);
  if (fallback && !k.is_none() && !PyBool_Check(k.ptr()) && !PyLong_Check(k.ptr()) && !PyFloat_Check(k.ptr())) {
    // Dates, UUIDs, Enums…: the same encoding as values, when that gives a str or a number.
    py::object plain = py::reinterpret_borrow<py::object>(fallback)(k);
    if (PyUnicode_Check(plain.ptr()) || PyLong_Check(plain.ptr()) || PyFloat_Check(plain.ptr()))
      return key_string(plain, py::handle());
  }
  if (k.is_none()) return "null";
  if (PyBool_Check(k.ptr())) return k.ptr() == Py_True ? "true" : "false";
  if (PyLong_Check(k.ptr()) || PyFloat_Check(k.ptr())) return utf8(steal(PyObject_Str(k.ptr())));
  throw py::type_error("keys must be str, int, float, bool or None, not " + type_name(k));
}

json convert(py::handle v, py::handle fallback, int depth) {
  if (depth > kMaxDepth) throw py::value_error("value is nested too deeply (or is circular) to encode as JSON");
  PyObject* p = v.ptr();
  if (p == Py_None) return nullptr;
  if (PyBool_Check(p)) return p == Py_True;
  if (PyLong_Check(p)) return number_from_long(v);
  if (PyFloat_Check(p)) {
    double d = PyFloat_AS_DOUBLE(p);
    if (!std::isfinite(d)) return nullptr;
    return d;
  }
  if (PyUnicode_Check(p)) return utf8(v);
  if (PyDict_Check(p)) {
    json out = json::object();
    PyObject *k, *val;
    Py_ssize_t pos = 0;
    // In the dict's order, and without ordered_json's search per key (a dict's keys are distinct;
    // two that encode alike, 1 and "1", stay two, as json.dumps writes them).
    out.get_ref<json::object_t&>().reserve(static_cast<std::size_t>(PyDict_GET_SIZE(p)));
    while (PyDict_Next(p, &pos, &k, &val)) append_member(out, key_string(k, fallback), convert(val, fallback, depth + 1));
    return out;
  }
  if (PyList_Check(p) || PyTuple_Check(p)) {
    py::object seq = steal(PySequence_Fast(p, "expected a sequence"));
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq.ptr());
    PyObject** items = PySequence_Fast_ITEMS(seq.ptr());
    json out = json::array();
    out.get_ref<json::array_t&>().reserve(static_cast<std::size_t>(n));
    for (Py_ssize_t i = 0; i < n; ++i) out.push_back(convert(items[i], fallback, depth + 1));
    return out;
  }
  if (PyAnySet_Check(p)) {
    json out = json::array();
    for (py::handle item : v) out.push_back(convert(item, fallback, depth + 1));
    return out;
  }
  if (PyBytes_Check(p) || PyByteArray_Check(p)) {
    const char* data = PyBytes_Check(p) ? PyBytes_AS_STRING(p) : PyByteArray_AS_STRING(p);
    Py_ssize_t n = PyBytes_Check(p) ? PyBytes_GET_SIZE(p) : PyByteArray_GET_SIZE(p);
    return schema::encode_base64(reinterpret_cast<const std::uint8_t*>(data), static_cast<std::size_t>(n));
  }
  if (fallback) {
    py::object plain = py::reinterpret_borrow<py::object>(fallback)(v);
    if (Py_TYPE(plain.ptr()) != Py_TYPE(p)) return convert(plain, fallback, depth + 1);
  }
  throw py::type_error("Object of type " + type_name(v) + " is not JSON serializable");
}

}  // namespace

std::string to_utf8(py::handle s) { return utf8(s); }

py::object json_to_py(const json& j) {
  switch (j.type()) {
    case json::value_t::null:
      return py::none();
    case json::value_t::boolean:
      return py::bool_(j.get<bool>());
    case json::value_t::number_integer:
      return steal(PyLong_FromLongLong(j.get<std::int64_t>()));
    case json::value_t::number_unsigned:
      return steal(PyLong_FromUnsignedLongLong(j.get<std::uint64_t>()));
    case json::value_t::number_float:
      return steal(PyFloat_FromDouble(j.get<double>()));
    case json::value_t::string: {
      const auto& s = j.get_ref<const std::string&>();
      return steal(PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "replace"));
    }
    case json::value_t::array: {
      py::object list = steal(PyList_New(static_cast<Py_ssize_t>(j.size())));
      Py_ssize_t i = 0;
      for (const auto& item : j) PyList_SET_ITEM(list.ptr(), i++, json_to_py(item).release().ptr());
      return list;
    }
    case json::value_t::object: {
      py::object dict = steal(PyDict_New());
      for (auto it = j.begin(); it != j.end(); ++it) {
        py::object key = steal(PyUnicode_DecodeUTF8(it.key().data(), static_cast<Py_ssize_t>(it.key().size()), "replace"));
        if (PyDict_SetItem(dict.ptr(), key.ptr(), json_to_py(it.value()).ptr()) != 0) throw py::error_already_set();
      }
      return dict;
    }
    case json::value_t::binary: {
      const auto& b = j.get_binary();
      return steal(PyBytes_FromStringAndSize(reinterpret_cast<const char*>(b.data()), static_cast<Py_ssize_t>(b.size())));
    }
    case json::value_t::discarded:
      break;
  }
  return py::none();
}

json py_to_json(py::handle value, py::handle fallback) { return convert(value, fallback, 0); }

}  // namespace mvi::python
