// The connection Session without sockets: session.hpp's template over Beast's in-memory test stream,
// driven by the test on one thread (the io_context is run only here, in bounded steps). The client is
// the other end of a connected beast::test::stream; what the server wrote is read from it.
#include "session.hpp"

#include <gtest/gtest.h>

#include <boost/beast/_experimental/test/stream.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace mvi::http {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
using namespace std::chrono_literals;

// A Transport (session.hpp) over the server's end of a test stream. Deadlines close the stream when
// they pass, as tcp_stream's do; the readable-wait completes only on cancel() or close().
class TestTransport {
 public:
  explicit TestTransport(net::io_context& ioc) : state_(std::make_shared<State>(ioc)) {}

  auto get_executor() { return state_->stream.get_executor(); }
  beast::test::stream& stream() { return state_->stream; }

  void expires_after(std::chrono::steady_clock::duration d) {
    state_->timer.expires_after(d);
    state_->timer.async_wait([weak = std::weak_ptr<State>(state_)](beast::error_code ec) {
      if (auto s = weak.lock(); s && !ec) s->stream.close();
    });
  }
  void expires_never() { state_->timer.cancel(); }
  std::size_t available() { return state_->stream.buffer().size(); }
  std::function<bool()> departure_probe() {
    return [s = state_] { return s->departed.load(); };
  }
  template <class Handler>
  void async_wait_readable(Handler&& handler) {
    state_->wait = std::forward<Handler>(handler);
  }
  // What the test stream takes in one write (its write_size() limit applies, as a full socket's would).
  template <class Buffers>
  std::size_t write_now(const Buffers& buffers) {
    beast::error_code ec;
    const std::size_t n = state_->stream.write_some(buffers, ec);
    return ec ? 0 : n;
  }
  void cancel() { finish_wait(); }
  void shutdown_send() { close(); }
  void close() {
    state_->stream.close();
    finish_wait();
  }

  std::shared_ptr<std::atomic<bool>> departed_flag() { return {state_, &state_->departed}; }

 private:
  struct State {
    explicit State(net::io_context& ioc) : stream(ioc), timer(ioc) {}
    beast::test::stream stream;
    net::steady_timer timer;
    std::function<void(beast::error_code)> wait;
    std::atomic<bool> departed{false};
  };

  void finish_wait() {
    if (auto wait = std::move(state_->wait)) {
      state_->wait = nullptr;
      net::post(get_executor(), [wait = std::move(wait)] { wait(net::error::operation_aborted); });
    }
  }

  std::shared_ptr<State> state_;
};

Response text(int status, std::string body) {
  Response r;
  r.status = status;
  r.content_type = "text/plain";
  r.body = std::move(body);
  return r;
}

class SessionTest : public ::testing::Test {
 protected:
  // Starts a session with `handler` (and `precheck`) and returns the client's end.
  beast::test::stream& connect(Handler handler, Precheck precheck = {}) {
    server_ = std::make_unique<Server::Impl>(limits_, std::move(handler));
    server_->precheck = std::move(precheck);
    client_ = std::make_unique<beast::test::stream>(server_->ioc);
    TestTransport transport(server_->ioc);
    if (server_write_size_) transport.stream().write_size(server_write_size_);
    transport.stream().connect(*client_);
    departed_ = transport.departed_flag();
    serve_connection(std::move(transport), *server_);
    return *client_;
  }

  // Runs the io_context until the server has closed the connection (the client reads EOF) or `limit`
  // passes; returns everything the server wrote.
  std::string read_until_closed(std::chrono::milliseconds limit = 2000ms) {
    std::string out;
    bool closed = false;
    std::array<char, 4096> buf{};
    std::function<void()> read = [&] {
      client_->async_read_some(net::buffer(buf), [&](beast::error_code ec, std::size_t n) {
        out.append(buf.data(), n);
        if (ec) {
          closed = true;
          return;
        }
        read();
      });
    };
    read();
    run_until([&] { return closed; }, limit);
    if (!closed) client_->close();  // ends the pending read before `out` goes out of scope
    run_until([&] { return closed; }, 100ms);
    closed_ = closed;
    return out;
  }

  // Runs the io_context until `done` or `limit`, then returns whatever the server wrote so far.
  std::string read_for(std::chrono::milliseconds limit) {
    run_until([] { return false; }, limit);
    std::string out(client_->str());
    client_->clear();
    return out;
  }

  // Sends bytes to the server (the test stream writes them straight into its input).
  void send(const std::string& bytes) { net::write(*client_, net::buffer(bytes)); }

  template <class Pred>
  void run_until(Pred done, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline) server_->ioc.run_one_for(5ms);
  }

  static std::size_t count(const std::string& haystack, const std::string& needle) {
    std::size_t n = 0;
    for (auto at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
    return n;
  }

  config::Limits limits_;
  std::size_t server_write_size_ = 0;  // bytes the server's end takes per write (0: all), like a full socket
  std::unique_ptr<Server::Impl> server_;
  std::unique_ptr<beast::test::stream> client_;
  std::shared_ptr<std::atomic<bool>> departed_;
  bool closed_ = false;
};

