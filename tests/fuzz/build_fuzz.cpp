// Structure-aware libFuzzer target over what turns a request body into Python arguments: a generated
// type description (every TypeDesc kind, nested: unions, optionals, dataclasses, pydantic models,
// TypedDicts, Enums, ndarrays, DataFrames, datetimes, dicts with any keys) and a generated body
// (shaped like the type, or not; with forged markers) go through the server's own functions —
// mvi::parse_json, schema::parse_type_desc, schema::validate with its BuildNote, the simdjson fast path
// and registry::validate_arguments, python::build_value with the embedded interpreter, and py_to_json
// for the way back. Invariants: no crash, no leak, no sanitizer finding, validation says ok exactly
// when it reports no error, and building never finds a note that does not match its value (that
// would be a std::logic_error: our bug). A constructor refusing a value (pydantic, Enum, numpy) is the
// client's 422 and fine. Build and run: tests/fuzz/run.sh SECONDS build_fuzz.
#include <fuzzer/FuzzedDataProvider.h>

#include <pybind11/embed.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "build.hpp"
#include "convert.hpp"
#include "function_table.hpp"
#include "mvi/api/fast_body.hpp"
#include "mvi/core/error.hpp"
#include "mvi/core/json.hpp"
#include "mvi/registry/registry.hpp"
#include "mvi/schema/type_desc.hpp"
#include "mvi/schema/validator.hpp"
#include "fuzz_check.hpp"
#include "owned_buffer.hpp"

namespace py = pybind11;
using mvi::Json;

// The runtime's _mvi_native defines OwnedBuffer, which packed ndarrays are handed to numpy in; this
// stand-in defines only that.
PYBIND11_EMBEDDED_MODULE(_mvi_native, m) { mvi::python::register_owned_buffer(m); }

namespace {

constexpr std::size_t kJsonDepth = 64;

// The classes descriptions refer to by index ("ref"), as a loaded service's export lists them.
const char* kClasses = R"(
import dataclasses
import enum
import typing

import pydantic


class Color(enum.Enum):
    RED = "red"
    TWO = 2


@dataclasses.dataclass
class Point:
    x: float
    y: float
    tag: str = ""


class Model(pydantic.BaseModel):
    a: int
    b: typing.Optional[str] = None
)";

mvi::python::FunctionTable* g_table = nullptr;

Json scalar(const char* kind) { return Json{{"kind", kind}}; }

Json gen_desc(FuzzedDataProvider& p, int depth) {
  static const char* kScalars[] = {"any", "str", "int", "float", "bool", "none", "bytes", "datetime", "date", "time", "uuid"};
  const int last = depth >= 3 ? 10 : 21;
  const int k = p.ConsumeIntegralInRange(0, last);
  if (k <= 10) return scalar(kScalars[k]);
  switch (k) {
    case 11: {
      static const char* kContainers[] = {"list", "tuple", "set", "frozenset"};
      return Json{{"kind", "list"}, {"items", gen_desc(p, depth + 1)}, {"container", kContainers[p.ConsumeIntegralInRange(0, 3)]}};
    }
    case 12: return Json{{"kind", "dict"}, {"values", gen_desc(p, depth + 1)}};
    case 13: {
      Json items = Json::array();
      for (int i = p.ConsumeIntegralInRange(1, 3); i > 0; --i) items.push_back(gen_desc(p, depth + 1));
      return Json{{"kind", "tuple"}, {"items", items}};
    }
    case 14: {
      Json options = Json::array();
      for (int i = p.ConsumeIntegralInRange(1, 3); i > 0; --i) options.push_back(gen_desc(p, depth + 1));
      if (p.ConsumeBool()) options.push_back(scalar("none"));  // Optional[...]
      return Json{{"kind", "union"}, {"options", options}};
    }
    case 15: return Json{{"kind", "literal"}, {"values", Json::array({"a", 1, true, nullptr, 2.5})}};
    case 16: return Json{{"kind", "enum"}, {"name", "Color"}, {"ref", 0}, {"values", Json::array({"red", 2})}};
    case 17:
      return Json{{"kind", "object"}, {"name", "Point"}, {"ref", 1}, {"construct", "dataclass"},
                  {"fields", Json::array({Json{{"name", "x"}, {"type", scalar("float")}},
                                          Json{{"name", "y"}, {"type", scalar("float")}},
                                          Json{{"name", "tag"}, {"type", scalar("str")}, {"required", false}}})}};
    case 18:
      return Json{{"kind", "object"}, {"name", "Model"}, {"ref", 2}, {"construct", "pydantic"},
                  {"fields", Json::array({Json{{"name", "a"}, {"type", scalar("int")}},
                                          Json{{"name", "b"},
                                               {"type", Json{{"kind", "union"}, {"options", Json::array({scalar("str"), scalar("none")})}}},
                                               {"required", false}}})}};
    case 19:
      return Json{{"kind", "object"}, {"name", "Row"}, {"construct", "typeddict"},
                  {"fields", Json::array({Json{{"name", "when"}, {"type", scalar("datetime")}},
                                          Json{{"name", "inner"}, {"type", gen_desc(p, depth + 1)}, {"required", false}}})}};
    case 20: {
      static const char* kDtypes[] = {"", "float64", "float32", "int64", "int8", "uint16", "bool", "str"};
      Json d = Json{{"kind", "ndarray"}, {"dtype", kDtypes[p.ConsumeIntegralInRange(0, 7)]}};
      if (p.ConsumeBool()) {
        Json shape = Json::array();
        for (int i = p.ConsumeIntegralInRange(1, 3); i > 0; --i) shape.push_back(p.ConsumeIntegralInRange(-1, 3));
        d["shape"] = shape;
      }
      return d;
    }
    default: return Json{{"kind", "dataframe"}, {"columns", p.ConsumeBool() ? Json::array({"a"}) : Json::array()}};
  }
}

