// Lax validation of JSON values against a TypeDesc (pydantic v2 semantics, FastAPI error shape).
// Pure functions; thread-safe. Recursion depth is bounded by the parser's JSON depth limit.
#include "mvi/schema/validator.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>

#include "mvi/core/json.hpp"
#include "mvi/schema/formats.hpp"
#include "mvi/schema/ndarray.hpp"

namespace mvi::schema {
namespace {

using json = nlohmann::ordered_json;

json at(const json& loc, const json& key) {
  json out = loc;
  out.push_back(key);
  return out;
}

void add(Errors& errors, const char* type, const json& loc, std::string msg, const json& input) {
  errors.push_back({type, loc, std::move(msg), input});
}

// add(), then false: the value failed.
bool fail(Errors& errors, const char* type, const json& loc, std::string msg, const json& input) {
  add(errors, type, loc, std::move(msg), input);
  return false;
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

bool validate_int(json& v, const json& loc, Errors& errors) {
  if (v.is_number_integer()) return true;
  if (v.is_boolean()) {
    v = v.get<bool>() ? 1 : 0;
    return true;
  }
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (!std::isfinite(d)) {
      return fail(errors, "finite_number", loc, "Input should be a finite number", v);
    }
    if (std::trunc(d) != d) {
      return fail(errors, "int_from_float", loc, "Input should be a valid integer, got a number with a fractional part", v);
    }
    // A JSON integer beyond int64 arrives as a double; -2^63 exactly may be such a rounded value.
    if (d <= -9.2233720368547758e18 || d >= 9.2233720368547758e18) {
      return fail(errors, "int_parsing_size", loc, "Unable to parse input string as an integer, exceeded maximum size", v);
    }
    v = static_cast<std::int64_t>(d);
    return true;
  }
  if (v.is_string()) {
    std::string s = trim(v.get<std::string>());
    // Digits with an optional sign, and a whole-number ".0" tail that pydantic also accepts.
    std::string digits = s;
    auto dot = digits.find('.');
    if (dot != std::string::npos && digits.find_first_not_of('0', dot + 1) == std::string::npos && dot + 1 < digits.size())
      digits = digits.substr(0, dot);
    std::size_t i = (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) ? 1 : 0;
    bool ok = i < digits.size() &&
              std::all_of(digits.begin() + static_cast<long>(i), digits.end(),
                          [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
    if (!ok) {
      return fail(errors, "int_parsing", loc, "Input should be a valid integer, unable to parse string as an integer", v);
    }
    errno = 0;
    long long n = std::strtoll(digits.c_str(), nullptr, 10);
    if (errno == ERANGE) {
      return fail(errors, "int_parsing_size", loc, "Unable to parse input string as an integer, exceeded maximum size", v);
    }
    v = static_cast<std::int64_t>(n);
    return true;
  }
  return fail(errors, "int_type", loc, "Input should be a valid integer", v);
}

bool validate_float(json& v, const json& loc, Errors& errors) {
  if (v.is_number_float()) return true;
  if (v.is_number()) {
    v = v.get<double>();
    return true;
  }
  if (v.is_boolean()) {
    v = v.get<bool>() ? 1.0 : 0.0;
    return true;
  }
  if (v.is_string()) {
    std::string s = trim(v.get<std::string>());
    char* end = nullptr;
    errno = 0;
    // strtod also reads C hex floats ("0x10"), which Python's float() does not.
    bool hex = s.find_first_of("xX") != std::string::npos;
    double d = s.empty() || hex ? 0.0 : std::strtod(s.c_str(), &end);
    if (s.empty() || hex || end != s.c_str() + s.size()) {
      return fail(errors, "float_parsing", loc, "Input should be a valid number, unable to parse string as a number", v);
    }
    v = d;
    return true;
  }
  return fail(errors, "float_type", loc, "Input should be a valid number", v);
}

// An int stays an int and a float a float; text is read as an int when it is one, else as a float.
bool validate_number(json& v, const json& loc, Errors& errors) {
  if (v.is_number()) return true;
  if (v.is_boolean()) return validate_int(v, loc, errors);
  if (v.is_string()) {
    Errors ignored;
    json as_int = v;
    if (v.get_ref<const std::string&>().find_first_of(".eE") == std::string::npos &&
        validate_int(as_int, loc, ignored))
      return (v = std::move(as_int)), true;
    return validate_float(v, loc, errors);
  }
  return fail(errors, "float_type", loc, "Input should be a valid number", v);
}

bool validate_bool(json& v, const json& loc, Errors& errors) {
  if (v.is_boolean()) return true;
  if (v.is_number()) {
    double d = v.get<double>();
    if (d == 0.0 || d == 1.0) {
      v = d == 1.0;
      return true;
    }
  } else if (v.is_string()) {
    std::string s = trim(v.get<std::string>());
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    static const char* kTrue[] = {"1", "on", "t", "true", "y", "yes"};
    static const char* kFalse[] = {"0", "off", "f", "false", "n", "no"};
    for (const char* t : kTrue)
      if (s == t) return (v = true), true;
    for (const char* f : kFalse)
      if (s == f) return (v = false), true;
  } else {
    return fail(errors, "bool_type", loc, "Input should be a valid boolean", v);
  }
  return fail(errors, "bool_parsing", loc, "Input should be a valid boolean, unable to interpret input", v);
}

std::string python_repr(const json& v) {
  if (v.is_string()) return "'" + v.get<std::string>() + "'";
  if (v.is_boolean()) return v.get<bool>() ? "True" : "False";
  if (v.is_null()) return "None";
  return v.dump();
}

// "'a', 'b' or 3", as pydantic lists the allowed values.
std::string one_of(const json& values) {
  std::string out;
  const auto n = values.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (i) out += (i + 1 == n) ? " or " : ", ";
    out += python_repr(values[i]);
  }
  return out;
}

// Equal and of the same JSON type: True is not 1, 1.0 is not 1.
bool is_one_of(const json& values, const json& v) {
  for (const auto& allowed : values)
    if (allowed == v && allowed.is_boolean() == v.is_boolean() && allowed.is_number_float() == v.is_number_float())
      return true;
  return false;
}

bool validate_literal(const TypeDesc& t, json& v, const json& loc, Errors& errors) {
  if (is_one_of(t.values, v)) return true;
  return fail(errors, "literal_error", loc, "Input should be " + one_of(t.values), v);
}

// Whether `v` already has the JSON shape of kind `k`, for the exact-match pass of unions.
bool exact_shape(Kind k, const json& v) {
  switch (k) {
    case Kind::any: return true;
    case Kind::str: return v.is_string();
    case Kind::int_: return v.is_number_integer();
    case Kind::float_: return v.is_number_float();
    case Kind::number: return v.is_number();
    case Kind::bool_: return v.is_boolean();
    case Kind::none: return v.is_null();
    case Kind::list:
    case Kind::tuple: return v.is_array();
    case Kind::dict: return v.is_object();
    case Kind::bytes:
    case Kind::datetime:
    case Kind::date:
    case Kind::time:
    case Kind::uuid: return v.is_string();
    case Kind::object: return v.is_object();
    case Kind::ndarray: return v.is_array();
    case Kind::dataframe: return v.is_object() || v.is_array();
    case Kind::union_:
    case Kind::literal:
    case Kind::enum_: return false;
  }
  return false;
}

// Records the choice only where the builder will look: a union some option of which needs building.
void note_choice(const TypeDesc& t, BuildNote* note, std::size_t index, BuildNote chosen) {
  if (!note || !t.needs_build) return;
  note->choice = index;
  note->children.clear();
  note->children.push_back(std::move(chosen));
}

// The note for child `i` of a value being validated, or null when nothing is recorded below here.
BuildNote* child_note(const TypeDesc& t, BuildNote* note, std::size_t count, std::size_t i) {
  if (!note || !t.needs_build) return nullptr;
  if (note->children.size() != count) note->children.resize(count);
  return &note->children[i];
}

bool validate_union(const TypeDesc& t, json& v, const json& loc, Errors& errors, BuildNote* note) {
  // Optional[X]: null, or X with X's own errors (no per-option tag), as pydantic reports it.
  if (t.items.size() == 2 && (t.items[0].kind == Kind::none || t.items[1].kind == Kind::none)) {
    const std::size_t inner = t.items[0].kind == Kind::none ? 1 : 0;
    if (v.is_null()) {
      note_choice(t, note, 1 - inner, {});
      return true;
    }
    BuildNote chosen;
    if (!validate(t.items[inner], v, loc, errors, note ? &chosen : nullptr)) return false;
    note_choice(t, note, inner, std::move(chosen));
    return true;
  }
  for (int pass = 0; pass < 2; ++pass) {
    for (std::size_t i = 0; i < t.items.size(); ++i) {
      const auto& option = t.items[i];
      if (pass == 0 && !exact_shape(option.kind, v)) continue;
      json candidate = v;
      Errors scratch;
      BuildNote chosen;
      if (validate(option, candidate, loc, scratch, note ? &chosen : nullptr)) {
        v = std::move(candidate);
        note_choice(t, note, i, std::move(chosen));
        return true;
      }
    }
  }
  for (const auto& option : t.items) {
    json candidate = v;
    validate(option, candidate, at(loc, display_name(option)), errors);
  }
  return false;
}


bool validate_string_format(Kind kind, json& v, const json& loc, Errors& errors) {
  struct Spec {
    const char* parse_type;
    const char* parse_msg;
    const char* type_type;
    const char* type_msg;
  };
  static const Spec kDatetime{"datetime_parsing", "Input should be a valid datetime, invalid format (ISO 8601 expected)",
                              "datetime_type", "Input should be a valid datetime"};
  static const Spec kDate{"date_parsing", "Input should be a valid date in the format YYYY-MM-DD", "date_type",
                          "Input should be a valid date"};
  static const Spec kTime{"time_parsing", "Input should be in a valid time format (HH:MM[:SS[.ffffff]])", "time_type",
                          "Input should be a valid time"};
  static const Spec kUuid{"uuid_parsing", "Input should be a valid UUID", "uuid_type", "UUID input should be a string"};
  const Spec& spec = kind == Kind::datetime ? kDatetime : kind == Kind::date ? kDate : kind == Kind::time ? kTime : kUuid;
  std::optional<std::string> out;
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    out = kind == Kind::datetime ? normalize_datetime(s)
          : kind == Kind::date   ? normalize_date(s)
          : kind == Kind::time   ? normalize_time(s)
                                 : normalize_uuid(s);
    if (!out) {
      return fail(errors, spec.parse_type, loc, spec.parse_msg, v);
    }
  } else if (kind == Kind::datetime && v.is_number() && !v.is_boolean()) {
    out = unix_to_iso(v.get<double>());  // lax mode: Unix seconds
    if (!out) {
      return fail(errors, spec.parse_type, loc, spec.parse_msg, v);
    }
  } else {
    return fail(errors, spec.type_type, loc, spec.type_msg, v);
  }
  v = std::move(*out);
  return true;
}

bool validate_bytes(json& v, const json& loc, Errors& errors) {
  if (!v.is_string()) {
    return fail(errors, "bytes_type", loc, "Input should be a valid base64 string", v);
  }
  auto decoded = decode_base64(v.get_ref<const std::string&>());
  if (!decoded) {
    return fail(errors, "base64_decode", loc, "Base64 decoding error: invalid character or length", v);
  }
  v = json::binary(std::move(*decoded));
  return true;
}

bool validate_enum(const TypeDesc& t, json& v, const json& loc, Errors& errors) {
  if (is_one_of(t.values, v)) return true;
  // Lax: "2" for an int-valued member, as query strings carry everything as text.
  if (v.is_string()) {
    for (const auto& allowed : t.values) {
      if (!allowed.is_number_integer()) continue;
      json candidate = v;
      Errors scratch;
      if (validate_int(candidate, loc, scratch) && candidate == allowed) {
        v = allowed;
        return true;
      }
    }
  }
  return fail(errors, "enum", loc, "Input should be " + one_of(t.values), v);
}

bool validate_object(const TypeDesc& t, json& v, const json& loc, Errors& errors, BuildNote* note) {
  if (!v.is_object()) {
    if (t.construct == Construct::typeddict) add(errors, "dict_type", loc, "Input should be a valid dictionary", v);
    else if (t.construct == Construct::dataclass)
      add(errors, "dataclass_type", loc, "Input should be a dictionary or an instance of " + t.name, v);
    else add(errors, "model_type", loc, "Input should be a valid dictionary or instance of " + t.name, v);
    return false;
  }
  // Missing-field errors show the object as sent, before coercion rewrites it (copied only then).
  std::optional<json> as_sent;
  for (const auto& f : t.fields)
    if (f.required && !v.contains(f.name)) {
      as_sent = v;
      break;
    }
  bool ok = true;
  json out = json::object();
  for (std::size_t i = 0; i < t.fields.size(); ++i) {
    const auto& f = t.fields[i];
    auto it = v.find(f.name);
    if (it == v.end()) {
      if (f.required) {
        add(errors, "missing", at(loc, f.name), "Field required", *as_sent);
        ok = false;
      }
      continue;
    }
    ok &= validate(f.type, *it, at(loc, f.name), errors, child_note(t, note, t.fields.size(), i));
    if (ok) append_member(out, f.name, std::move(*it));  // declared fields are distinct
  }
  // Unknown keys are dropped (FastAPI's default), so the constructor never sees them.
  if (ok) v = std::move(out);
  return ok;
}

bool validate_dataframe(const TypeDesc& t, json& v, const json& loc, Errors& errors) {
  static const char* kMsg = "Input should be a table: {column: [values]}, {column: {index: value}} or [{column: value}]";
  std::vector<std::string> seen;
  if (v.is_object()) {
    std::size_t rows = 0;
    bool first = true;
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (!it->is_array() && !it->is_object()) {
        return fail(errors, "dataframe_type", at(loc, it.key()), kMsg, *it);
      }
      if (it->is_array()) {
        if (!first && it->size() != rows) {
          return fail(errors, "dataframe_shape", at(loc, it.key()), "All columns must have the same length", *it);
        }
        rows = it->size();
        first = false;
      }
      seen.push_back(it.key());
    }
  } else if (v.is_array()) {
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (!v[i].is_object()) {
        return fail(errors, "dataframe_type", at(loc, i), kMsg, v[i]);
      }
      if (i == 0)
        for (auto it = v[i].begin(); it != v[i].end(); ++it) seen.push_back(it.key());
    }
  } else {
    return fail(errors, "dataframe_type", loc, kMsg, v);
  }
  for (const auto& c : t.columns) {
    if (std::find(seen.begin(), seen.end(), c) == seen.end() && !(v.is_array() && v.empty())) {
      return fail(errors, "missing", at(loc, c), "Column required", nullptr);
    }
  }
  return true;
}

}  // namespace

