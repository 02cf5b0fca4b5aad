// TypeDesc from and to its JSON form. Pure functions; thread-safe.
#include "mvi/schema/type_desc.hpp"

#include <unordered_map>

#include "mvi/core/error.hpp"

namespace mvi::schema {
namespace {

const std::unordered_map<std::string, Kind>& kinds() {
  static const std::unordered_map<std::string, Kind> table = {
      {"any", Kind::any},       {"str", Kind::str},     {"int", Kind::int_},
      {"float", Kind::float_},  {"bool", Kind::bool_},  {"none", Kind::none},
      {"list", Kind::list},     {"dict", Kind::dict},   {"tuple", Kind::tuple},
      {"union", Kind::union_},  {"literal", Kind::literal},
  };
  return table;
}

const char* kind_name(Kind k) {
  for (const auto& [name, kind] : kinds())
    if (kind == k) return name.c_str();
  return "any";
}

}  // namespace

TypeDesc parse_type_desc(const nlohmann::json& j, const std::string& where) {
  auto fail = [&](const std::string& why) {
    return core::Error::load_failed(where + ": invalid type description (" + why + "): " +
                                    j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  };
  if (!j.is_object() || !j.contains("kind") || !j["kind"].is_string()) throw fail("no kind");
  auto it = kinds().find(j["kind"].get<std::string>());
  if (it == kinds().end()) throw fail("unknown kind");
  TypeDesc t;
  t.kind = it->second;
  switch (t.kind) {
    case Kind::list:
      t.items.push_back(j.contains("items") ? parse_type_desc(j["items"], where) : TypeDesc{});
      break;
    case Kind::dict:
      t.items.push_back(j.contains("values") ? parse_type_desc(j["values"], where) : TypeDesc{});
      break;
    case Kind::tuple:
    case Kind::union_: {
      const char* key = t.kind == Kind::tuple ? "items" : "options";
      if (!j.contains(key) || !j[key].is_array()) throw fail(std::string("no ") + key);
      for (const auto& item : j[key]) t.items.push_back(parse_type_desc(item, where));
      if (t.kind == Kind::union_ && t.items.empty()) throw fail("empty union");
      break;
    }
    case Kind::literal:
      if (!j.contains("values") || !j["values"].is_array() || j["values"].empty()) throw fail("no values");
      t.literal_values = j["values"];
      break;
    default:
      break;
  }
  return t;
}

nlohmann::json to_json(const TypeDesc& t) {
  nlohmann::json j = {{"kind", kind_name(t.kind)}};
  switch (t.kind) {
    case Kind::list: j["items"] = to_json(t.items.at(0)); break;
    case Kind::dict: j["values"] = to_json(t.items.at(0)); break;
    case Kind::tuple:
    case Kind::union_: {
      auto arr = nlohmann::json::array();
      for (const auto& item : t.items) arr.push_back(to_json(item));
      j[t.kind == Kind::tuple ? "items" : "options"] = std::move(arr);
      break;
    }
    case Kind::literal: j["values"] = t.literal_values; break;
    default: break;
  }
  return j;
}

std::string display_name(const TypeDesc& t) {
  switch (t.kind) {
    case Kind::list: return "list[" + display_name(t.items.at(0)) + "]";
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
      return "Literal" + t.literal_values.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    case Kind::none: return "None";
    default: return kind_name(t.kind);
  }
}

}  // namespace mvi::schema