Json random_json(FuzzedDataProvider& p, int depth) {
  switch (p.ConsumeIntegralInRange(0, depth >= 4 ? 5 : 7)) {
    case 0: return nullptr;
    case 1: return p.ConsumeBool();
    case 2: return p.ConsumeIntegral<std::int64_t>();
    case 3: return p.ConsumeFloatingPoint<double>();
    case 4: return p.ConsumeRandomLengthString(24);
    case 5: return p.ConsumeIntegral<std::uint64_t>();
    case 6: {
      Json a = Json::array();
      for (int i = p.ConsumeIntegralInRange(0, 4); i > 0; --i) a.push_back(random_json(p, depth + 1));
      return a;
    }
    default: {
      Json o = Json::object();
      for (int i = p.ConsumeIntegralInRange(0, 4); i > 0; --i) {
        // Keys the runtime once gave meaning to inside values: a client can always send them.
        static const char* kKeys[] = {"__mvi_union__", "value", "__mvi_ndarray__", "data", "a", "x", "y", "when"};
        std::string key = p.ConsumeBool() ? kKeys[p.ConsumeIntegralInRange(0, 7)] : p.ConsumeRandomLengthString(8);
        o[key] = random_json(p, depth + 1);
      }
      return o;
    }
  }
}

// A value shaped like `desc` most of the time, anything now and then.
Json gen_value(const Json& desc, FuzzedDataProvider& p, int depth) {
  if (depth > 6 || p.ConsumeIntegralInRange(0, 9) == 0) return random_json(p, depth);
  const std::string kind = desc["kind"].get<std::string>();
  if (kind == "str") return p.ConsumeRandomLengthString(12);
  if (kind == "int") return p.ConsumeBool() ? Json(p.ConsumeIntegralInRange<std::int64_t>(-1000, 1000)) : Json(std::to_string(p.ConsumeIntegral<int>()));
  if (kind == "float") return p.ConsumeBool() ? Json(p.ConsumeFloatingPoint<double>()) : Json("1.5e3");
  if (kind == "bool") return p.ConsumeBool() ? Json(p.ConsumeBool()) : Json("yes");
  if (kind == "bytes") return p.ConsumeBool() ? Json("aGVsbG8=") : Json(p.ConsumeRandomLengthString(8));
  if (kind == "datetime" || kind == "date" || kind == "time" || kind == "uuid") {
    static const char* kTexts[] = {"2024-05-01T12:00:00Z", "2024-05-01", "12:30:15.5+02:00", "2024-02-30T00:00:00",
                                   "12345678-1234-5678-1234-567812345678", "9999-12-31T23:59:59.999999-23:59"};
    if (p.ConsumeBool()) return kTexts[p.ConsumeIntegralInRange(0, 5)];
    return p.ConsumeBool() ? Json(p.ConsumeFloatingPoint<double>()) : Json(p.ConsumeRandomLengthString(20));
  }
  if (kind == "list" || kind == "tuple") {
    Json a = Json::array();
    const int n = p.ConsumeIntegralInRange(0, 4);
    for (int i = 0; i < n; ++i) {
      const Json& item = kind == "list" ? desc["items"] : desc["items"][static_cast<std::size_t>(i) % desc["items"].size()];
      a.push_back(gen_value(item, p, depth + 1));
    }
    return a;
  }
  if (kind == "dict") {
    Json o = Json::object();
    for (int i = p.ConsumeIntegralInRange(0, 3); i > 0; --i) o[p.ConsumeRandomLengthString(6)] = gen_value(desc["values"], p, depth + 1);
    return o;
  }
  if (kind == "union") return gen_value(desc["options"][p.ConsumeIntegralInRange<std::size_t>(0, desc["options"].size() - 1)], p, depth + 1);
  if (kind == "literal" || kind == "enum") return desc["values"][p.ConsumeIntegralInRange<std::size_t>(0, desc["values"].size() - 1)];
  if (kind == "object") {
    Json o = Json::object();
    for (const auto& f : desc["fields"])
      if (p.ConsumeIntegralInRange(0, 5) != 0) o[f["name"].get<std::string>()] = gen_value(f["type"], p, depth + 1);
    if (p.ConsumeBool()) o["unknown"] = random_json(p, depth + 1);
    return o;
  }
  if (kind == "ndarray") {
    const int rows = p.ConsumeIntegralInRange(0, 3), cols = p.ConsumeIntegralInRange(0, 3);
    const bool nested = p.ConsumeBool();
    Json a = Json::array();
    for (int r = 0; r < rows; ++r) {
      if (!nested) {
        a.push_back(p.ConsumeBool() ? Json(p.ConsumeFloatingPoint<double>()) : Json(p.ConsumeIntegralInRange(-300, 300)));
        continue;
      }
      Json row = Json::array();
      for (int c = 0; c < cols; ++c) row.push_back(p.ConsumeIntegralInRange(0, 9) ? Json(p.ConsumeIntegralInRange(-2, 2)) : random_json(p, depth + 2));
      a.push_back(row);
    }
    return a;
  }
  if (kind == "dataframe") {
    if (p.ConsumeBool()) return Json{{"a", Json::array({1, 2})}, {"b", Json::array({"x", nullptr})}};
    return Json::array({Json{{"a", 1}}, Json{{"a", p.ConsumeRandomLengthString(4)}}});
  }
  return random_json(p, depth);  // any, none
}

