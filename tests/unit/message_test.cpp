// Tests for the plain HTTP values and helpers: percent_decode, parse_query, header lookup,
// Response::json/error/set_header, reason() and iequals().
#include "mvi/http/message.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

namespace mvi::http {
namespace {

using json = nlohmann::ordered_json;
using Pairs = std::vector<std::pair<std::string, std::string>>;

// ---- percent_decode ----

TEST(PercentDecode, PlainTextIsUnchanged) {
  EXPECT_EQ(percent_decode("hello", false), "hello");
  EXPECT_EQ(percent_decode("", false), "");
  EXPECT_EQ(percent_decode("a-b_c.d~e", true), "a-b_c.d~e");
}

TEST(PercentDecode, DecodesEscapesInEitherCase) {
  EXPECT_EQ(percent_decode("a%20b", false), "a b");
  EXPECT_EQ(percent_decode("%41%62", false), "Ab");
  EXPECT_EQ(percent_decode("%e2%82%ac", false), "\xE2\x82\xAC");
  EXPECT_EQ(percent_decode("%E2%82%AC", false), "\xE2\x82\xAC");
  EXPECT_EQ(percent_decode("%25", false), "%");
  EXPECT_EQ(percent_decode("%2541", false), "%41") << "decoding happens once";
}

TEST(PercentDecode, DecodesNulIntoTheString) {
  auto out = percent_decode("a%00b", false);
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, std::string("a\0b", 3));
}

TEST(PercentDecode, PlusIsSpaceOnlyForQueries) {
  EXPECT_EQ(percent_decode("a+b", false), "a+b");
  EXPECT_EQ(percent_decode("a+b", true), "a b");
  EXPECT_EQ(percent_decode("a%2Bb", true), "a+b");
}

TEST(PercentDecode, MalformedEscapesAreRejected) {
  EXPECT_EQ(percent_decode("%", false), std::nullopt);
  EXPECT_EQ(percent_decode("%4", false), std::nullopt);
  EXPECT_EQ(percent_decode("abc%", false), std::nullopt);
  EXPECT_EQ(percent_decode("abc%4", true), std::nullopt);
  EXPECT_EQ(percent_decode("%zz", false), std::nullopt);
  EXPECT_EQ(percent_decode("%4g", false), std::nullopt);
  EXPECT_EQ(percent_decode("%g4", false), std::nullopt);
  EXPECT_EQ(percent_decode("% 1", false), std::nullopt);
  EXPECT_EQ(percent_decode("ok%41then%", false), std::nullopt);
}

TEST(PercentDecode, EscapeAtTheVeryEndIsAccepted) {
  EXPECT_EQ(percent_decode("ab%41", false), "abA");
}

// ---- parse_query ----

TEST(ParseQuery, SplitsPairsInOrder) {
  EXPECT_EQ(parse_query("a=1&b=x%20y&a=2"), (Pairs{{"a", "1"}, {"b", "x y"}, {"a", "2"}}));
}

TEST(ParseQuery, KeepsRepeatedKeys) {
  EXPECT_EQ(parse_query("tag=a&tag=b&tag=c"), (Pairs{{"tag", "a"}, {"tag", "b"}, {"tag", "c"}}));
}

TEST(ParseQuery, PlusIsSpaceInKeysAndValues) {
  EXPECT_EQ(parse_query("first+name=Ada+Lovelace"), (Pairs{{"first name", "Ada Lovelace"}}));
  EXPECT_EQ(parse_query("q=1%2B1"), (Pairs{{"q", "1+1"}}));
}

TEST(ParseQuery, MissingEqualsGivesAnEmptyValue) {
  EXPECT_EQ(parse_query("flag"), (Pairs{{"flag", ""}}));
  EXPECT_EQ(parse_query("flag&x=1"), (Pairs{{"flag", ""}, {"x", "1"}}));
  EXPECT_EQ(parse_query("x="), (Pairs{{"x", ""}}));
}

TEST(ParseQuery, OnlyTheFirstEqualsSplits) {
  EXPECT_EQ(parse_query("expr=a=b"), (Pairs{{"expr", "a=b"}}));
  EXPECT_EQ(parse_query("=v"), (Pairs{{"", "v"}}));
}

TEST(ParseQuery, EmptyPairsAreSkipped) {
  EXPECT_TRUE(parse_query("").empty());
  EXPECT_TRUE(parse_query("&&&").empty());
  EXPECT_EQ(parse_query("&a=1&&b=2&"), (Pairs{{"a", "1"}, {"b", "2"}}));
}

TEST(ParseQuery, MalformedEscapesAreKeptUndecoded) {
  EXPECT_EQ(parse_query("a=%zz&b%=1"), (Pairs{{"a", "%zz"}, {"b%", "1"}}));
}

// ---- Request::header ----

TEST(RequestHeader, LookupIsCaseInsensitiveAndReturnsTheFirst) {
  Request r;
  r.headers = {{"Content-Type", "application/json"}, {"X-Request-ID", "first"}, {"x-request-id", "second"}};
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.header("CONTENT-TYPE"), "application/json");
  EXPECT_EQ(r.header("x-REQUEST-id"), "first");
  EXPECT_EQ(r.header("Accept"), std::nullopt);
  EXPECT_EQ(r.header("Content-Typ"), std::nullopt) << "a prefix is not a match";
}

