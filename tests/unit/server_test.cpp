// http::Server on 127.0.0.1 port 0 with handlers that misbehave: a handler that throws answers that
// request 500 and the server goes on; the request carries a cancel token that the deadline (504)
// cancels. Plain POSIX sockets as the client; every wait is bounded by SO_RCVTIMEO.
#include "mvi/http/server.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

namespace mvi::http {
namespace {

// Sends `request` on a new connection and returns everything read until the server closes (or 5 s).
std::string exchange(std::uint16_t port, const std::string& request) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    ::send(fd, request.data(), request.size(), 0);
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

const std::string kGet = "GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";

TEST(Server, AHandlerThatThrowsAnswers500AndTheServerGoesOn) {
  std::atomic<int> calls{0};
  Server server(config::Limits{}, [&](Request, Responder respond) {
    if (calls.fetch_add(1) == 0) throw std::runtime_error("handler bug");
    respond(Response::error(200, "ok"));
  });
  const auto port = server.listen("127.0.0.1", 0);
  server.start(1);
  const std::string first = exchange(port, kGet);
  EXPECT_EQ(first.rfind("HTTP/1.1 500 Internal Server Error\r\n", 0), 0u) << first;
  EXPECT_NE(first.find("X-Request-ID: "), std::string::npos) << first;
  const std::string second = exchange(port, kGet);
  EXPECT_EQ(second.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << second;
  server.stop();
}

TEST(Server, TheDeadlineAnswers504AndCancelsTheRequest) {
  config::Limits limits;
  limits.request_timeout_s = 0.2;
  std::mutex mutex;
  std::shared_ptr<core::CancelToken> token;
  Responder kept;  // never answered by the handler; released before the server (ordering rule)
  {
    Server server(limits, [&](Request r, Responder respond) {
      std::lock_guard lock(mutex);
      token = r.cancel;
      kept = std::move(respond);
    });
    const auto port = server.listen("127.0.0.1", 0);
    server.start(1);
    const std::string answer = exchange(port, kGet);
    EXPECT_EQ(answer.rfind("HTTP/1.1 504 Gateway Timeout\r\n", 0), 0u) << answer;
    std::lock_guard lock(mutex);
    ASSERT_TRUE(token);
    EXPECT_TRUE(token->cancelled());
    kept = nullptr;
    server.stop();
  }
}

}  // namespace
}  // namespace mvi::http
