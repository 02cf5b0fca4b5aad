// write_response_head: the status line and fields the session sends, byte for byte.
#include "mvi/http/response_head.hpp"

#include <gtest/gtest.h>

namespace mvi::http {
namespace {

TEST(ResponseHead, Http11KeepAlive) {
  Response r = Response::error(404, "Not Found");
  r.set_header("X-Request-ID", "abc");
  std::string head;
  EXPECT_TRUE(write_response_head(head, r, {11, true}));
  EXPECT_EQ(head,
            "HTTP/1.1 404 Not Found\r\nContent-Type: application/json; charset=utf-8\r\nX-Request-ID: abc\r\n"
            "Content-Length: 22\r\n\r\n");
}

TEST(ResponseHead, ConnectionFieldAsTheVersionNeeds) {
  Response r;
  std::string head;
  write_response_head(head, r, {11, false});
  EXPECT_NE(head.find("Connection: close\r\n"), std::string::npos);
  write_response_head(head, r, {10, true});
  EXPECT_EQ(head.rfind("HTTP/1.0 200 OK\r\n", 0), 0u);
  EXPECT_NE(head.find("Connection: keep-alive\r\n"), std::string::npos);
  write_response_head(head, r, {10, false});
  EXPECT_EQ(head.find("Connection:"), std::string::npos) << "HTTP/1.0 closes by default";
}

TEST(ResponseHead, NoContentLengthWhereNoBodyMayBe) {
  for (int status : {204, 304, 101}) {
    Response r;
    r.status = status;
    r.body = "ignored";
    std::string head;
    EXPECT_FALSE(write_response_head(head, r, {11, true})) << status;
    EXPECT_EQ(head.find("Content-Length"), std::string::npos) << status;
  }
}

TEST(ResponseHead, CrLfInHeadersCannotEndTheHead) {
  Response r;
  r.set_header("X-Evil", "a\r\nSet-Cookie: x=1");
  r.set_header("Bad\nName", "v");
  std::string head;
  write_response_head(head, r, {11, true});
  EXPECT_NE(head.find("X-Evil: a  Set-Cookie: x=1\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("Bad Name: v\r\n"), std::string::npos) << head;
  EXPECT_EQ(head.find("\r\n\r\n"), head.size() - 4);
}

TEST(ResponseHead, EveryRedirectHasItsPhrase) {
  Response r;
  r.status = 307;
  std::string head;
  write_response_head(head, r, {11, true});
  EXPECT_EQ(head.rfind("HTTP/1.1 307 Temporary Redirect\r\n", 0), 0u);
}

}  // namespace
}  // namespace mvi::http
