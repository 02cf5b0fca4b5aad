// Type-directed JSON → Python construction. Values whose TypeDesc needs no building take the
// plain json_to_py path; everything else is built recursively here.
#include "build.hpp"

#include "convert.hpp"
#include <stdexcept>

#include "mvi/schema/validator.hpp"
#include "owned_buffer.hpp"

namespace py = pybind11;
using json = nlohmann::ordered_json;

namespace mvi::python {
namespace {

py::object steal(PyObject* p) {
  if (!p) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(p);
}

py::object& lazy_module(py::object& slot, const char* name) {
  if (!slot) slot = py::module_::import(name);
  return slot;
}

py::object build_ndarray(const schema::TypeDesc& t, json& v, schema::BuildNote& note, FunctionTable& table) {
  py::object& np = lazy_module(table.numpy, "numpy");
  if (schema::PackedArray* packed = note.array.get()) {
    py::tuple shape(packed->shape.size());
    for (std::size_t i = 0; i < packed->shape.size(); ++i) shape[i] = py::int_(packed->shape[i]);
    // The packed bytes move into a Python object that numpy uses in place (writable): no copy.
    lazy_module(table.native, "_mvi_native");  // registers OwnedBuffer
    py::object buffer = py::cast(OwnedBuffer{std::move(packed->data)});
    return np.attr("frombuffer")(buffer, py::arg("dtype") = packed->dtype).attr("reshape")(shape);
  }
  py::object dtype = t.dtype.empty() ? py::none() : py::object(py::str(t.dtype));
  return np.attr("array")(json_to_py(v), py::arg("dtype") = dtype);
}

py::object build_dataframe(const json& v, FunctionTable& table) {
  py::object frame = lazy_module(table.pandas, "pandas").attr("DataFrame");
  if (v.is_array()) return v.empty() ? frame() : frame.attr("from_records")(json_to_py(v));
  return frame.attr("from_dict")(json_to_py(v));
}

// The note of child `i`. A note that does not match the value is a bug of ours, never the
// client's: it raises (a 500 for the call), it does not crash.
schema::BuildNote& child(schema::BuildNote& note, std::size_t i) {
  if (i >= note.children.size()) throw std::logic_error("argument builder: validation notes do not match the value");
  return note.children[i];
}

py::object build_object(const schema::TypeDesc& t, json& v, schema::BuildNote& note, FunctionTable& table) {
  py::dict kwargs;
  for (std::size_t i = 0; i < t.fields.size(); ++i) {
    const auto& f = t.fields[i];
    auto it = v.find(f.name);
    if (it != v.end()) kwargs[py::str(f.name)] = build_value(f.type, *it, child(note, i), table);
  }
  if (t.construct == schema::Construct::typeddict) return kwargs;
  return table.classes.at(static_cast<std::size_t>(t.ref))(**kwargs);
}

py::object from_iso(py::object& type, const char* module, const char* attr, const json& v) {
  if (!type) type = py::module_::import(module).attr(attr);
  return type.attr("fromisoformat")(v.get<std::string>());
}

}  // namespace

py::object build_value(const schema::TypeDesc& t, json& v, schema::BuildNote& note, FunctionTable& table) {
  // The note decides before the value is looked at: a packed array's JSON value is null.
  if (t.kind == schema::Kind::ndarray && note.array) return build_ndarray(t, v, note, table);
  if (t.kind == schema::Kind::union_ && t.needs_build && !note.children.empty()) {
    if (note.choice >= t.items.size()) throw std::logic_error("argument builder: union choice out of range");
    return build_value(t.items[note.choice], v, note.children[0], table);
  }
  if (!t.needs_build || v.is_null()) return json_to_py(v);
  switch (t.kind) {
    case schema::Kind::list: {
      py::list items;
      std::size_t i = 0;
      for (auto& item : v) items.append(build_value(t.items[0], item, child(note, i++), table));
      switch (t.container) {
        case schema::Container::tuple: return py::tuple(items);
        case schema::Container::set: return steal(PySet_New(items.ptr()));
        case schema::Container::frozenset: return steal(PyFrozenSet_New(items.ptr()));
        default: return items;
      }
    }
    case schema::Kind::dict: {
      py::dict out;
      std::size_t i = 0;
      for (auto it = v.begin(); it != v.end(); ++it)
        out[py::str(it.key())] = build_value(t.items[0], it.value(), child(note, i++), table);
      return out;
    }
    case schema::Kind::tuple: {
      py::tuple out(t.items.size());
      for (std::size_t i = 0; i < t.items.size() && i < v.size(); ++i)
        out[i] = build_value(t.items[i], v[i], child(note, i), table);
      return out;
    }
    case schema::Kind::union_:
      throw std::logic_error("argument builder: a union without its validation note");
    case schema::Kind::enum_:
      return table.classes.at(static_cast<std::size_t>(t.ref))(json_to_py(v));
    case schema::Kind::object:
      return build_object(t, v, note, table);
    case schema::Kind::bytes: {
      const auto& b = v.get_binary();
      return steal(PyBytes_FromStringAndSize(reinterpret_cast<const char*>(b.data()), static_cast<Py_ssize_t>(b.size())));
    }
    case schema::Kind::datetime: return from_iso(table.datetime_type, "datetime", "datetime", v);
    case schema::Kind::date: return from_iso(table.date_type, "datetime", "date", v);
    case schema::Kind::time: return from_iso(table.time_type, "datetime", "time", v);
    case schema::Kind::uuid:
      if (!table.uuid_type) table.uuid_type = py::module_::import("uuid").attr("UUID");
      return table.uuid_type(v.get<std::string>());
    case schema::Kind::ndarray: return build_ndarray(t, v, note, table);
    case schema::Kind::dataframe: return build_dataframe(v, table);
    default: return json_to_py(v);
  }
}

}  // namespace mvi::python