TEST(RequestHeader, EmptyValueIsStillPresent) {
  Request r;
  r.headers = {{"X-Empty", ""}};
  auto v = r.header("x-empty");
  ASSERT_TRUE(v.has_value());
  EXPECT_TRUE(v->empty());
}

TEST(RequestDefaults, AreHttp11AndEmpty) {
  Request r;
  EXPECT_EQ(r.version, 11u);
  EXPECT_TRUE(r.headers.empty());
  EXPECT_TRUE(r.body.empty());
}

// ---- Response ----

TEST(ResponseJson, SetsStatusBodyAndContentType) {
  auto r = Response::json(201, json{{"a", 1}, {"b", {true, nullptr}}});
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.content_type, "application/json; charset=utf-8");
  EXPECT_EQ(json::parse(r.body), (json{{"a", 1}, {"b", {true, nullptr}}}));
  EXPECT_EQ(r.body.find('\n'), std::string::npos) << "compact, one line";
  EXPECT_FALSE(r.close);
}

TEST(ResponseJson, ScalarBodies) {
  EXPECT_EQ(Response::json(200, "OK").body, "\"OK\"");
  EXPECT_EQ(Response::json(200, 42).body, "42");
  EXPECT_EQ(Response::json(200, nullptr).body, "null");
}

TEST(ResponseJson, InvalidUtf8IsReplacedNotThrown) {
  Response r;
  ASSERT_NO_THROW(r = Response::json(200, json(std::string("a\xFF" "b"))));
  EXPECT_EQ(r.body, "\"a\xEF\xBF\xBD" "b\"");
  EXPECT_NO_THROW(json::parse(r.body));
}

TEST(ResponseError, HasTheDetailShape) {
  auto r = Response::error(404, "Not Found");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(json::parse(r.body), (json{{"detail", "Not Found"}}));
}

TEST(ResponseError, DetailIsEscaped) {
  auto r = Response::error(400, "bad \"quote\"\n");
  EXPECT_EQ(json::parse(r.body)["detail"], "bad \"quote\"\n");
}

TEST(ResponseSetHeader, ReplacesCaseInsensitivelyOrAppends) {
  Response r;
  r.set_header("X-One", "1");
  r.set_header("X-Two", "2");
  r.set_header("x-one", "uno");
  ASSERT_EQ(r.headers.size(), 2u);
  EXPECT_EQ(r.headers[0].name, "X-One");
  EXPECT_EQ(r.headers[0].value, "uno");
  EXPECT_EQ(r.headers[1].value, "2");
}

// ---- reason / iequals ----

TEST(Reason, KnownStatuses) {
  EXPECT_EQ(reason(200), "OK");
  EXPECT_EQ(reason(201), "Created");
  EXPECT_EQ(reason(204), "No Content");
  EXPECT_EQ(reason(400), "Bad Request");
  EXPECT_EQ(reason(401), "Unauthorized");
  EXPECT_EQ(reason(404), "Not Found");
  EXPECT_EQ(reason(405), "Method Not Allowed");
  EXPECT_EQ(reason(413), "Content Too Large");
  EXPECT_EQ(reason(414), "URI Too Long");
  EXPECT_EQ(reason(422), "Unprocessable Content");
  EXPECT_EQ(reason(431), "Request Header Fields Too Large");
  EXPECT_EQ(reason(500), "Internal Server Error");
  EXPECT_EQ(reason(503), "Service Unavailable");
  EXPECT_EQ(reason(504), "Gateway Timeout");
}

TEST(Reason, RedirectsTheRuntimeSends) {
  // `/` answers 307 and `/docs/` 308; both once went out as "Unknown".
  EXPECT_EQ(reason(303), "See Other");
  EXPECT_EQ(reason(307), "Temporary Redirect");
  EXPECT_EQ(reason(308), "Permanent Redirect");
}

TEST(Reason, EveryStatusAnHttpExceptionMaySendHasAPhraseOrNone) {
  // Registered codes have their phrase; unregistered ones an empty phrase, never a made-up word.
  for (int status = 100; status <= 599; ++status) {
    std::string_view phrase = reason(status);
    EXPECT_EQ(phrase.find("Unknown"), std::string_view::npos) << status;
    for (char c : phrase) EXPECT_TRUE(c >= ' ' && c <= '~') << status;
  }
  EXPECT_EQ(reason(299), "");
  EXPECT_EQ(reason(0), "");
  EXPECT_EQ(reason(-1), "");
}

TEST(HexDigitValue, ReadsBothCases) {
  EXPECT_EQ(hex_digit_value('0'), 0);
  EXPECT_EQ(hex_digit_value('a'), 10);
  EXPECT_EQ(hex_digit_value('F'), 15);
  EXPECT_EQ(hex_digit_value('g'), -1);
  EXPECT_EQ(hex_digit_value(' '), -1);
}

TEST(IEquals, ComparesAsciiCaseInsensitively) {
  EXPECT_TRUE(iequals("Content-Length", "content-length"));
  EXPECT_TRUE(iequals("", ""));
  EXPECT_FALSE(iequals("abc", "abcd"));
  EXPECT_FALSE(iequals("abc", "abd"));
}

}  // namespace
}  // namespace mvi::http
