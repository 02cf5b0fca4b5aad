// TypeDesc from and to its JSON form. Pure functions; thread-safe.
#include "mvi/schema/type_desc.hpp"

#include "mvi/core/json.hpp"

#include <algorithm>
#include <unordered_map>

#include "mvi/core/error.hpp"

namespace mvi::schema {

using json = nlohmann::ordered_json;

namespace {

const std::vector<std::pair<std::string, Kind>>& kinds() {
  static const std::vector<std::pair<std::string, Kind>> table = {
      {"any", Kind::any},         {"str", Kind::str},         {"int", Kind::int_},
      {"float", Kind::float_},    {"bool", Kind::bool_},      {"none", Kind::none},
      {"bytes", Kind::bytes},     {"datetime", Kind::datetime}, {"date", Kind::date},
      {"time", Kind::time},       {"uuid", Kind::uuid},       {"list", Kind::list},
      {"dict", Kind::dict},       {"tuple", Kind::tuple},     {"union", Kind::union_},
      {"literal", Kind::literal}, {"enum", Kind::enum_},      {"object", Kind::object},
      {"ndarray", Kind::ndarray}, {"dataframe", Kind::dataframe}, {"number", Kind::number},
  };
  return table;
}

const char* kind_name(Kind k) {
  for (const auto& [name, kind] : kinds())
    if (kind == k) return name.c_str();
  return "any";
}

const char* container_name(Container c) {
  switch (c) {
    case Container::tuple: return "tuple";
    case Container::set: return "set";
    case Container::frozenset: return "frozenset";
    default: return "list";
  }
}

const char* construct_name(Construct c) {
  switch (c) {
    case Construct::typeddict: return "typeddict";
    case Construct::pydantic: return "pydantic";
    default: return "dataclass";
  }
}

std::string str_or(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool any_needs_build(const std::vector<TypeDesc>& items) {
  for (const auto& i : items)
    if (i.needs_build) return true;
  return false;
}

}  // namespace

TypeDesc parse_type_desc(const json& j, const std::string& where) {
  auto fail = [&](const std::string& why) {
    return core::Error::load_failed(where + ": invalid type description (" + why +
                                    "): " + dump_json(j));
  };
  if (!j.is_object() || !j.contains("kind") || !j["kind"].is_string()) throw fail("no kind");
  const std::string kind = j["kind"].get<std::string>();
  TypeDesc t;
  bool known = false;
  for (const auto& [name, k] : kinds())
    if (name == kind) t.kind = k, known = true;
  if (!known) throw fail("unknown kind '" + kind + "'");

  switch (t.kind) {
    case Kind::list: {
      t.items.push_back(j.contains("items") ? parse_type_desc(j["items"], where) : TypeDesc{});
      std::string c = str_or(j, "container");
      if (c == "tuple") t.container = Container::tuple;
      else if (c == "set") t.container = Container::set;
      else if (c == "frozenset") t.container = Container::frozenset;
      else if (!c.empty() && c != "list") throw fail("unknown container '" + c + "'");
      t.needs_build = t.container != Container::list || t.items[0].needs_build;
      break;
    }
    case Kind::dict:
      t.items.push_back(j.contains("values") ? parse_type_desc(j["values"], where) : TypeDesc{});
      t.needs_build = t.items[0].needs_build;
      break;
    case Kind::tuple:
    case Kind::union_: {
      const char* key = t.kind == Kind::tuple ? "items" : "options";
      if (!j.contains(key) || !j[key].is_array()) throw fail(std::string("no ") + key);
      for (const auto& item : j[key]) t.items.push_back(parse_type_desc(item, where));
      if (t.kind == Kind::union_ && t.items.empty()) throw fail("empty union");
      t.needs_build = t.kind == Kind::tuple || any_needs_build(t.items);
      break;
    }
    case Kind::literal:
    case Kind::enum_:
      if (!j.contains("values") || !j["values"].is_array() || j["values"].empty()) throw fail("no values");
      t.values = j["values"];
      if (t.kind == Kind::enum_) {
        t.name = str_or(j, "name");
        t.ref = j.value("ref", -1);
        if (t.ref < 0) throw fail("enum without a class ref");
        t.needs_build = true;
      }
      break;
    case Kind::object: {
      t.name = str_or(j, "name");
      t.description = str_or(j, "description");
      t.ref = j.contains("ref") && j["ref"].is_number_integer() ? j["ref"].get<int>() : -1;
      std::string c = str_or(j, "construct");
      if (c == "typeddict") t.construct = Construct::typeddict;
      else if (c == "pydantic") t.construct = Construct::pydantic;
      else if (c == "dataclass" || c.empty()) t.construct = Construct::dataclass;
      else throw fail("unknown construct '" + c + "'");
      if (t.construct != Construct::typeddict && t.ref < 0) throw fail("object without a class ref");
      if (!j.contains("fields") || !j["fields"].is_array()) throw fail("no fields");
      for (const auto& f : j["fields"]) {
        Field field;
        field.name = str_or(f, "name");
        if (field.name.empty()) throw fail("a field has no name");
        field.type = f.contains("type") ? parse_type_desc(f["type"], where + ", field '" + field.name + "'") : TypeDesc{};
        field.required = f.value("required", true);
        if (auto d = f.find("default"); d != f.end()) field.default_value = *d;
        t.fields.push_back(std::move(field));
      }
      t.needs_build = true;
      break;
    }
    case Kind::ndarray: {
      t.dtype = str_or(j, "dtype");
      t.any_elements = str_or(j, "elements") == "any";
      if (j.contains("shape") && j["shape"].is_array()) {
        t.has_shape = true;
        for (const auto& d : j["shape"]) t.shape.push_back(d.is_number_integer() ? d.get<std::int64_t>() : -1);
      }
      t.needs_build = true;
      break;
    }
    case Kind::dataframe:
      if (j.contains("columns") && j["columns"].is_array())
        for (const auto& c : j["columns"])
          if (c.is_string()) t.columns.push_back(c.get<std::string>());
      t.needs_build = true;
      break;
    case Kind::bytes:
    case Kind::datetime:
    case Kind::date:
    case Kind::time:
    case Kind::uuid:
      t.needs_build = true;
      break;
    default:
      break;
  }
  return t;
}

json to_json(const TypeDesc& t) {
  json j = {{"kind", kind_name(t.kind)}};
  switch (t.kind) {
    case Kind::list:
      j["items"] = to_json(t.items.at(0));
      if (t.container != Container::list) j["container"] = container_name(t.container);
      break;
    case Kind::dict: j["values"] = to_json(t.items.at(0)); break;
    case Kind::tuple:
    case Kind::union_: {
      auto arr = json::array();
      for (const auto& item : t.items) arr.push_back(to_json(item));
      j[t.kind == Kind::tuple ? "items" : "options"] = std::move(arr);
      break;
    }
    case Kind::literal: j["values"] = t.values; break;
    case Kind::enum_:
      j["values"] = t.values;
      j["name"] = t.name;
      j["ref"] = t.ref;
      break;
    case Kind::object: {
      j["name"] = t.name;
      if (t.ref >= 0) j["ref"] = t.ref;
      j["construct"] = construct_name(t.construct);
      auto fields = json::array();
      for (const auto& f : t.fields) {
        json field = {{"name", f.name}, {"type", to_json(f.type)}, {"required", f.required}};
        if (f.default_value) field["default"] = *f.default_value;
        fields.push_back(std::move(field));
      }
      j["fields"] = std::move(fields);
      break;
    }
    case Kind::ndarray: {
      j["dtype"] = t.dtype.empty() ? json(nullptr) : json(t.dtype);
      if (t.any_elements) j["elements"] = "any";
      if (t.has_shape) {
        auto shape = json::array();
        for (auto d : t.shape) shape.push_back(d < 0 ? json(nullptr) : json(d));
        j["shape"] = std::move(shape);
      } else {
        j["shape"] = nullptr;
      }
      break;
    }
    case Kind::dataframe:
      j["columns"] = t.columns.empty() ? json(nullptr) : json(t.columns);
      break;
    default: break;
  }
  return j;
}

namespace {

TypeDesc result_shape_of(const TypeDesc& t, std::vector<int>& path) {
  if (t.kind == Kind::float_ || t.kind == Kind::number) {
    TypeDesc u;
    u.kind = Kind::union_;
    u.items = {t, scalar(Kind::none)};
    return u;
  }
  if (t.kind == Kind::bytes || t.kind == Kind::datetime || t.kind == Kind::date || t.kind == Kind::time ||
      t.kind == Kind::uuid)
    return scalar(Kind::str);
  TypeDesc out = t;
  if (t.kind == Kind::object) {
    if (t.ref >= 0 && std::find(path.begin(), path.end(), t.ref) != path.end()) return out;
    path.push_back(t.ref);
    for (auto& f : out.fields) f.type = result_shape_of(f.type, path);
    path.pop_back();
    return out;
  }
  for (auto& item : out.items) item = result_shape_of(item, path);
  return out;
}

}  // namespace

TypeDesc result_shape(const TypeDesc& t) {
  std::vector<int> path;
  return result_shape_of(t, path);
}

std::string display_name(const TypeDesc& t) {
  switch (t.kind) {
    case Kind::list:
      return std::string(container_name(t.container)) + "[" + display_name(t.items.at(0)) +
             (t.container == Container::tuple ? ", ...]" : "]");
    case Kind::dict: return "dict[str, " + display_name(t.items.at(0)) + "]";
    case Kind::tuple:
    case Kind::union_: {
      std::string out = t.kind == Kind::tuple ? "tuple[" : "";
      for (std::size_t i = 0; i < t.items.size(); ++i) {
        if (i) out += t.kind == Kind::tuple ? ", " : " | ";
        out += display_name(t.items[i]);
      }
      return t.kind == Kind::tuple ? out + "]" : out;
    }
    case Kind::literal:
      return "Literal" + dump_json(t.values);
    case Kind::enum_:
    case Kind::object:
      return t.name.empty() ? kind_name(t.kind) : t.name;
    case Kind::ndarray: return t.dtype.empty() ? "ndarray" : "ndarray[" + t.dtype + "]";
    case Kind::dataframe: return "DataFrame";
    case Kind::none: return "None";
    default: return kind_name(t.kind);
  }
}

}  // namespace mvi::schema