json ValidationError::to_json() const {
  return {{"type", type}, {"loc", loc}, {"msg", msg}, {"input", input}};
}

json errors_body(const Errors& errors) {
  json detail = json::array();
  for (const auto& e : errors) detail.push_back(e.to_json());
  return {{"detail", std::move(detail)}};
}

bool validate(const TypeDesc& t, json& v, const json& loc, Errors& errors, BuildNote* note) {
  switch (t.kind) {
    case Kind::any: return true;
    case Kind::str:
      if (v.is_string()) return true;
      return fail(errors, "string_type", loc, "Input should be a valid string", v);
    case Kind::int_: return validate_int(v, loc, errors);
    case Kind::float_: return validate_float(v, loc, errors);
    case Kind::number: return validate_number(v, loc, errors);
    case Kind::bool_: return validate_bool(v, loc, errors);
    case Kind::none:
      if (v.is_null()) return true;
      return fail(errors, "none_required", loc, "Input should be None", v);
    case Kind::list: {
      if (!v.is_array()) {
        return fail(errors, "list_type", loc, "Input should be a valid list", v);
      }
      bool ok = true;
      for (std::size_t i = 0; i < v.size(); ++i)
        ok &= validate(t.items[0], v[i], at(loc, i), errors, child_note(t, note, v.size(), i));
      return ok;
    }
    case Kind::tuple: {
      if (!v.is_array()) {
        return fail(errors, "tuple_type", loc, "Input should be a valid tuple", v);
      }
      if (v.size() > t.items.size()) {
        return fail(errors, "too_long", loc,
            "Tuple should have at most " + std::to_string(t.items.size()) + " items after validation, not " +
                std::to_string(v.size()),
            v);
      }
      bool ok = true;
      for (std::size_t i = 0; i < t.items.size(); ++i) {
        if (i >= v.size()) {
          add(errors, "missing", at(loc, i), "Field required", v);
          ok = false;
        } else {
          ok &= validate(t.items[i], v[i], at(loc, i), errors, child_note(t, note, t.items.size(), i));
        }
      }
      return ok;
    }
    case Kind::dict: {
      if (!v.is_object()) {
        return fail(errors, "dict_type", loc, "Input should be a valid dictionary", v);
      }
      bool ok = true;
      std::size_t i = 0;
      for (auto it = v.begin(); it != v.end(); ++it, ++i)
        ok &= validate(t.items[0], it.value(), at(loc, it.key()), errors, child_note(t, note, v.size(), i));
      return ok;
    }
    case Kind::union_: return validate_union(t, v, loc, errors, note);
    case Kind::literal: return validate_literal(t, v, loc, errors);
    case Kind::bytes: return validate_bytes(v, loc, errors);
    case Kind::datetime:
    case Kind::date:
    case Kind::time:
    case Kind::uuid: return validate_string_format(t.kind, v, loc, errors);
    case Kind::enum_: return validate_enum(t, v, loc, errors);
    case Kind::object: return validate_object(t, v, loc, errors, note);
    case Kind::ndarray: return pack_ndarray(t, v, loc, errors, note);
    case Kind::dataframe: return validate_dataframe(t, v, loc, errors);
  }
  return true;
}

