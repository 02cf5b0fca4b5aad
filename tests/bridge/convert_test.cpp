// Bridge tests for the JSON ⇄ Python conversion in src/python/convert.cpp: numbers at the edges
// of 64 bits, non-finite floats, Unicode (non-ASCII, lone surrogates, invalid UTF-8), nesting,
// dict keys, unsupported objects and circular structures. main() (embedded_main.cpp) owns the
// interpreter and the GIL for the whole run.
#include "convert.hpp"

#include <gtest/gtest.h>

#include <pybind11/eval.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

namespace py = pybind11;
using json = nlohmann::ordered_json;

namespace mvi::python {
namespace {

// Evaluates a Python expression in a fresh namespace.
py::object eval(const std::string& expr) { return py::eval(expr, py::globals(), py::dict()); }

// Runs statements and returns the variable `result`.
py::object run(const std::string& code) {
  py::dict scope;
  py::exec(code, py::globals(), scope);
  return scope["result"];
}

bool py_equal(py::handle a, const std::string& expr) {
  py::dict scope;
  scope["value"] = a;
  return py::eval("value == (" + expr + ") and type(value) is type(" + expr + ")", py::globals(), scope)
      .cast<bool>();
}

std::string py_repr(py::handle a) { return py::repr(a).cast<std::string>(); }

// ---- py_to_json: scalars ----

TEST(PyToJson, NoneAndBools) {
  EXPECT_TRUE(py_to_json(py::none()).is_null());
  json t = py_to_json(eval("True"));
  EXPECT_TRUE(t.is_boolean()) << "bool is checked before int";
  EXPECT_EQ(t, true);
  EXPECT_EQ(py_to_json(eval("False")), false);
}

TEST(PyToJson, SmallInts) {
  json j = py_to_json(eval("42"));
  EXPECT_TRUE(j.is_number_integer());
  EXPECT_EQ(j, 42);
  EXPECT_EQ(py_to_json(eval("-7")), -7);
  EXPECT_EQ(py_to_json(eval("0")), 0);
}

TEST(PyToJson, Int64Limits) {
  json max = py_to_json(eval("2**63 - 1"));
  EXPECT_EQ(max.get<std::int64_t>(), std::numeric_limits<std::int64_t>::max());
  json min = py_to_json(eval("-2**63"));
  EXPECT_TRUE(min.is_number_integer());
  EXPECT_EQ(min.get<std::int64_t>(), std::numeric_limits<std::int64_t>::min());
}

TEST(PyToJson, Uint64RangeStaysExact) {
  json j = py_to_json(eval("2**63"));
  EXPECT_TRUE(j.is_number_unsigned());
  EXPECT_EQ(j.get<std::uint64_t>(), 9223372036854775808ull);
  j = py_to_json(eval("2**64 - 1"));
  EXPECT_TRUE(j.is_number_unsigned());
  EXPECT_EQ(j.get<std::uint64_t>(), std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(j.dump(), "18446744073709551615");
}

TEST(PyToJson, BeyondSixtyFourBitsBecomesFloat) {
  json j = py_to_json(eval("2**64"));
  EXPECT_TRUE(j.is_number_float());
  EXPECT_DOUBLE_EQ(j.get<double>(), 18446744073709551616.0);
  j = py_to_json(eval("-2**63 - 1"));
  EXPECT_TRUE(j.is_number_float());
  EXPECT_DOUBLE_EQ(j.get<double>(), -9223372036854775809.0);
  j = py_to_json(eval("10**30"));
  EXPECT_TRUE(j.is_number_float());
  EXPECT_DOUBLE_EQ(j.get<double>(), 1e30);
}

TEST(PyToJson, BeyondDoubleRangeBecomesNull) {
  EXPECT_TRUE(py_to_json(eval("10**400")).is_null());
  EXPECT_TRUE(py_to_json(eval("-(10**400)")).is_null());
  EXPECT_FALSE(PyErr_Occurred()) << "no Python error may be left pending";
}

TEST(PyToJson, IntSubclassesAreInts) {
  json j = py_to_json(run("import enum\nclass Color(enum.IntEnum):\n    RED = 3\nresult = Color.RED\n"));
  EXPECT_TRUE(j.is_number_integer());
  EXPECT_EQ(j, 3);
}

TEST(PyToJson, Floats) {
  json j = py_to_json(eval("1.5"));
  EXPECT_TRUE(j.is_number_float());
  EXPECT_DOUBLE_EQ(j.get<double>(), 1.5);
  EXPECT_TRUE(py_to_json(eval("2.0")).is_number_float()) << "a whole float stays a float";
  EXPECT_DOUBLE_EQ(py_to_json(eval("-1e300")).get<double>(), -1e300);
}

TEST(PyToJson, NonFiniteFloatsBecomeNull) {
  EXPECT_TRUE(py_to_json(eval("float('nan')")).is_null());
  EXPECT_TRUE(py_to_json(eval("float('inf')")).is_null());
  EXPECT_TRUE(py_to_json(eval("float('-inf')")).is_null());
  json list = py_to_json(eval("[1.0, float('nan'), 2.0]"));
  EXPECT_EQ(list, (json{1.0, nullptr, 2.0}));
}

// ---- py_to_json: strings ----

TEST(PyToJson, AsciiAndNonAsciiStrings) {
  EXPECT_EQ(py_to_json(eval("'hello'")), "hello");
  EXPECT_EQ(py_to_json(eval("''")), "");
  EXPECT_EQ(py_to_json(eval("'h\\u00e9llo \\u20ac \\U0001F600'")), "h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80");
  EXPECT_EQ(py_to_json(eval("'a\\x00b'")), std::string("a\0b", 3));
}

TEST(PyToJson, LoneSurrogatesAreReplaced) {
  json j;
  ASSERT_NO_THROW(j = py_to_json(eval("'a\\ud800b'")));
  ASSERT_TRUE(j.is_string());
  EXPECT_EQ(j, "a?b");
  EXPECT_FALSE(PyErr_Occurred()) << "the UnicodeEncodeError must be cleared";
  // The result is valid UTF-8: dumping it strictly must not throw.
  EXPECT_NO_THROW((void)j.dump());
  EXPECT_EQ(py_to_json(eval("['\\udfff', 'ok']")), (json{"?", "ok"}));
}

// ---- py_to_json: containers ----

TEST(PyToJson, NestedContainers) {
  json j = py_to_json(eval("[1, (2, 3), {'a': [True, None]}, [], {}, ()]"));
  EXPECT_EQ(j, json::parse(R"([1, [2, 3], {"a": [true, null]}, [], {}, []])"));
}

TEST(PyToJson, SetsAndFrozensetsBecomeLists) {
  json j = py_to_json(eval("{3}"));
  EXPECT_EQ(j, json::array({3}));
  j = py_to_json(eval("frozenset(['x'])"));
  EXPECT_EQ(j, json::array({"x"}));
  j = py_to_json(eval("{1, 2, 3}"));
  ASSERT_TRUE(j.is_array());
  std::vector<int> items = j.get<std::vector<int>>();
  std::sort(items.begin(), items.end());
  EXPECT_EQ(items, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(py_to_json(eval("set()")), json::array());
}

TEST(PyToJson, DeepButFiniteNestingIsFine) {
  json j = py_to_json(run("result = []\nfor _ in range(200):\n    result = [result]\n"));
  int depth = 0;
  const json* p = &j;
  while (p->is_array() && !p->empty()) {
    p = &(*p)[0];
    ++depth;
  }
  EXPECT_EQ(depth, 200);
}

TEST(PyToJson, DictKeysOfEveryAllowedType) {
  EXPECT_EQ(py_to_json(eval("{'s': 1}")), (json{{"s", 1}}));
  EXPECT_EQ(py_to_json(eval("{1: 'a'}")), (json{{"1", "a"}}));
  EXPECT_EQ(py_to_json(eval("{-5: 'a'}")), (json{{"-5", "a"}}));
  EXPECT_EQ(py_to_json(eval("{True: 'a', False: 'b'}")), (json{{"true", "a"}, {"false", "b"}}));
  EXPECT_EQ(py_to_json(eval("{None: 'n'}")), (json{{"null", "n"}}));
  EXPECT_EQ(py_to_json(eval("{1.5: 'f', 2.0: 'g'}")), (json{{"1.5", "f"}, {"2.0", "g"}}));
  EXPECT_EQ(py_to_json(eval("{2**70: 0}")), (json{{"1180591620717411303424", 0}}));
  EXPECT_EQ(py_to_json(eval("{'\\u00e9': 1}")), (json{{"\xC3\xA9", 1}}));
}

TEST(PyToJson, DictKeysMatchJsonDumps) {
  // The same keys json.dumps writes, so services behave as under FastAPI.
  py::object value = eval("{1: 0, True: 1, None: 2, 1.25: 3, 'x': 4}");
  json ours = py_to_json(value);
  py::dict scope;
  scope["value"] = value;
  std::string dumped = py::eval("__import__('json').dumps(value)", py::globals(), scope).cast<std::string>();
  EXPECT_EQ(ours, json::parse(dumped)) << dumped;
}

TEST(PyToJson, UnsupportedKeyIsATypeErrorNamingIt) {
  try {
    py_to_json(eval("{(1, 2): 'tuple key'}"));
    FAIL() << "tuple key accepted";
  } catch (const py::type_error& e) {
    EXPECT_NE(std::string(e.what()).find("tuple"), std::string::npos) << e.what();
  }
}

// ---- py_to_json: unsupported objects and cycles ----

TEST(PyToJson, UnsupportedObjectsAreATypeErrorNamingTheType) {
  struct Case {
    const char* code;
    const char* type;
  };
  for (const Case& c : {Case{"result = object()", "object"}, Case{"result = 1j", "complex"},
                        Case{"class Widget:\n    pass\nresult = Widget()", "Widget"},
                        Case{"result = [1, {'deep': [object()]}]", "object"}}) {
    py::object value = run(c.code);
    try {
      py_to_json(value);
      ADD_FAILURE() << "no error for " << c.code;
    } catch (const py::type_error& e) {
      std::string what = e.what();
      EXPECT_NE(what.find(std::string("Object of type ") + c.type + " is not JSON serializable"), std::string::npos)
          << what;
    }
  }
}

TEST(PyToJson, BytesBecomeBase64) {
  EXPECT_EQ(py_to_json(run("result = b'hi there'")), json("aGkgdGhlcmU="));
  EXPECT_EQ(py_to_json(run("result = bytearray(b'\\x00\\xff')")), json("AP8="));
}

TEST(PyToJson, UnknownObjectsGoThroughTheFallbackRecursively) {
  py::object fallback = run("def result(o):\n    return {'wrapped': [o.n, o.n + 1]}");
  py::object value = run("class Box:\n    def __init__(self, n):\n        self.n = n\nresult = [Box(1), {'k': Box(5)}]");
  EXPECT_EQ(py_to_json(value, fallback), json::parse(R"([{"wrapped": [1, 2]}, {"k": {"wrapped": [5, 6]}}])"));
}

TEST(PyToJson, DictKeysTheFallbackTurnsIntoTextAreKept) {
  py::object fallback = run("def result(o):\n    return o.isoformat()");
  py::object value = run("import datetime\nresult = {datetime.date(2024, 1, 2): 1}");
  EXPECT_EQ(py_to_json(value, fallback), json::parse(R"({"2024-01-02": 1})"));
}

TEST(PyToJson, AFallbackReturningTheSameTypeStillFails) {
  py::object fallback = run("def result(o):\n    return o");
  try {
    py_to_json(run("result = object()"), fallback);
    FAIL() << "an identity fallback must not loop or succeed";
  } catch (const py::type_error& e) {
    EXPECT_NE(std::string(e.what()).find("not JSON serializable"), std::string::npos) << e.what();
  }
}

TEST(PyToJson, TypeErrorIsAStdRuntimeError) {
  EXPECT_THROW(py_to_json(eval("object()")), std::runtime_error);
}

TEST(PyToJson, CircularListIsAnErrorNotACrash) {
  py::object value = run("result = []\nresult.append(result)\n");
  EXPECT_THROW(py_to_json(value), std::runtime_error);
  value.attr("clear")();  // break the cycle
}

TEST(PyToJson, CircularDictIsAnErrorNotACrash) {
  py::object value = run("result = {}\nresult['self'] = result\n");
  EXPECT_THROW(py_to_json(value), std::runtime_error);
  value.attr("clear")();
}

TEST(PyToJson, IndirectCycleIsAnErrorNotACrash) {
  py::object value = run("a = []\nb = [a]\na.append(b)\nresult = {'a': a}\n");
  EXPECT_THROW(py_to_json(value), std::runtime_error);
  EXPECT_FALSE(PyErr_Occurred());
}

TEST(PyToJson, SharedButAcyclicReferencesAreFine) {
  json j = py_to_json(run("x = [1]\nresult = [x, x, {'k': x}]\n"));
  EXPECT_EQ(j, json::parse(R"([[1], [1], {"k": [1]}])"));
}

// ---- json_to_py ----

TEST(JsonToPy, Scalars) {
  EXPECT_TRUE(json_to_py(nullptr).is_none());
  EXPECT_TRUE(py_equal(json_to_py(true), "True"));
  EXPECT_TRUE(py_equal(json_to_py(false), "False"));
  EXPECT_TRUE(py_equal(json_to_py(42), "42"));
  EXPECT_TRUE(py_equal(json_to_py(-42), "-42"));
  EXPECT_TRUE(py_equal(json_to_py(2.5), "2.5"));
  EXPECT_TRUE(py_equal(json_to_py(2.0), "2.0")) << "a JSON float stays a Python float";
  EXPECT_TRUE(py_equal(json_to_py("text"), "'text'"));
}

TEST(JsonToPy, IntegerEdges) {
  EXPECT_TRUE(py_equal(json_to_py(std::numeric_limits<std::int64_t>::min()), "-2**63"));
  EXPECT_TRUE(py_equal(json_to_py(std::numeric_limits<std::int64_t>::max()), "2**63 - 1"));
  EXPECT_TRUE(py_equal(json_to_py(std::numeric_limits<std::uint64_t>::max()), "2**64 - 1"));
  EXPECT_TRUE(py_equal(json_to_py(json::parse("18446744073709551615")), "2**64 - 1"));
}

TEST(JsonToPy, NonAsciiStrings) {
  py::object s = json_to_py("h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80");
  EXPECT_TRUE(py_equal(s, "'h\\u00e9llo \\u20ac \\U0001F600'")) << py_repr(s);
  EXPECT_EQ(py::len(s), 9u);
}

TEST(JsonToPy, InvalidUtf8IsReplaced) {
  py::object s;
  ASSERT_NO_THROW(s = json_to_py(std::string("a\xFF" "b")));
  EXPECT_TRUE(py_equal(s, "'a\\ufffdb'")) << py_repr(s);
  py::object d = json_to_py(json{{std::string("k\xFF"), 1}});
  EXPECT_TRUE(py_equal(d, "{'k\\ufffd': 1}")) << py_repr(d);
}

TEST(JsonToPy, Containers) {
  py::object v = json_to_py(json::parse(R"({"a": [1, 2.5, "x", null, true], "b": {"c": {}}, "d": []})"));
  EXPECT_TRUE(py_equal(v, "{'a': [1, 2.5, 'x', None, True], 'b': {'c': {}}, 'd': []}")) << py_repr(v);
  EXPECT_TRUE(py::isinstance<py::list>(v["a"]));
}

TEST(JsonToPy, BinaryBecomesBytes) {
  py::object b = json_to_py(json::binary({0x00, 0x41, 0xFF}));
  EXPECT_TRUE(py_equal(b, "b'\\x00A\\xff'")) << py_repr(b);
}

// ---- round trips ----

TEST(RoundTrip, JsonThroughPythonAndBack) {
  const json doc = json::parse(R"({
    "null": null, "t": true, "f": false,
    "ints": [0, -1, 1, 9223372036854775807, -9223372036854775808, 18446744073709551615],
    "floats": [0.5, -2.25, 1e300, 2.0],
    "str": "h\u00e9llo \u20ac \ud83d\ude00", "empty": "",
    "nested": {"list": [[1, [2, [3]]], {"k": {"k": {}}}], "obj": {"a": {"b": {"c": [null]}}}}
  })");
  json back = py_to_json(json_to_py(doc));
  EXPECT_EQ(back, doc) << back.dump();
  EXPECT_TRUE(back["ints"][5].is_number_unsigned());
  EXPECT_TRUE(back["floats"][3].is_number_float());
}

TEST(RoundTrip, PythonThroughJsonAndBack) {
  const char* expr = "{'a': [1, 2.5, 'x\\u00e9', None, True, {'b': []}], 'big': 2**64 - 1, 'neg': -2**63}";
  py::object back = json_to_py(py_to_json(eval(expr)));
  EXPECT_TRUE(py_equal(back, expr)) << py_repr(back);
}

}  // namespace
}  // namespace mvi::python
