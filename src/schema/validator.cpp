// Lax validation of JSON values against a TypeDesc (pydantic v2 semantics, FastAPI error shape).
// Pure functions; thread-safe. Recursion depth is bounded by the parser's JSON depth limit.
#include "mvi/schema/validator.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace mvi::schema {
namespace {

using json = nlohmann::json;

json at(const json& loc, const json& key) {
  json out = loc;
  out.push_back(key);
  return out;
}

void add(Errors& errors, const char* type, const json& loc, std::string msg, const json& input) {
  errors.push_back({type, loc, std::move(msg), input});
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
      add(errors, "finite_number", loc, "Input should be a finite number", v);
      return false;
    }
    if (std::trunc(d) != d) {
      add(errors, "int_from_float", loc, "Input should be a valid integer, got a number with a fractional part", v);
      return false;
    }
    if (d < -9.2233720368547758e18 || d >= 9.2233720368547758e18) {
      add(errors, "int_parsing_size", loc, "Unable to parse input string as an integer, exceeded maximum size", v);
      return false;
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
      add(errors, "int_parsing", loc, "Input should be a valid integer, unable to parse string as an integer", v);
      return false;
    }
    errno = 0;
    long long n = std::strtoll(digits.c_str(), nullptr, 10);
    if (errno == ERANGE) {
      add(errors, "int_parsing_size", loc, "Unable to parse input string as an integer, exceeded maximum size", v);
      return false;
    }
    v = static_cast<std::int64_t>(n);
    return true;
  }
  add(errors, "int_type", loc, "Input should be a valid integer", v);
  return false;
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
      add(errors, "float_parsing", loc, "Input should be a valid number, unable to parse string as a number", v);
      return false;
    }
    v = d;
    return true;
  }
  add(errors, "float_type", loc, "Input should be a valid number", v);
  return false;
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
    add(errors, "bool_type", loc, "Input should be a valid boolean", v);
    return false;
  }
  add(errors, "bool_parsing", loc, "Input should be a valid boolean, unable to interpret input", v);
  return false;
}

std::string python_repr(const json& v) {
  if (v.is_string()) return "'" + v.get<std::string>() + "'";
  if (v.is_boolean()) return v.get<bool>() ? "True" : "False";
  if (v.is_null()) return "None";
  return v.dump();
}

bool validate_literal(const TypeDesc& t, json& v, const json& loc, Errors& errors) {
  for (const auto& allowed : t.literal_values)
    if (allowed == v && allowed.is_boolean() == v.is_boolean() && allowed.is_number_float() == v.is_number_float())
      return true;
  std::string expected;
  const auto n = t.literal_values.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (i) expected += (i + 1 == n) ? " or " : ", ";
    expected += python_repr(t.literal_values[i]);
  }
  add(errors, "literal_error", loc, "Input should be " + expected, v);
  return false;
}

// Whether `v` already has the JSON shape of kind `k`, for the exact-match pass of unions.
bool exact_shape(Kind k, const json& v) {
  switch (k) {
    case Kind::any: return true;
    case Kind::str: return v.is_string();
    case Kind::int_: return v.is_number_integer();
    case Kind::float_: return v.is_number_float();
    case Kind::bool_: return v.is_boolean();
    case Kind::none: return v.is_null();
    case Kind::list:
    case Kind::tuple: return v.is_array();
    case Kind::dict: return v.is_object();
    case Kind::union_:
    case Kind::literal: return false;
  }
  return false;
}

bool validate_union(const TypeDesc& t, json& v, const json& loc, Errors& errors) {
  // Optional[X]: null, or X with X's own errors (no per-option tag), as pydantic reports it.
  if (t.items.size() == 2 && (t.items[0].kind == Kind::none || t.items[1].kind == Kind::none)) {
    if (v.is_null()) return true;
    const TypeDesc& inner = t.items[0].kind == Kind::none ? t.items[1] : t.items[0];
    return validate(inner, v, loc, errors);
  }
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& option : t.items) {
      if (pass == 0 && !exact_shape(option.kind, v)) continue;
      json candidate = v;
      Errors scratch;
      if (validate(option, candidate, loc, scratch)) {
        v = std::move(candidate);
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

}  // namespace

json ValidationError::to_json() const {
  return {{"type", type}, {"loc", loc}, {"msg", msg}, {"input", input}};
}

json errors_body(const Errors& errors) {
  json detail = json::array();
  for (const auto& e : errors) detail.push_back(e.to_json());
  return {{"detail", std::move(detail)}};
}

bool validate(const TypeDesc& t, json& v, const json& loc, Errors& errors) {
  switch (t.kind) {
    case Kind::any: return true;
    case Kind::str:
      if (v.is_string()) return true;
      add(errors, "string_type", loc, "Input should be a valid string", v);
      return false;
    case Kind::int_: return validate_int(v, loc, errors);
    case Kind::float_: return validate_float(v, loc, errors);
    case Kind::bool_: return validate_bool(v, loc, errors);
    case Kind::none:
      if (v.is_null()) return true;
      add(errors, "none_required", loc, "Input should be None", v);
      return false;
    case Kind::list: {
      if (!v.is_array()) {
        add(errors, "list_type", loc, "Input should be a valid list", v);
        return false;
      }
      bool ok = true;
      for (std::size_t i = 0; i < v.size(); ++i) ok &= validate(t.items[0], v[i], at(loc, i), errors);
      return ok;
    }
    case Kind::tuple: {
      if (!v.is_array()) {
        add(errors, "tuple_type", loc, "Input should be a valid tuple", v);
        return false;
      }
      if (v.size() > t.items.size()) {
        add(errors, "too_long", loc,
            "Tuple should have at most " + std::to_string(t.items.size()) + " items after validation, not " +
                std::to_string(v.size()),
            v);
        return false;
      }
      bool ok = true;
      for (std::size_t i = 0; i < t.items.size(); ++i) {
        if (i >= v.size()) {
          add(errors, "missing", at(loc, i), "Field required", v);
          ok = false;
        } else {
          ok &= validate(t.items[i], v[i], at(loc, i), errors);
        }
      }
      return ok;
    }
    case Kind::dict: {
      if (!v.is_object()) {
        add(errors, "dict_type", loc, "Input should be a valid dictionary", v);
        return false;
      }
      bool ok = true;
      for (auto it = v.begin(); it != v.end(); ++it) ok &= validate(t.items[0], it.value(), at(loc, it.key()), errors);
      return ok;
    }
    case Kind::union_: return validate_union(t, v, loc, errors);
    case Kind::literal: return validate_literal(t, v, loc, errors);
  }
  return true;
}

}  // namespace mvi::schema
