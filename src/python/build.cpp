// Type-directed JSON → Python construction. Values whose TypeDesc needs no building take the
// plain json_to_py path; everything else is built recursively here.
#include "build.hpp"

#include "convert.hpp"
#include "mvi/schema/ndarray.hpp"
#include "mvi/schema/validator.hpp"
#include "owned_buffer.hpp"

namespace py = pybind11;
using json = nlohmann::json;

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

py::object build_ndarray(const schema::TypeDesc& t, json& v, FunctionTable& table) {
  py::object& np = lazy_module(table.numpy, "numpy");
  if (auto packed = schema::packed_array(v)) {
    py::tuple shape(packed->shape.size());
    for (std::size_t i = 0; i < packed->shape.size(); ++i) shape[i] = py::int_(packed->shape[i]);
    // The packed bytes move into a Python object that numpy uses in place (writable): no copy.
    lazy_module(table.native, "_mvi_native");  // registers OwnedBuffer
    auto& data = static_cast<std::vector<std::uint8_t>&>(v.at("data").get_binary());
    py::object buffer = py::cast(OwnedBuffer{std::move(data)});
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

py::object build_object(const schema::TypeDesc& t, json& v, FunctionTable& table) {
  py::dict kwargs;
  for (const auto& f : t.fields) {
    auto it = v.find(f.name);
    if (it != v.end()) kwargs[py::str(f.name)] = build_value(f.type, *it, table);
  }
  if (t.construct == schema::Construct::typeddict) return kwargs;
  return table.classes.at(static_cast<std::size_t>(t.ref))(**kwargs);
}

py::object from_iso(py::object& type, const char* module, const char* attr, const json& v) {
  if (!type) type = py::module_::import(module).attr(attr);
  return type.attr("fromisoformat")(v.get<std::string>());
}

}  // namespace

py::object build_value(const schema::TypeDesc& t, json& v, FunctionTable& table) {
  if (!t.needs_build || v.is_null()) return json_to_py(v);
  switch (t.kind) {
    case schema::Kind::list: {
      py::list items;
      for (auto& item : v) items.append(build_value(t.items[0], item, table));
      switch (t.container) {
        case schema::Container::tuple: return py::tuple(items);
        case schema::Container::set: return steal(PySet_New(items.ptr()));
        case schema::Container::frozenset: return steal(PyFrozenSet_New(items.ptr()));
        default: return items;
      }
    }
    case schema::Kind::dict: {
      py::dict out;
      for (auto it = v.begin(); it != v.end(); ++it) out[py::str(it.key())] = build_value(t.items[0], it.value(), table);
      return out;
    }
    case schema::Kind::tuple: {
      py::tuple out(t.items.size());
      for (std::size_t i = 0; i < t.items.size() && i < v.size(); ++i) out[i] = build_value(t.items[i], v[i], table);
      return out;
    }
    case schema::Kind::union_: {
      auto choice = v.is_object() ? v.find(schema::kUnionChoiceKey) : v.end();
      if (choice == v.end()) return json_to_py(v);  // a plain-JSON option validated
      return build_value(t.items.at(choice->get<std::size_t>()), v.at("value"), table);
    }
    case schema::Kind::enum_:
      return table.classes.at(static_cast<std::size_t>(t.ref))(json_to_py(v));
    case schema::Kind::object:
      return build_object(t, v, table);
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
    case schema::Kind::ndarray: return build_ndarray(t, v, table);
    case schema::Kind::dataframe: return build_dataframe(v, table);
    default: return json_to_py(v);
  }
}

}  // namespace mvi::python
