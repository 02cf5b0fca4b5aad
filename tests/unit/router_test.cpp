// Tests for mvi::http::Router: exact routes, captures, 404/405 with Allow, HEAD, the root-path
// prefix, trailing slashes, percent-decoding and the paths it must refuse (SPEC §4, §8).
#include "mvi/http/router.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <tuple>
#include <vector>

namespace mvi::http {
namespace {

using Outcome = Router::Outcome;

enum : Router::Id { kRoot = 1, kLive, kParams, kParamGet, kParamPost, kNotesGet, kNotesDelete, kHello };

void add_routes(Router& r) {
  r.add("GET", "/", kRoot);
  r.add("GET", "/health/live", kLive);
  r.add("GET", "/parameters", kParams);
  r.add("GET", "/parameters/{name}", kParamGet);
  r.add("POST", "/parameters/{name}", kParamPost);
  r.add("GET", "/notifications", kNotesGet);
  r.add("DELETE", "/notifications", kNotesDelete);
  r.add("POST", "/hello", kHello);
}

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() : plain_(""), prefixed_("/svc") {
    add_routes(plain_);
    add_routes(prefixed_);
  }
  Router plain_;
  Router prefixed_;
};

TEST_F(RouterTest, ExactRoutesMatchTheirId) {
  auto m = plain_.match("GET", "/health/live");
  EXPECT_EQ(m.outcome, Outcome::found);
  EXPECT_EQ(m.id, kLive);
  EXPECT_TRUE(m.capture.empty());

  m = plain_.match("POST", "/hello");
  EXPECT_EQ(m.outcome, Outcome::found);
  EXPECT_EQ(m.id, kHello);

  m = plain_.match("GET", "/parameters");
  EXPECT_EQ(m.outcome, Outcome::found);
  EXPECT_EQ(m.id, kParams);

  m = plain_.match("GET", "/");
  EXPECT_EQ(m.outcome, Outcome::found);
  EXPECT_EQ(m.id, kRoot);
}

TEST_F(RouterTest, SameMethodDifferentPathsChooseTheRightRoute) {
  EXPECT_EQ(plain_.match("GET", "/notifications").id, kNotesGet);
  EXPECT_EQ(plain_.match("DELETE", "/notifications").id, kNotesDelete);
}

TEST_F(RouterTest, SegmentsAreComparedExactlyAndCaseSensitively) {
  EXPECT_EQ(plain_.match("GET", "/health/LIVE").outcome, Outcome::not_found);
  EXPECT_EQ(plain_.match("GET", "/health").outcome, Outcome::not_found);
  EXPECT_EQ(plain_.match("GET", "/health/live/extra").outcome, Outcome::not_found);
  EXPECT_EQ(plain_.match("GET", "/healthy/live").outcome, Outcome::not_found);
  EXPECT_EQ(plain_.match("POST", "/hellox").outcome, Outcome::not_found);
}

TEST_F(RouterTest, CaptureReturnsTheDecodedSegment) {
  auto m = plain_.match("GET", "/parameters/threshold");
  EXPECT_EQ(m.outcome, Outcome::found);
  EXPECT_EQ(m.id, kParamGet);
  EXPECT_EQ(m.capture, "threshold");

  m = plain_.match("POST", "/parameters/a%20b%C3%A9");
  EXPECT_EQ(m.outcome, Outcome::found);
  EXPECT_EQ(m.id, kParamPost);
  EXPECT_EQ(m.capture, "a b\xC3\xA9");
}

TEST_F(RouterTest, CaptureNeverMatchesAnEmptySegment) {
  // "/parameters/" is the list route with a tolerated trailing slash, not an empty capture.
  auto m = plain_.match("GET", "/parameters/");
  EXPECT_EQ(m.outcome, Outcome::found);
  EXPECT_EQ(m.id, kParams);
  EXPECT_EQ(plain_.match("GET", "/parameters//").outcome, Outcome::not_found);
}

TEST_F(RouterTest, UnknownPathIsNotFound) {
  auto m = plain_.match("GET", "/nope");
  EXPECT_EQ(m.outcome, Outcome::not_found);
  EXPECT_EQ(m.id, -1);
  EXPECT_TRUE(m.allow.empty());
}

TEST_F(RouterTest, WrongMethodIsMethodNotAllowedWithAllowList) {
  auto m = plain_.match("DELETE", "/parameters/x");
  EXPECT_EQ(m.outcome, Outcome::method_not_allowed);
  EXPECT_EQ(m.allow, "GET, POST");

  m = plain_.match("PUT", "/notifications");
  EXPECT_EQ(m.outcome, Outcome::method_not_allowed);
  EXPECT_EQ(m.allow, "GET, DELETE");

  m = plain_.match("GET", "/hello");
  EXPECT_EQ(m.outcome, Outcome::method_not_allowed);
  EXPECT_EQ(m.allow, "POST");
}

TEST_F(RouterTest, MethodsAreCaseSensitive) {
  // Methods arrive upper-cased from the parser; a lower-case one is a different method.
  auto m = plain_.match("get", "/health/live");
  EXPECT_EQ(m.outcome, Outcome::method_not_allowed);
  EXPECT_EQ(m.allow, "GET");
}

TEST_F(RouterTest, HeadMatchesGetRoutes) {
  auto m = plain_.match("HEAD", "/health/live");
  EXPECT_EQ(m.outcome, Outcome::found);
  EXPECT_EQ(m.id, kLive);

  m = plain_.match("HEAD", "/parameters/x");
  EXPECT_EQ(m.outcome, Outcome::found);
  EXPECT_EQ(m.id, kParamGet);
  EXPECT_EQ(m.capture, "x");
}

TEST_F(RouterTest, HeadOnAPostOnlyRouteIsMethodNotAllowed) {
  auto m = plain_.match("HEAD", "/hello");
  EXPECT_EQ(m.outcome, Outcome::method_not_allowed);
  EXPECT_EQ(m.allow, "POST");
}

TEST_F(RouterTest, RootPathPrefixIsAccepted) {
  auto m = prefixed_.match("GET", "/svc/health/live");
  EXPECT_EQ(m.outcome, Outcome::found);
  EXPECT_EQ(m.id, kLive);

  m = prefixed_.match("GET", "/svc/parameters/p1");
  EXPECT_EQ(m.outcome, Outcome::found);
  EXPECT_EQ(m.capture, "p1");
}

TEST_F(RouterTest, RootPathPrefixIsOptional) {
  // Some proxies strip the prefix, some do not.
  auto m = prefixed_.match("GET", "/health/live");
  EXPECT_EQ(m.outcome, Outcome::found);
  EXPECT_EQ(m.id, kLive);
}

TEST_F(RouterTest, BarePrefixIsTheRootPath) {
  auto m = prefixed_.match("GET", "/svc");
  EXPECT_EQ(m.outcome, Outcome::found);
  EXPECT_EQ(m.id, kRoot);

  m = prefixed_.match("GET", "/svc/");
  EXPECT_EQ(m.outcome, Outcome::found);
  EXPECT_EQ(m.id, kRoot);
}

TEST_F(RouterTest, PrefixMustEndAtASegmentBoundary) {
  EXPECT_EQ(prefixed_.match("GET", "/svcx/health/live").outcome, Outcome::not_found);
  EXPECT_EQ(prefixed_.match("GET", "/svchealth/live").outcome, Outcome::not_found);
}

TEST_F(RouterTest, PrefixIsNotStrippedWithoutARootPath) {
  EXPECT_EQ(plain_.match("GET", "/svc/health/live").outcome, Outcome::not_found);
}

TEST_F(RouterTest, PrefixedWrongMethodStillReportsAllow) {
  auto m = prefixed_.match("PATCH", "/svc/parameters/x");
  EXPECT_EQ(m.outcome, Outcome::method_not_allowed);
  EXPECT_EQ(m.allow, "GET, POST");
}

TEST_F(RouterTest, OneTrailingSlashIsTolerated) {
  auto m = plain_.match("GET", "/health/live/");
  EXPECT_EQ(m.outcome, Outcome::found);
  EXPECT_EQ(m.id, kLive);

  m = plain_.match("GET", "/parameters/x/");
  EXPECT_EQ(m.outcome, Outcome::found);
  EXPECT_EQ(m.capture, "x");

  m = prefixed_.match("POST", "/svc/hello/");
  EXPECT_EQ(m.outcome, Outcome::found);
  EXPECT_EQ(m.id, kHello);
}

TEST_F(RouterTest, TwoTrailingSlashesAreNotTolerated) {
  EXPECT_EQ(plain_.match("GET", "/health/live//").outcome, Outcome::not_found);
}

TEST_F(RouterTest, EmptyInnerSegmentDoesNotMatch) {
  EXPECT_EQ(plain_.match("GET", "/health//live").outcome, Outcome::not_found);
}

TEST_F(RouterTest, PercentEncodedLiteralSegmentsMatch) {
  auto m = plain_.match("GET", "/health/%6C%69%76%65");  // "live"
  EXPECT_EQ(m.outcome, Outcome::found);
  EXPECT_EQ(m.id, kLive);
}

struct BadPathCase {
  const char* path;
  const char* why;
};

std::ostream& operator<<(std::ostream& os, const BadPathCase& c) { return os << '"' << c.path << "\" (" << c.why << ")"; }

class RouterBadPathTest : public ::testing::TestWithParam<BadPathCase> {};

TEST_P(RouterBadPathTest, IsRejected) {
  Router plain("");
  add_routes(plain);
  Router prefixed("/svc");
  add_routes(prefixed);
  const auto& c = GetParam();
  EXPECT_EQ(plain.match("GET", c.path).outcome, Outcome::bad_path) << c.path << " (" << c.why << ")";
  std::string with_prefix = std::string("/svc") + c.path;
  if (c.path[0] == '/') {
    EXPECT_EQ(prefixed.match("GET", with_prefix).outcome, Outcome::bad_path) << with_prefix << " (" << c.why << ")";
  }
}

INSTANTIATE_TEST_SUITE_P(
    Paths, RouterBadPathTest,
    ::testing::Values(BadPathCase{"/parameters/a%2Fb", "encoded slash"},
                      BadPathCase{"/parameters/a%2fb", "encoded slash, lower-case hex"},
                      BadPathCase{"/parameters/a%00b", "encoded NUL"},
                      BadPathCase{"/parameters/a%5Cb", "encoded backslash"},
                      BadPathCase{"/parameters/a%5cb", "encoded backslash, lower-case hex"},
                      BadPathCase{"/parameters/a\\b", "raw backslash"},
                      BadPathCase{"/./health/live", "dot segment"},
                      BadPathCase{"/health/../health/live", "dot-dot segment"},
                      BadPathCase{"/parameters/..", "dot-dot capture"},
                      BadPathCase{"/parameters/.", "dot capture"},
                      BadPathCase{"/parameters/%2e%2e", "encoded dot-dot"},
                      BadPathCase{"/parameters/%2E", "encoded dot"},
                      BadPathCase{"/parameters/%zz", "non-hex escape"},
                      BadPathCase{"/parameters/%4", "truncated escape"},
                      BadPathCase{"/parameters/%", "bare percent"},
                      BadPathCase{"/parameters/abc%", "trailing percent"},
                      BadPathCase{"/parameters/%G1", "non-hex first digit"},
                      BadPathCase{"health/live", "no leading slash"},
                      BadPathCase{"*", "asterisk form"},
                      BadPathCase{"", "empty"}));

TEST(RouterRootPath, BadPathsBehindThePrefixAreStillBad) {
  Router r("/svc");
  add_routes(r);
  EXPECT_EQ(r.match("GET", "/svc/..").outcome, Outcome::bad_path);
  EXPECT_EQ(r.match("GET", "/svc/parameters/%2F").outcome, Outcome::bad_path);
}

TEST(RouterTable, EmptyRouterFindsNothing) {
  Router r;
  EXPECT_EQ(r.match("GET", "/").outcome, Outcome::not_found);
  EXPECT_EQ(r.match("GET", "/anything").outcome, Outcome::not_found);
}

TEST(RouterTable, FirstAddedRouteWinsForTheSameMethodAndPath) {
  Router r;
  r.add("GET", "/x", 1);
  r.add("GET", "/x", 2);
  EXPECT_EQ(r.match("GET", "/x").id, 1);
}

TEST(RouterTable, LiteralRouteAddedBeforeCaptureTakesPrecedence) {
  Router r;
  r.add("GET", "/parameters/special", 1);
  r.add("GET", "/parameters/{name}", 2);
  EXPECT_EQ(r.match("GET", "/parameters/special").id, 1);
  auto m = r.match("GET", "/parameters/other");
  EXPECT_EQ(m.id, 2);
  EXPECT_EQ(m.capture, "other");
}

TEST(RouterTable, AllowListHasNoDuplicates) {
  Router r;
  r.add("GET", "/a/{x}", 1);
  r.add("GET", "/a/b", 2);
  r.add("POST", "/a/{x}", 3);
  auto m = r.match("PUT", "/a/b");
  EXPECT_EQ(m.outcome, Outcome::method_not_allowed);
  EXPECT_EQ(m.allow, "GET, POST");
}

TEST(RouterTable, CaptureIsTheMiddleSegmentWhenThePatternSaysSo) {
  Router r;
  r.add("GET", "/items/{id}/detail", 7);
  auto m = r.match("GET", "/items/42/detail");
  EXPECT_EQ(m.outcome, Outcome::found);
  EXPECT_EQ(m.id, 7);
  EXPECT_EQ(m.capture, "42");
  EXPECT_EQ(r.match("GET", "/items/42").outcome, Outcome::not_found);
}


TEST(RouterMount, EveryMethodAtAndBelowThePrefixWithTheRawRest) {
  Router r("/svc");
  r.add("POST", "/hello", 1);
  r.add_mount("/dash", 7);
  for (auto [method, path, rest] : std::vector<std::tuple<const char*, const char*, const char*>>{
           {"GET", "/dash", ""}, {"GET", "/dash/", "/"}, {"POST", "/dash/_dash-update", "/_dash-update"},
           {"DELETE", "/svc/dash/a%20b/c.js", "/a%20b/c.js"}, {"GET", "/d%61sh/x", "/x"}}) {
    auto m = r.match(method, path);
    EXPECT_EQ(m.outcome, Router::Outcome::found) << path;
    EXPECT_EQ(m.id, 7) << path;
    EXPECT_EQ(m.capture, rest) << path;
  }
  EXPECT_EQ(r.match("GET", "/dashboard").outcome, Router::Outcome::not_found);  // a prefix of a segment is not one
  EXPECT_EQ(r.match("GET", "/hello").outcome, Router::Outcome::method_not_allowed);  // other routes come first
  EXPECT_EQ(r.match("GET", "/dash/..").outcome, Router::Outcome::bad_path);
}

}  // namespace
}  // namespace mvi::http
