// Raw-header and framing checks (SPEC §8): what Beast 1.74 would accept or normalise is refused
// here, and a malformed header is answered as soon as it shows, not at the header deadline.
#include "mvi/http/request_checks.hpp"

#include <gtest/gtest.h>

namespace mvi::http {
namespace {

config::Limits limits() {
  config::Limits l;
  l.max_request_line = 32;
  l.max_header_size = 128;
  l.max_header_count = 3;
  return l;
}

int status_of(const std::optional<Rejection>& r) { return r ? r->status : 0; }

TEST(RawHeader, AcceptsAPlainRequestAndLeadingEmptyLines) {
  EXPECT_FALSE(check_raw_header("GET / HTTP/1.1\r\nHost: a\r\n\r\n", limits()));
  EXPECT_FALSE(check_raw_header("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", limits()));
  EXPECT_EQ(leading_empty_lines("\r\nGET"), 2u);
  EXPECT_EQ(leading_empty_lines("GET"), 0u);
  EXPECT_EQ(leading_empty_lines(std::string(40, '\r')), 0u);
  EXPECT_EQ(leading_empty_lines("\r\n\r\n\r\n\r\n\r\n\r\nGET"), 2 * kMaxLeadingEmptyLines);
}

TEST(RawHeader, RefusesWhatBeastWouldTolerate) {
  EXPECT_EQ(status_of(check_raw_header("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", limits())), 400);
  EXPECT_EQ(status_of(check_raw_header("GET / HTTP/1.1\r\nHost: a\n\r\n", limits())), 400);
  EXPECT_EQ(status_of(check_raw_header("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", limits())), 400);
  EXPECT_EQ(status_of(check_raw_header(std::string("GET / HTTP/1.1\r\nHost: a\0\r\n\r\n", 29), limits())), 400);
  EXPECT_EQ(status_of(check_raw_header("GET /" + std::string(40, 'a') + " HTTP/1.1\r\n\r\n", limits())), 414);
  EXPECT_EQ(status_of(check_raw_header("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", limits())), 431);
}

TEST(PartialHeader, BareLfIsAnsweredBeforeTheHeaderEnds) {
  // A client using LF alone never sends CRLFCRLF: without this it waited for the header deadline.
  EXPECT_EQ(status_of(check_partial_header("GET / HTTP/1.1\nHost: a\n\n", 0, limits())), 400);
  EXPECT_EQ(status_of(check_partial_header("GET / HTTP/1.1\r\nHost: a\r\n\n", 0, limits())), 400);
  EXPECT_EQ(status_of(check_partial_header("\nGET", 0, limits())), 400);
  EXPECT_FALSE(check_partial_header("GET / HTTP/1.1\r\nHo", 0, limits()));
  // Only the new bytes are scanned, but a CR that ended the previous piece still counts.
  EXPECT_FALSE(check_partial_header("GET / HTTP/1.1\r\n", 15, limits()));
  EXPECT_EQ(status_of(check_partial_header(std::string("GET \0", 5), 0, limits())), 400);
}

TEST(PartialHeader, OversizeIs414ForTheRequestLineElse431) {
  EXPECT_EQ(status_of(check_partial_header("GET /" + std::string(200, 'a'), 0, limits())), 414);
  EXPECT_EQ(status_of(check_partial_header("GET / HTTP/1.1\r\nX: " + std::string(200, 'a'), 0, limits())), 431);
}

Request head(std::string method, std::string target, std::vector<Header> headers, unsigned version = 11) {
  Request r;
  r.method = std::move(method);
  r.target = std::move(target);
  r.headers = std::move(headers);
  r.version = version;
  return r;
}

TEST(Framing, SmugglingShapes) {
  EXPECT_FALSE(check_framing(head("POST", "/x", {{"Host", "a"}, {"Transfer-Encoding", "chunked"}})));
  EXPECT_EQ(status_of(check_framing(head("POST", "/x", {{"Host", "a"}, {"Transfer-Encoding", "gzip, chunked"}}))), 501);
  EXPECT_EQ(status_of(check_framing(head("POST", "/x", {{"Host", "a"}, {"Transfer-Encoding", "chunked"}, {"Content-Length", "3"}}))), 400);
  EXPECT_EQ(status_of(check_framing(head("POST", "/x", {{"Host", "a"}, {"Transfer-Encoding", "chunked"}}, 10))), 400);
  EXPECT_EQ(status_of(check_framing(head("POST", "/x", {{"Host", "a"}, {"Content-Length", "3"}, {"Content-Length", "3"}}))), 400);
  EXPECT_EQ(status_of(check_framing(head("POST", "/x", {{"Host", "a"}, {"Content-Length", "+3"}}))), 400);
  EXPECT_EQ(status_of(check_framing(head("GET", "/x", {}))), 400);
  EXPECT_EQ(status_of(check_framing(head("GET", "/x", {{"Host", "a"}, {"Host", "b"}}))), 400);
  EXPECT_EQ(status_of(check_framing(head("GET", "http://a/x", {{"Host", "a"}}))), 400);
  EXPECT_FALSE(check_framing(head("GET", "/x", {}, 10)));  // HTTP/1.0 needs no Host
}

}  // namespace
}  // namespace mvi::http
