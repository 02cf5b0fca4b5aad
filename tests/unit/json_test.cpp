// mvi::Json and parse_json: key order kept, repeats resolved as json.loads does, linear time on
// objects with many keys, nesting limited while parsing.
#include "mvi/core/json.hpp"

#include <gtest/gtest.h>

#include <string>

namespace mvi {
namespace {

TEST(ParseJson, KeepsKeyOrder) {
  auto r = parse_json(R"({"z": 1, "a": {"y": [1, 2], "b": null}, "m": "x"})", 64);
  ASSERT_TRUE(r.value);
  EXPECT_EQ(r.value->dump(), R"({"z":1,"a":{"y":[1,2],"b":null},"m":"x"})");
}

TEST(ParseJson, ARepeatedKeyKeepsItsFirstPlaceAndLastValue) {
  auto r = parse_json(R"({"a": 1, "b": 2, "a": 3})", 64);
  ASSERT_TRUE(r.value);
  EXPECT_EQ(r.value->dump(), R"({"a":3,"b":2})");
}

TEST(ParseJson, RepeatsAreFoundInLargeObjectsToo) {
  std::string text = "{";
  for (int i = 0; i < 100; ++i) text += "\"k" + std::to_string(i) + "\": " + std::to_string(i) + ",";
  text += "\"k5\": \"again\", \"k99\": {\"n\": 1}}";
  auto r = parse_json(text, 64);
  ASSERT_TRUE(r.value);
  ASSERT_EQ(r.value->size(), 100u);
  EXPECT_EQ((*r.value)["k5"], "again");
  EXPECT_EQ((*r.value)["k99"]["n"], 1);
  EXPECT_EQ(r.value->begin().key(), "k0");
}

TEST(ParseJson, ManyKeys) {
  // 200,000 keys parse in a fraction of a second; ordered_json's own parser would search per key
  // (2·10^10 comparisons) and run into the test's time limit. No timing is asserted here.
  std::string text = "{";
  for (int i = 0; i < 200000; ++i) text += "\"k" + std::to_string(i) + "\":0,";
  text.back() = '}';
  auto r = parse_json(text, 64);
  ASSERT_TRUE(r.value);
  EXPECT_EQ(r.value->size(), 200000u);
  EXPECT_EQ(r.value->back(), 0);
}

TEST(ParseJson, NestingLimitIsCheckedWhileParsing) {
  EXPECT_TRUE(parse_json("[[[1]]]", 3).value);
  auto r = parse_json("[[[[1]]]]", 3);
  EXPECT_FALSE(r.value);
  EXPECT_EQ(r.error, JsonParseResult::Error::too_deep);
  // A hostile depth never builds the value.
  auto deep = parse_json(std::string(1000000, '['), 64);
  EXPECT_EQ(deep.error, JsonParseResult::Error::too_deep);
}

TEST(ParseJson, InvalidTextSaysWhereAndWhy) {
  auto r = parse_json(R"({"a": tru})", 64);
  EXPECT_FALSE(r.value);
  EXPECT_EQ(r.error, JsonParseResult::Error::invalid);
  EXPECT_GT(r.position, 0u);
  EXPECT_NE(r.message.find("syntax error"), std::string::npos);
  EXPECT_EQ(parse_json("{\"a\": 1", 64).error, JsonParseResult::Error::invalid);
  EXPECT_EQ(parse_json("1 2", 64).error, JsonParseResult::Error::invalid);
  EXPECT_EQ(parse_json("\"\xff\"", 64).error, JsonParseResult::Error::invalid);  // not UTF-8
}

TEST(AppendMember, KeepsOrderAndRepeats) {
  Json j = Json::object();
  append_member(j, "b", 1);
  append_member(j, "a", 2);
  append_member(j, "1", 3);
  append_member(j, "1", 4);
  EXPECT_EQ(j.dump(), R"({"b":1,"a":2,"1":3,"1":4})");
}

}  // namespace
}  // namespace mvi