// Builds the arguments as the executor does; only a failure of ours may escape as logic_error.
void build_and_encode(const mvi::schema::TypeDesc& type, Json& value, mvi::schema::BuildNote& note) {
  try {
    py::object built = mvi::python::build_value(type, value, note, *g_table);
    (void)mvi::python::py_to_json(built, g_table->to_jsonable);
  } catch (py::error_already_set& e) {
    // A constructor refused the value (pydantic, Enum, numpy): the client's 422.
  } catch (const std::logic_error& e) {
    std::fprintf(stderr, "builder found a note that does not match its value: %s\n", e.what());
    std::abort();
  } catch (const py::builtin_exception&) {
    // py_to_json: an encoded value JSON cannot carry (answered 500 with the reason logged).
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  static py::scoped_interpreter interpreter;
  py::module_::import("sys").attr("path").attr("insert")(0, MVI_FUZZ_PYTHON_PACKAGE_DIR);
  py::dict scope;
  scope["__builtins__"] = py::module_::import("builtins");
  py::exec(kClasses, scope);
  static mvi::python::FunctionTable table;
  table.classes = {scope["Color"], scope["Point"], scope["Model"]};
  table.to_jsonable = py::module_::import("mvi._encode").attr("to_jsonable");
  // Imported once here, not inside the first inputs (numpy and pandas take seconds under ASan).
  table.numpy = py::module_::import("numpy");
  table.pandas = py::module_::import("pandas");
  table.native = py::module_::import("_mvi_native");
  g_table = &table;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider p(data, size);
  const Json desc = gen_desc(p, 0);
  mvi::schema::TypeDesc type;
  try {
    type = mvi::schema::parse_type_desc(desc, "fuzz");
  } catch (const mvi::core::Error&) {
    return 0;  // a description the loader refuses never reaches requests
  }
  // The value goes through JSON text and the server's own parser, as a body does.
  const std::string text = mvi::dump_json(Json{{"x", gen_value(desc, p, 0)}});
  auto parsed = mvi::parse_json(text, kJsonDepth);
  if (!parsed.value) return 0;

  // 1. The general path: validate one argument, then build it.
  Json value = (*parsed.value)["x"];
  mvi::schema::Errors errors;
  mvi::schema::BuildNote note;
  const bool ok = mvi::schema::validate(type, value, Json::array({"body", "x"}), errors, &note);
  FUZZ_CHECK(ok == errors.empty());
  (void)mvi::dump_json(mvi::schema::errors_body(errors));
  if (ok) build_and_encode(type, value, note);

  // 2. The fast path (simdjson, packed arrays) and validate_arguments, as a large body takes them.
  mvi::registry::Entrypoint ep;
  ep.name = "fuzz";
  mvi::registry::Param param;
  param.name = "x";
  param.type = type;
  ep.params.push_back(param);
  mvi::registry::seal(ep);
  if (auto fast = mvi::api::parse_arguments_fast(text, ep, kJsonDepth)) {
    mvi::schema::Errors fast_errors;
    if (mvi::registry::validate_arguments(ep, fast->args, "body", fast_errors, &fast->notes)) {
      FUZZ_CHECK(fast_errors.empty());
      auto it = fast->args.find("x");
      if (it != fast->args.end()) build_and_encode(type, *it, fast->notes.at(0));
    } else {
      FUZZ_CHECK(!fast_errors.empty());
    }
  }
  return 0;
}