namespace {

bool shaped_by_encoder(const TypeDesc& t) {
  if (t.kind == Kind::ndarray || t.kind == Kind::dataframe) return true;
  for (const auto& i : t.items)
    if (shaped_by_encoder(i)) return true;
  // Objects are not followed: a recursive model would loop, and an array field in a model is rare enough to
  // be checked like any other field (its JSON is a list).
  return false;
}

void fill_defaults(const TypeDesc& t, json& v) {
  switch (t.kind) {
    case Kind::object: {
      if (!v.is_object()) return;
      json out = json::object();  // in declaration order, as a model serialises
      for (const auto& f : t.fields) {
        auto it = v.find(f.name);
        if (it != v.end()) {
          fill_defaults(f.type, *it);
          out[f.name] = std::move(*it);
        } else if (f.default_value) {
          out[f.name] = *f.default_value;
        }
      }
      v = std::move(out);
      return;
    }
    case Kind::list:
      if (v.is_array() && !t.items.empty())
        for (auto& e : v) fill_defaults(t.items[0], e);
      return;
    case Kind::tuple:
      if (v.is_array())
        for (std::size_t i = 0; i < v.size() && i < t.items.size(); ++i) fill_defaults(t.items[i], v[i]);
      return;
    case Kind::dict:
      if (v.is_object() && !t.items.empty())
        for (auto& [k, e] : v.items()) fill_defaults(t.items[0], e);
      return;
    case Kind::union_:
      // Optional[X] only: which option of another union matched is not known here.
      if (!v.is_null() && t.items.size() == 2 && (t.items[0].kind == Kind::none || t.items[1].kind == Kind::none))
        fill_defaults(t.items[t.items[0].kind == Kind::none ? 1 : 0], v);
      return;
    default: return;
  }
}

}  // namespace

bool result_is_checked(const TypeDesc& type) { return type.kind != Kind::any && !shaped_by_encoder(type); }

bool validate_result(const TypeDesc& type, json& value, Errors& errors) {
  if (!result_is_checked(type)) return true;
  if (!validate(type, value, json::array({"response"}), errors)) return false;
  fill_defaults(type, value);
  return true;
}

}  // namespace mvi::schema