Handler echo_path() {
  return [](Request request, Responder respond) { respond(text(200, request.method + " " + request.path + " " + request.body)); };
}

TEST_F(SessionTest, AnswersPipelinedRequestsInOrderOnOneConnection) {
  connect(echo_path());
  send("GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nxyzGET /c HTTP/1.1\r\n"
                "Host: x\r\nConnection: close\r\n\r\n");
  const std::string out = read_until_closed();
  EXPECT_TRUE(closed_);
  const auto a = out.find("GET /a "), b = out.find("POST /b xyz"), c = out.find("GET /c ");
  ASSERT_NE(a, std::string::npos) << out;
  ASSERT_NE(b, std::string::npos) << out;
  ASSERT_NE(c, std::string::npos) << out;
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_EQ(count(out, "HTTP/1.1 200 OK\r\n"), 3u);
  EXPECT_EQ(count(out, "Connection: close\r\n"), 1u) << out;
  EXPECT_EQ(server_->in_flight.load(), 0u);
}

TEST_F(SessionTest, AnAnswerTheStreamCannotTakeAtOnceIsFinishedLaterWhole) {
  server_write_size_ = 100;  // write_now takes the first 100 bytes; the async write the rest, in pieces
  const std::string big(5000, 'b');
  connect([&](Request, Responder respond) { respond(text(200, big)); });
  send("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const std::string out = read_until_closed();
  EXPECT_TRUE(closed_);
  EXPECT_EQ(count(out, "HTTP/1.1 200 OK\r\n"), 2u) << out.substr(0, 300);
  EXPECT_EQ(count(out, big), 2u);
  EXPECT_EQ(server_->in_flight.load(), 0u);
}

TEST_F(SessionTest, KeepsTheConnectionOpenBetweenRequests) {
  connect(echo_path());
  send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string out = read_for(100ms);
  EXPECT_NE(out.find("200 OK"), std::string::npos) << out;
  send("GET /b HTTP/1.1\r\nHost: x\r\n\r\n");
  out = read_for(100ms);
  EXPECT_NE(out.find("GET /b"), std::string::npos) << out;
}

TEST_F(SessionTest, ABareLineFeedIsRejectedAtOnceAndTheConnectionCloses) {
  connect(echo_path());
  send("GET / HTTP/1.1\nHost: x\n\n");
  const std::string out = read_until_closed(500ms);
  EXPECT_TRUE(closed_);
  EXPECT_EQ(out.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << out;
}

TEST_F(SessionTest, EmptyLinesBeforeTheRequestLineAreIgnored) {
  connect(echo_path());
  send("\r\n\r\nGET /after-blank HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const std::string out = read_until_closed();
  EXPECT_NE(out.find("GET /after-blank"), std::string::npos) << out;
}

TEST_F(SessionTest, AnOverlongChunkExtensionIsRejectedWithoutBufferingIt) {
  limits_.max_chunk_line = 64;
  connect(echo_path());
  send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n7;" + std::string(200, 'a'));
  const std::string out = read_until_closed(500ms);
  EXPECT_EQ(out.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << out;
}

TEST_F(SessionTest, ChunkedBodiesAreDecodedAndTheNextRequestIsKept) {
  connect(echo_path());
  send("POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n"
                "GET /next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const std::string out = read_until_closed();
  EXPECT_NE(out.find("POST /c abcde"), std::string::npos) << out;
  EXPECT_NE(out.find("GET /next"), std::string::npos) << out;
}

TEST_F(SessionTest, ALargeBodyOfKnownLengthArrivesWhole) {
  connect(echo_path());
  const std::string body(100 * 1024, 'b');  // above the size read past Beast's parser
  send("POST /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: " + std::to_string(body.size()) +
                "\r\n\r\n" + body);
  const std::string out = read_until_closed();
  EXPECT_NE(out.find("POST /big " + body), std::string::npos);
}

TEST_F(SessionTest, ABodyOverTheLimitIs413) {
  limits_.max_body_size = 10;
  connect(echo_path());
  send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n01234567890");
  const std::string out = read_until_closed(500ms);
  EXPECT_EQ(out.rfind("HTTP/1.1 413 ", 0), 0u) << out;
}

TEST_F(SessionTest, APrecheckAnswersFromTheHeadAndTheBodyIsNeverRead) {
  bool handler_called = false;
  connect([&](Request, Responder respond) { handler_called = true; respond(text(200, "")); },
                         [](const Request& head, Responder respond) {
                           if (head.path != "/private") return false;
                           respond(Response::error(401, "no"));
                           return true;
                         });
  send("POST /private HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n");  // the body never comes
  const std::string out = read_until_closed(500ms);
  EXPECT_TRUE(closed_);
  EXPECT_EQ(out.rfind("HTTP/1.1 401 Unauthorized\r\n", 0), 0u) << out;
  EXPECT_NE(out.find("Connection: close"), std::string::npos) << out;
  EXPECT_FALSE(handler_called);
}

TEST_F(SessionTest, ExpectContinueGetsItsInterimAnswerBeforeTheBody) {
  connect(echo_path());
  send("POST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
  std::string out = read_for(100ms);
  EXPECT_EQ(out, "HTTP/1.1 100 Continue\r\n\r\n");
  send("hi");
  out = read_for(100ms);
  EXPECT_NE(out.find("POST /e hi"), std::string::npos) << out;
}

TEST_F(SessionTest, AHandlerThatThrowsIsAnswered500AndTheConnectionGoesOn) {
  int calls = 0;
  connect([&](Request request, Responder respond) {
    if (++calls == 1) throw std::runtime_error("boom");
    respond(text(200, request.path));
  });
  send("GET /first HTTP/1.1\r\nHost: x\r\nX-Request-ID: rid-1\r\n\r\n");
  std::string out = read_for(100ms);
  EXPECT_EQ(out.rfind("HTTP/1.1 500 Internal Server Error\r\n", 0), 0u) << out;
  EXPECT_NE(out.find("X-Request-ID: rid-1"), std::string::npos) << out;
  send("GET /second HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  out = read_until_closed();
  EXPECT_NE(out.find("/second"), std::string::npos) << out;
}

TEST_F(SessionTest, TheDeadlineAnswers504CancelsTheCallAndALateAnswerIsDropped) {
  limits_.request_timeout_s = 0.05;
  Responder held;
  std::shared_ptr<core::CancelToken> token;
  connect([&](Request request, Responder respond) {
    token = request.cancel;
    held = std::move(respond);
  });
  send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string out = read_for(200ms);
  EXPECT_EQ(out.rfind("HTTP/1.1 504 Gateway Timeout\r\n", 0), 0u) << out;
  ASSERT_TRUE(token);
  EXPECT_TRUE(token->cancelled());
  held(text(200, "late"));
  out += read_until_closed(300ms);
  EXPECT_EQ(out.find("late"), std::string::npos) << out;
  EXPECT_EQ(count(out, "HTTP/1.1 "), 1u) << out;
}

TEST_F(SessionTest, TheCancelProbeAsksTheTransportWhetherTheClientLeft) {
  std::shared_ptr<core::CancelToken> token;
  Responder held;
  connect([&](Request request, Responder respond) {
    token = request.cancel;
    held = std::move(respond);
  });
  send("GET /wait HTTP/1.1\r\nHost: x\r\n\r\n");
  read_for(50ms);
  ASSERT_TRUE(token);
  EXPECT_FALSE(token->client_gone());
  departed_->store(true);
  EXPECT_TRUE(token->client_gone());
  held(text(200, "done"));
  EXPECT_NE(read_for(50ms).find("done"), std::string::npos);
}

TEST_F(SessionTest, AnIncompleteHeaderIsClosedAtTheHeaderTimeout) {
  limits_.header_timeout_s = 0.05;
  connect(echo_path());
  send("GET / HTTP/1.1\r\nHost:");
  read_until_closed(1000ms);
  EXPECT_TRUE(closed_);
}

TEST_F(SessionTest, TheLastRequestAllowedOnAConnectionSaysClose) {
  limits_.max_requests_per_connection = 2;
  connect(echo_path());
  send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\nGET /3 HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string out = read_until_closed();
  EXPECT_TRUE(closed_);
  EXPECT_EQ(count(out, "HTTP/1.1 200 OK"), 2u) << out;
  EXPECT_EQ(out.find("GET /3"), std::string::npos) << out;
}

TEST_F(SessionTest, HeadAnswersCarryNoBody) {
  connect(echo_path());
  send("HEAD /h HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const std::string out = read_until_closed();
  EXPECT_NE(out.find("Content-Length: 8\r\n"), std::string::npos) << out;  // "HEAD /h "
  EXPECT_EQ(out.substr(out.size() - 4), "\r\n\r\n") << out;
}

TEST_F(SessionTest, AStreamedResponseIsChunkedAndEndsWithTheLastChunk) {
  std::shared_ptr<StreamSink> sink;
  connect([&](Request, Responder respond) {
    Response r;
    r.content_type = "application/x-ndjson";
    r.body = "first\n";
    r.stream = [&](std::shared_ptr<StreamSink> s) { sink = std::move(s); };
    respond(std::move(r));
  });
  send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string out = read_for(100ms);
  ASSERT_TRUE(sink);
  EXPECT_NE(out.find("Transfer-Encoding: chunked\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("6\r\nfirst\n\r\n"), std::string::npos) << out;
  EXPECT_TRUE(sink->write("second\n"));
  sink->close();
  out = read_until_closed();
  EXPECT_NE(out.find("7\r\nsecond\n\r\n0\r\n\r\n"), std::string::npos) << out;
  EXPECT_FALSE(sink->open());
}

}  // namespace
}  // namespace mvi::http
