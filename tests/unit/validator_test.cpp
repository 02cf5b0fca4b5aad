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

using json = nlohmann::json;

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
  return {
      // ---- str: strict, 5 is not a str ----
      ok("str_ok", kStr, "hello", "hello"),
      ok("str_empty", kStr, "", ""),
      ok("str_non_ascii", kStr, "h\xC3\xA9llo", "h\xC3\xA9llo"),
      bad("str_from_int", kStr, 5, {err_in("string_type", json::array(), "Input should be a valid string", 5)}),
      bad("str_from_bool", kStr, true, {err("string_type")}),
      bad("str_from_null", kStr, nullptr, {err("string_type")}),
      bad("str_from_list", kStr, json::array({"a"}), {err("string_type")}),

      // ---- int ----
      ok("int_ok", kInt, 5, 5),
      ok("int_negative", kInt, -42, -42),
      ok("int_from_string", kInt, "5", 5),
      ok("int_from_string_signed", kInt, "-17", -17),
      ok("int_from_string_plus", kInt, "+3", 3),
      ok("int_from_string_whitespace", kInt, " 7 ", 7),
      ok("int_from_string_whole_decimal", kInt, "5.0", 5),
      ok("int_from_whole_float", kInt, 1.0, 1),
      ok("int_from_negative_whole_float", kInt, -3.0, -3),
      ok("int_from_true", kInt, true, 1),
      ok("int_from_false", kInt, false, 0),
      ok("int_uint64_kept", kInt, std::numeric_limits<std::uint64_t>::max(),
         std::numeric_limits<std::uint64_t>::max()),
      bad("int_from_fraction", kInt, 1.5,
          {err_in("int_from_float", json::array(),
                  "Input should be a valid integer, got a number with a fractional part", 1.5)}),
      bad("int_from_word", kInt, "abc",
          {err_in("int_parsing", json::array(),
                  "Input should be a valid integer, unable to parse string as an integer", "abc")}),
      bad("int_from_empty_string", kInt, "", {err("int_parsing")}),
      bad("int_from_fraction_string", kInt, "5.5", {err("int_parsing")}),
      bad("int_from_trailing_dot", kInt, "5.", {err("int_parsing")}),
      bad("int_from_sign_only", kInt, "-", {err("int_parsing")}),
      bad("int_from_huge_string", kInt, "99999999999999999999999",
          {err_in("int_parsing_size", json::array(),
                  "Unable to parse input string as an integer, exceeded maximum size", "99999999999999999999999")}),
      bad("int_from_huge_float", kInt, 1e20, {err("int_parsing_size")}),
      bad("int_from_infinity", kInt, std::numeric_limits<double>::infinity(), {err("finite_number")}),
      bad("int_from_null", kInt, nullptr,
          {err_in("int_type", json::array(), "Input should be a valid integer", nullptr)}),
      bad("int_from_list", kInt, json::array({1}), {err("int_type")}),
      bad("int_from_object", kInt, json::object(), {err("int_type")}),

      // ---- float ----
      ok("float_ok", kFloat, 2.5, 2.5),
      ok("float_from_int", kFloat, 5, 5.0),
      ok("float_from_string", kFloat, "2.5", 2.5),
      ok("float_from_string_exponent", kFloat, " 1e3 ", 1000.0),
      ok("float_from_string_int", kFloat, "-4", -4.0),
      ok("float_from_true", kFloat, true, 1.0),
      bad("float_from_word", kFloat, "abc",
          {err_in("float_parsing", json::array(), "Input should be a valid number, unable to parse string as a number",
                  "abc")}),
      bad("float_from_empty_string", kFloat, "", {err("float_parsing")}),
      bad("float_from_trailing_garbage", kFloat, "1.5x", {err("float_parsing")}),
      bad("float_from_null", kFloat, nullptr, {err("float_type", json::array(), "Input should be a valid number")}),
      bad("float_from_list", kFloat, json::array(), {err("float_type")}),

      // ---- bool ----
      ok("bool_ok", kBool, true, true),
      ok("bool_from_string_true", kBool, "true", true),
      ok("bool_from_string_upper", kBool, "TRUE", true),
      ok("bool_from_string_yes", kBool, "yes", true),
      ok("bool_from_string_on", kBool, "on", true),
      ok("bool_from_string_1", kBool, "1", true),
      ok("bool_from_string_false", kBool, "false", false),
      ok("bool_from_string_off", kBool, "Off", false),
      ok("bool_from_string_n", kBool, "n", false),
      ok("bool_from_string_0", kBool, "0", false),
      ok("bool_from_int_1", kBool, 1, true),
      ok("bool_from_int_0", kBool, 0, false),
      bad("bool_from_int_2", kBool, 2,
          {err_in("bool_parsing", json::array(), "Input should be a valid boolean, unable to interpret input", 2)}),
      bad("bool_from_word", kBool, "maybe", {err("bool_parsing")}),
      bad("bool_from_null", kBool, nullptr, {err_in("bool_type", json::array(), "Input should be a valid boolean", nullptr)}),
      bad("bool_from_list", kBool, json::array(), {err("bool_type")}),

      // ---- none / any ----
      ok("none_ok", kNone, nullptr, nullptr),
      bad("none_from_zero", kNone, 0, {err_in("none_required", json::array(), "Input should be None", 0)}),
      bad("none_from_empty_string", kNone, "", {err("none_required")}),
      ok("any_object", kAny, json{{"k", {1, "2"}}}, json{{"k", {1, "2"}}}),
      ok("any_null", kAny, nullptr, nullptr),

      // ---- list ----
      ok("list_coerces_items", list_of(kInt), json::array({"1", 2, 3.0}), json::array({1, 2, 3})),
      ok("list_empty", list_of(kInt), json::array(), json::array()),
      ok("list_without_item_type", json{{"kind", "list"}}, json::array({1, "a", nullptr}),
         json::array({1, "a", nullptr})),
      bad("list_reports_every_item", list_of(kInt), json::array({1, "x", 3.5}),
          {err_in("int_parsing", json::array({1}), "", "x"), err_in("int_from_float", json::array({2}), "", 3.5)}),
      bad("list_nested_loc", list_of(list_of(kInt)), json::array({json::array({1}), json::array({2, "z"})}),
          {err("int_parsing", json::array({1, 1}))}),
      bad("list_from_string", list_of(kInt), "abc",
          {err_in("list_type", json::array(), "Input should be a valid list", "abc")}),
      bad("list_from_object", list_of(kInt), json::object(), {err("list_type")}),

      // ---- tuple ----
      ok("tuple_ok", tuple_of({kInt, kStr}), json::array({1, "a"}), json::array({1, "a"})),
      ok("tuple_coerces", tuple_of({kInt, kFloat}), json::array({"1", 2}), json::array({1, 2.0})),
      bad("tuple_too_long", tuple_of({kInt, kStr}), json::array({1, "a", 3}),
          {err("too_long", json::array(), "Tuple should have at most 2 items after validation, not 3")}),
      bad("tuple_missing", tuple_of({kInt, kStr}), json::array({1}),
          {err_in("missing", json::array({1}), "Field required", json::array({1}))}),
      bad("tuple_missing_both", tuple_of({kInt, kStr}), json::array(),
          {err("missing", json::array({0})), err("missing", json::array({1}))}),
      bad("tuple_wrong_item", tuple_of({kInt, kStr}), json::array({"x", 2}),
          {err("int_parsing", json::array({0})), err("string_type", json::array({1}))}),
      bad("tuple_from_string", tuple_of({kInt}), "x", {err("tuple_type", json::array(), "Input should be a valid tuple")}),

      // ---- dict ----
      ok("dict_coerces_values", dict_of(kInt), json{{"a", "1"}, {"b", 2}}, json{{"a", 1}, {"b", 2}}),
      ok("dict_empty", dict_of(kInt), json::object(), json::object()),
      bad("dict_key_in_loc", dict_of(kInt), json{{"a", 1}, {"bad", "x"}}, {err_in("int_parsing", json::array({"bad"}), "", "x")}),
      bad("dict_nested_loc", dict_of(list_of(kInt)), json{{"k", {1, "y"}}}, {err("int_parsing", json::array({"k", 1}))}),
      bad("dict_from_list", dict_of(kInt), json::array(),
          {err_in("dict_type", json::array(), "Input should be a valid dictionary", json::array())}),

      // ---- Optional[T] ----
      ok("optional_null", optional_of(kInt), nullptr, nullptr),
      ok("optional_value", optional_of(kInt), "5", 5),
      ok("optional_none_first", union_of({kNone, kInt}), "6", 6),
      bad("optional_reports_inner_errors_untagged", optional_of(kInt), "x", {err("int_parsing", json::array())}),

      // ---- Union: smart mode, exact match first ----
      ok("union_int_str_keeps_string", union_of({kInt, kStr}), "5", "5"),
      ok("union_str_int_keeps_int", union_of({kStr, kInt}), 5, 5),
      ok("union_int_float_keeps_float", union_of({kInt, kFloat}), 2.5, 2.5),
      ok("union_float_int_keeps_int", union_of({kFloat, kInt}), 3, 3),
      ok("union_int_bool_keeps_bool", union_of({kInt, kBool}), true, true),
      ok("union_lax_when_nothing_exact", union_of({kInt, list_of(kInt)}), "7", 7),
      ok("union_lax_whole_float_to_int", union_of({kInt, kStr}), 5.0, 5),
      ok("union_list_coerces", union_of({kStr, list_of(kInt)}), json::array({"1"}), json::array({1})),
      bad("union_tags_each_option", union_of({kInt, list_of(kInt)}), nullptr,
          {err("int_type", json::array({"int"})), err("list_type", json::array({"list[int]"}))}),
      bad("union_three_options_all_fail", union_of({kInt, kBool, kNone}), "zz",
          {err("int_parsing", json::array({"int"})), err("bool_parsing", json::array({"bool"})),
           err("none_required", json::array({"None"}))}),

      // ---- Literal ----
      ok("literal_str", kLiteralAB, "a", "a"),
      ok("literal_int", literal_of({1, 2}), 2, 2),
      ok("literal_bool", literal_of({true}), true, true),
      bad("literal_str_miss", kLiteralAB, "c",
          {err_in("literal_error", json::array(), "Input should be 'a' or 'b'", "c")}),
      bad("literal_three_values_msg", literal_of({1, 2, 3}), 4,
          {err("literal_error", json::array(), "Input should be 1, 2 or 3")}),
      bad("literal_mixed_msg", literal_of({"x", true, nullptr}), 0,
          {err("literal_error", json::array(), "Input should be 'x', True or None")}),
      bad("literal_int_rejects_true", literal_of({1, 2}), true, {err("literal_error")}),
      bad("literal_true_rejects_1", literal_of({true}), 1, {err("literal_error")}),
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

TEST(ValidateTableSize, CoversAtLeastFortyCases) {
  // The brief: at least 40 table cases covering every kind.
  EXPECT_GE(cases().size(), 40u);
}

}  // namespace
}  // namespace mvi::schema
