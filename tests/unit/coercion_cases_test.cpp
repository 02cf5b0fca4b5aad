// The shared coercion cases (tests/cases/coercion.json, also read by the Python and e2e suites), run
// through the C++ validator: parse_type_desc on each case's `desc`, validate its `input`, compare
// with `expect` or `errors` under the file's comparison rules (tests/cases/README.md).
#include "mvi/schema/validator.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "mvi/core/json.hpp"
#include "mvi/schema/formats.hpp"
#include "mvi/schema/type_desc.hpp"

namespace mvi::schema {
namespace {

struct Case {
  std::string name;
  Json input, expect, errors, desc;
  bool has_expect = false;
};

std::vector<Case> load_cases() {
  std::ifstream in(std::string(MVI_SOURCE_DIR) + "/tests/cases/coercion.json");
  std::stringstream text;
  text << in.rdbuf();
  auto parsed = parse_json(text.str(), 256);
  std::vector<Case> cases;
  if (!parsed.value) return cases;
  for (const auto& c : *parsed.value) {
    Case k;
    k.name = c.at("name").get<std::string>();
    k.input = c.at("input");
    k.desc = c.at("desc");
    k.has_expect = c.contains("expect");
    if (k.has_expect) k.expect = c.at("expect");
    else k.errors = c.at("errors");
    cases.push_back(std::move(k));
  }
  return cases;
}

// The file's rules: JSON types matter (5, 5.0, true differ) except signed vs unsigned integers;
// objects compare by key set; binary compares as standard base64 text.
bool same(const Json& a, const Json& b) {
  if (a.is_binary()) {
    const auto& bytes = a.get_binary();
    return b.is_string() && encode_base64(bytes.data(), bytes.size()) == b.get<std::string>();
  }
  if (a.is_number_integer() && b.is_number_integer()) {
    if (a.is_number_unsigned() && b.is_number_unsigned()) return a.get<std::uint64_t>() == b.get<std::uint64_t>();
    if (a.is_number_unsigned() || b.is_number_unsigned()) {
      const Json& u = a.is_number_unsigned() ? a : b;
      const Json& s = a.is_number_unsigned() ? b : a;
      return s.get<std::int64_t>() >= 0 && static_cast<std::uint64_t>(s.get<std::int64_t>()) == u.get<std::uint64_t>();
    }
    return a.get<std::int64_t>() == b.get<std::int64_t>();
  }
  if (a.type() != b.type()) return false;
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!same(a[i], b[i])) return false;
    return true;
  }
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto it = a.begin(); it != a.end(); ++it) {
      auto other = b.find(it.key());
      if (other == b.end() || !same(it.value(), *other)) return false;
    }
    return true;
  }
  return a == b;
}

class CoercionCase : public ::testing::TestWithParam<Case> {};

TEST_P(CoercionCase, ValidatorAgreesWithTheCaseFile) {
  const Case& c = GetParam();
  TypeDesc type = parse_type_desc(c.desc, c.name);
  Json value = c.input;
  Errors errors;
  BuildNote note;
  const bool ok = validate(type, value, Json::array(), errors, &note);
  if (c.has_expect) {
    ASSERT_TRUE(ok) << c.name << ": " << (errors.empty() ? "" : errors.front().msg);
    EXPECT_TRUE(same(value, c.expect)) << c.name << ": got " << dump_json(value) << ", expected " << dump_json(c.expect);
    return;
  }
  ASSERT_FALSE(ok) << c.name << ": accepted as " << dump_json(value);
  ASSERT_EQ(errors.size(), c.errors.size()) << c.name << ": " << dump_json(errors_body(errors));
  for (std::size_t i = 0; i < errors.size(); ++i) {
    EXPECT_EQ(errors[i].type, c.errors[i].at("type").get<std::string>()) << c.name << " error " << i;
    EXPECT_TRUE(same(errors[i].loc, c.errors[i].at("loc"))) << c.name << " error " << i << ": loc " << dump_json(errors[i].loc);
  }
}

INSTANTIATE_TEST_SUITE_P(SharedCases, CoercionCase, ::testing::ValuesIn(load_cases()),
                         [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

TEST(CoercionCaseFile, IsReadAndNotEmpty) {
  // A missing or unreadable file must fail, not silently run no case.
  EXPECT_GT(load_cases().size(), 200u);
}

}  // namespace
}  // namespace mvi::schema
