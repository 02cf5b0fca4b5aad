// Tests for mvi::schema::validate (pydantic v2 lax rules, FastAPI error shape) and for
// parse_type_desc / to_json / display_name. The validation cases are one table.
#include "mvi/schema/validator.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

#include "mvi/core/error.hpp"
#include "mvi/schema/type_desc.hpp"

namespace mvi::schema {
namespace {

using json = nlohmann::ordered_json;

// Type descriptions in their JSON form, as python/mvi/_signature.py exports them.
const json kStr = {{"kind", "str"}};
const json kInt = {{"kind", "int"}};
const json kFloat = {{"kind", "float"}};
const json kBool = {{"kind", "bool"}};
const json kNone = {{"kind", "none"}};
const json kAny = {{"kind", "any"}};
json list_of(json items) { return {{"kind", "list"}, {"items", std::move(items)}}; }
json dict_of(json values) { return {{"kind", "dict"}, {"values", std::move(values)}}; }
json tuple_of(json items) { return {{"kind", "tuple"}, {"items", std::move(items)}}; }
json union_of(json options) { return {{"kind", "union"}, {"options", std::move(options)}}; }
json literal_of(json values) { return {{"kind", "literal"}, {"values", std::move(values)}}; }
json optional_of(json inner) { return union_of({std::move(inner), kNone}); }

struct Expected {
  std::string type;
  json loc;  // relative to the ["body", "x"] prefix the test passes
  std::string msg;  // empty: not checked
  json input;       // null with check_input false: not checked
  bool check_input = false;
};

struct Case {
  std::string name;
  json type;
  json input;
  bool ok;
  json coerced;  // the value after validation, when ok
  std::vector<Expected> errors;
};

std::ostream& operator<<(std::ostream& os, const Case& c) { return os << c.name; }

Expected err(std::string type, json rel_loc = json::array(), std::string msg = "") {
  return {std::move(type), std::move(rel_loc), std::move(msg), nullptr, false};
}
Expected err_in(std::string type, json rel_loc, std::string msg, json input) {
  return {std::move(type), std::move(rel_loc), std::move(msg), std::move(input), true};
}

Case ok(std::string name, json type, json input, json coerced) {
  return {std::move(name), std::move(type), std::move(input), true, std::move(coerced), {}};
}
Case bad(std::string name, json type, json input, std::vector<Expected> errors) {
  return {std::move(name), std::move(type), std::move(input), false, nullptr, std::move(errors)};
}

const json kLiteralAB = literal_of({"a", "b"});

std::vector<Case> cases() {
  // Message texts and C++-only inputs; the coercion rules themselves (values, error types, locations) live
  // once in tests/cases/coercion.json, run by coercion_cases_test.cpp and the Python and e2e suites.
  return {
      // ---- str: strict, 5 is not a str ----
      bad("str_from_int", kStr, 5, {err_in("string_type", json::array(), "Input should be a valid string", 5)}),

      // ---- int ----
      bad("int_from_fraction", kInt, 1.5,
          {err_in("int_from_float", json::array(),
                  "Input should be a valid integer, got a number with a fractional part", 1.5)}),
      bad("int_from_word", kInt, "abc",
          {err_in("int_parsing", json::array(),
                  "Input should be a valid integer, unable to parse string as an integer", "abc")}),
      bad("int_from_huge_string", kInt, "99999999999999999999999",
          {err_in("int_parsing_size", json::array(),
                  "Unable to parse input string as an integer, exceeded maximum size", "99999999999999999999999")}),
      bad("int_from_huge_float", kInt, 1e20, {err("int_parsing_size")}),
      bad("int_from_infinity", kInt, std::numeric_limits<double>::infinity(), {err("finite_number")}),
      bad("int_from_null", kInt, nullptr,
          {err_in("int_type", json::array(), "Input should be a valid integer", nullptr)}),

      // ---- float ----
      bad("float_from_word", kFloat, "abc",
          {err_in("float_parsing", json::array(), "Input should be a valid number, unable to parse string as a number",
                  "abc")}),
      bad("float_from_null", kFloat, nullptr, {err("float_type", json::array(), "Input should be a valid number")}),

      // ---- bool ----
      ok("bool_from_string_upper", kBool, "TRUE", true),
      ok("bool_from_string_off", kBool, "Off", false),
      bad("bool_from_int_2", kBool, 2,
          {err_in("bool_parsing", json::array(), "Input should be a valid boolean, unable to interpret input", 2)}),
      bad("bool_from_null", kBool, nullptr, {err_in("bool_type", json::array(), "Input should be a valid boolean", nullptr)}),

      // ---- none / any ----
      bad("none_from_zero", kNone, 0, {err_in("none_required", json::array(), "Input should be None", 0)}),

      // ---- list ----
      bad("list_reports_every_item", list_of(kInt), json::array({1, "x", 3.5}),
          {err_in("int_parsing", json::array({1}), "", "x"), err_in("int_from_float", json::array({2}), "", 3.5)}),
      bad("list_from_string", list_of(kInt), "abc",
          {err_in("list_type", json::array(), "Input should be a valid list", "abc")}),

      // ---- tuple ----
      ok("tuple_coerces", tuple_of({kInt, kFloat}), json::array({"1", 2}), json::array({1, 2.0})),
      bad("tuple_too_long", tuple_of({kInt, kStr}), json::array({1, "a", 3}),
          {err("too_long", json::array(), "Tuple should have at most 2 items after validation, not 3")}),
      bad("tuple_missing", tuple_of({kInt, kStr}), json::array({1}),
          {err_in("missing", json::array({1}), "Field required", json::array({1}))}),
      bad("tuple_wrong_item", tuple_of({kInt, kStr}), json::array({"x", 2}),
          {err("int_parsing", json::array({0})), err("string_type", json::array({1}))}),
      bad("tuple_from_string", tuple_of({kInt}), "x", {err("tuple_type", json::array(), "Input should be a valid tuple")}),

      // ---- dict ----
      bad("dict_key_in_loc", dict_of(kInt), json{{"a", 1}, {"bad", "x"}}, {err_in("int_parsing", json::array({"bad"}), "", "x")}),
      bad("dict_from_list", dict_of(kInt), json::array(),
          {err_in("dict_type", json::array(), "Input should be a valid dictionary", json::array())}),

      // ---- Literal ----
      bad("literal_str_miss", kLiteralAB, "c",
          {err_in("literal_error", json::array(), "Input should be 'a' or 'b'", "c")}),
      bad("literal_three_values_msg", literal_of({1, 2, 3}), 4,
          {err("literal_error", json::array(), "Input should be 1, 2 or 3")}),
      bad("literal_mixed_msg", literal_of({"x", true, nullptr}), 0,
          {err("literal_error", json::array(), "Input should be 'x', True or None")}),

  };
}

class ValidateTable : public ::testing::TestWithParam<Case> {};

TEST_P(ValidateTable, Case) {
  const Case& c = GetParam();
  TypeDesc type = parse_type_desc(c.type, "test");
  json value = c.input;
  Errors errors;
  const json prefix = json::array({"body", "x"});
  bool result = validate(type, value, prefix, errors);
  ASSERT_EQ(result, c.ok) << "errors: " << errors_body(errors).dump();
  if (c.ok) {
    EXPECT_TRUE(errors.empty()) << errors_body(errors).dump();
    EXPECT_EQ(value, c.coerced) << "got " << value.dump();
    EXPECT_EQ(value.type(), c.coerced.type()) << "got " << value.dump() << ", expected " << c.coerced.dump();
    return;
  }
  ASSERT_EQ(errors.size(), c.errors.size()) << errors_body(errors).dump();
  for (std::size_t i = 0; i < errors.size(); ++i) {
    const auto& got = errors[i];
    const auto& want = c.errors[i];
    json loc = prefix;
    for (const auto& k : want.loc) loc.push_back(k);
    EXPECT_EQ(got.type, want.type) << "error " << i;
    EXPECT_EQ(got.loc, loc) << "error " << i << ": " << got.loc.dump();
    if (!want.msg.empty()) {
      EXPECT_EQ(got.msg, want.msg) << "error " << i;
    }
    EXPECT_FALSE(got.msg.empty()) << "error " << i;
    if (want.check_input) {
      EXPECT_EQ(got.input, want.input) << "error " << i << ": " << got.input.dump();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Lax, ValidateTable, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

// std::strtod also accepts C hexadecimal floats ("0x10" → 16.0); pydantic v2 and Python's float()
// reject them with float_parsing, and so must we.
TEST(ValidateFloat, HexadecimalStringsAreNotNumbers) {
  for (const char* s : {"0x10", "0x1p3"}) {
    json value = s;
    Errors errors;
    EXPECT_FALSE(validate(scalar(Kind::float_), value, json::array(), errors)) << s << " became " << value.dump();
    ASSERT_EQ(errors.size(), 1u) << s;
    EXPECT_EQ(errors[0].type, "float_parsing");
  }
}

TEST(ValidateFloat, ResultIsAJsonFloat) {
  json value = 5;
  Errors errors;
  ASSERT_TRUE(validate(scalar(Kind::float_), value, json::array(), errors));
  EXPECT_TRUE(value.is_number_float());
}

TEST(Validate, ErrorsAppendToExistingOnes) {
  Errors errors{{"earlier", json::array({"body"}), "x", nullptr}};
  json value = "x";
  EXPECT_FALSE(validate(scalar(Kind::int_), value, json::array({"body", "n"}), errors));
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].type, "earlier");
  EXPECT_EQ(errors[1].type, "int_parsing");
}

TEST(Validate, UnionFailureLeavesTheInputUntouched) {
  TypeDesc t = parse_type_desc(union_of({kInt, list_of(kInt)}), "t");
  json value = json::array({"1", "x"});
  Errors errors;
  EXPECT_FALSE(validate(t, value, json::array(), errors));
  EXPECT_EQ(value, json::array({"1", "x"}));
}

// ---- validate_result: return annotations as response models ----

json model_of(json fields) {
  return {{"kind", "object"}, {"name", "Out"}, {"ref", 0}, {"construct", "pydantic"}, {"fields", std::move(fields)}};
}

TEST(ValidateResult, CoercesDropsUndeclaredKeysAndFillsDefaultsInDeclarationOrder) {
  TypeDesc t = result_shape(parse_type_desc(
      list_of(model_of({{{"name", "name"}, {"type", kStr}, {"required", true}},
                        {{"name", "role"}, {"type", kStr}, {"required", false}, {"default", "viewer"}},
                        {{"name", "score"}, {"type", kFloat}, {"required", false}}})),
      "t"));
  json v = json::parse(R"([{"password": "s3cret", "score": 2, "name": "ada"}, {"name": "bo", "role": "admin"}])");
  Errors errors;
  ASSERT_TRUE(validate_result(t, v, errors));
  EXPECT_EQ(v.dump(), R"([{"name":"ada","role":"viewer","score":2.0},{"name":"bo","role":"admin"}])");
}

TEST(ValidateResult, AMismatchIsReportedUnderResponse) {
  TypeDesc t = parse_type_desc(kInt, "t");
  json ok = "10";
  Errors errors;
  EXPECT_TRUE(validate_result(t, ok, errors));
  EXPECT_EQ(ok, 10);
  json bad = "ten";
  EXPECT_FALSE(validate_result(t, bad, errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].loc, json::array({"response"}));
  EXPECT_EQ(errors[0].type, "int_parsing");
}

TEST(ValidateResult, NullStandsForANonFiniteFloatEverywhere) {
  TypeDesc t = result_shape(parse_type_desc(dict_of(list_of(kFloat)), "t"));
  json v = json::parse(R"({"a": [1, null, 2.5]})");
  Errors errors;
  EXPECT_TRUE(validate_result(t, v, errors)) << (errors.empty() ? "" : errors[0].msg);
  EXPECT_EQ(v.dump(), R"({"a":[1.0,null,2.5]})");
  TypeDesc strict = parse_type_desc(kFloat, "t");  // only result_shape widens it
  json null_value = nullptr;
  EXPECT_FALSE(validate_result(strict, null_value, errors));
}

TEST(ValidateResult, EncodedBytesAndTimesStayAsTheEncoderWroteThem) {
  TypeDesc t = result_shape(parse_type_desc(
      tuple_of({json{{"kind", "bytes"}}, json{{"kind", "datetime"}}, json{{"kind", "uuid"}}}), "t"));
  json v = json::parse(R"(["aGk=", "2024-05-01T01:00:00", "A1B2C3D4-0000-0000-0000-000000000000"])");
  const json sent = v;
  Errors errors;
  EXPECT_TRUE(validate_result(t, v, errors));
  EXPECT_EQ(v, sent);  // not decoded to binary, not re-rendered
}

TEST(ValidateResult, ArraysAndFramesTheEncoderShapesAreNotChecked) {
  json ndarray = {{"kind", "ndarray"}, {"dtype", "float64"}};
  for (const json& type : {ndarray, dict_of(ndarray), json{{"kind", "dataframe"}}, kAny}) {
    TypeDesc t = parse_type_desc(type, "t");
    EXPECT_FALSE(result_is_checked(t)) << type.dump();
    json v = "anything";
    Errors errors;
    EXPECT_TRUE(validate_result(t, v, errors));
    EXPECT_EQ(v, "anything");
  }
  EXPECT_TRUE(result_is_checked(parse_type_desc(list_of(kInt), "t")));
}

TEST(ValidateNumber, KeepsIntsAndFloatsAsSent) {
  TypeDesc t = parse_type_desc(json{{"kind", "number"}}, "t");
  for (const auto& [in, out] : std::vector<std::pair<json, std::string>>{
           {json(3), "3"}, {json(0.5), "0.5"}, {json("7"), "7"}, {json("2.0"), "2.0"}, {json("1e3"), "1000.0"},
           {json(true), "1"}}) {
    json v = in;
    Errors errors;
    ASSERT_TRUE(validate(t, v, json::array(), errors)) << in.dump();
    EXPECT_EQ(v.dump(), out) << in.dump();
  }
  for (const json& bad : {json("five"), json::array(), json(nullptr)}) {
    json v = bad;
    Errors errors;
    EXPECT_FALSE(validate(t, v, json::array(), errors)) << bad.dump();
  }
}

TEST(ValidationErrorJson, HasTheFastApiShape) {
  ValidationError e{"int_parsing", json::array({"body", "n"}), "msg", "abc"};
  EXPECT_EQ(e.to_json(), (json{{"type", "int_parsing"}, {"loc", {"body", "n"}}, {"msg", "msg"}, {"input", "abc"}}));
  auto body = errors_body({e, e});
  ASSERT_TRUE(body["detail"].is_array());
  EXPECT_EQ(body["detail"].size(), 2u);
  EXPECT_EQ(body["detail"][0], e.to_json());
  EXPECT_EQ(errors_body({}), (json{{"detail", json::array()}}));
}

// ---- parse_type_desc ----

TEST(ParseTypeDesc, ScalarsAndContainers) {
  EXPECT_EQ(parse_type_desc(kInt, "w").kind, Kind::int_);
  EXPECT_EQ(parse_type_desc(kAny, "w").kind, Kind::any);
  TypeDesc l = parse_type_desc(list_of(kStr), "w");
  ASSERT_EQ(l.kind, Kind::list);
  ASSERT_EQ(l.items.size(), 1u);
  EXPECT_EQ(l.items[0].kind, Kind::str);
  TypeDesc d = parse_type_desc(json{{"kind", "dict"}}, "w");
  ASSERT_EQ(d.items.size(), 1u);
  EXPECT_EQ(d.items[0].kind, Kind::any) << "dict without values is dict[str, Any]";
  TypeDesc lit = parse_type_desc(literal_of({"a", 1}), "w");
  EXPECT_EQ(lit.values, json::array({"a", 1}));
}

TEST(ParseTypeDesc, RoundTripsThroughToJson) {
  for (const json& j : {kStr, kNone, list_of(dict_of(kFloat)), tuple_of({kInt, kStr}), optional_of(kBool),
                        union_of({kInt, kStr, list_of(kAny)}), literal_of({"a", 1, true})}) {
    EXPECT_EQ(to_json(parse_type_desc(j, "w")), j) << j.dump();
  }
}

TEST(ParseTypeDesc, DisplayNames) {
  EXPECT_EQ(display_name(parse_type_desc(list_of(kInt), "w")), "list[int]");
  EXPECT_EQ(display_name(parse_type_desc(dict_of(kFloat), "w")), "dict[str, float]");
  EXPECT_EQ(display_name(parse_type_desc(tuple_of({kInt, kStr}), "w")), "tuple[int, str]");
  EXPECT_EQ(display_name(parse_type_desc(optional_of(kInt), "w")), "int | None");
  EXPECT_EQ(display_name(parse_type_desc(kBool, "w")), "bool");
  EXPECT_EQ(display_name(parse_type_desc(literal_of({"a", 1}), "w")), "Literal[\"a\",1]");
}

struct BadDesc {
  const char* name;
  json desc;
  const char* why;
};

std::ostream& operator<<(std::ostream& os, const BadDesc& b) { return os << b.name; }

class ParseTypeDescErrors : public ::testing::TestWithParam<BadDesc> {};

TEST_P(ParseTypeDescErrors, ThrowLoadFailedNamingWhere) {
  const auto& b = GetParam();
  try {
    parse_type_desc(b.desc, "entrypoint 'f', parameter 'p'");
    FAIL() << "no exception for " << b.desc.dump();
  } catch (const core::Error& e) {
    EXPECT_EQ(e.code(), core::ErrorCode::load_failed);
    std::string what = e.what();
    EXPECT_NE(what.find("entrypoint 'f', parameter 'p'"), std::string::npos) << what;
    EXPECT_NE(what.find(b.why), std::string::npos) << what;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Descs, ParseTypeDescErrors,
    ::testing::Values(BadDesc{"unknown_kind", json{{"kind", "complex"}}, "unknown kind"},
                      BadDesc{"unknown_kind_case", json{{"kind", "INT"}}, "unknown kind"},
                      BadDesc{"no_kind", json::object(), "no kind"},
                      BadDesc{"kind_not_string", json{{"kind", 3}}, "no kind"},
                      BadDesc{"not_object", json("int"), "no kind"},
                      BadDesc{"null", json(nullptr), "no kind"},
                      BadDesc{"nested_unknown", list_of(json{{"kind", "ndarray2"}}), "unknown kind"},
                      BadDesc{"tuple_without_items", json{{"kind", "tuple"}}, "no items"},
                      BadDesc{"union_without_options", json{{"kind", "union"}}, "no options"},
                      BadDesc{"union_empty", union_of(json::array()), "empty union"},
                      BadDesc{"union_bad_option", union_of({kInt, json{{"kind", "x"}}}), "unknown kind"},
                      BadDesc{"literal_without_values", json{{"kind", "literal"}}, "no values"},
                      BadDesc{"literal_empty", literal_of(json::array()), "no values"}),
    [](const ::testing::TestParamInfo<BadDesc>& info) { return std::string(info.param.name); });

TEST(ValidateTableSize, KeepsTheMessageCases) {
  // The rules moved to tests/cases/coercion.json; what stays here checks message texts and C++-only inputs.
  EXPECT_GE(cases().size(), 20u);
}

}  // namespace
}  // namespace mvi::schema
