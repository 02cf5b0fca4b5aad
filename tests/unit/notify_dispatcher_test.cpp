// Tests for mvi::notify::Dispatcher and its HTTP and SMTP clients against tiny scripted servers on 127.0.0.1
// (plain POSIX sockets in a thread): signatures, retries and back-off, 4xx, timeouts, refused connections,
// the bounded queue, the Daeploy manager payload, e-mail and its repeat suppression, stop().
// Every wait is bounded.
#include "mvi/notify/dispatcher.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "mvi/notify/payload.hpp"

namespace mvi::notify {
namespace {

using json = nlohmann::ordered_json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// ---- a scripted TCP server ----

class ScriptedServer {
 public:
  using Handler = std::function<void(int index, int fd)>;

  explicit ScriptedServer(Handler handler) : handler_(std::move(handler)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 16) != 0)
      throw std::runtime_error("cannot listen");
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { loop(); });
  }

  ~ScriptedServer() {
    stopping_ = true;
    thread_.join();
    ::close(listen_fd_);
  }

  std::uint16_t port() const { return port_; }
  int connections() const { return connections_; }
  bool stopping() const { return stopping_; }

  // Reads until `delim` is in `buf` (returns true), the peer closes, the server stops, or 5 s pass.
  bool read_until(int fd, std::string& buf, const std::string& delim) {
    auto deadline = Clock::now() + 5s;
    while (buf.find(delim) == std::string::npos) {
      if (stopping_ || Clock::now() > deadline) return false;
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      char chunk[4096];
      auto n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) return false;
      buf.append(chunk, static_cast<std::size_t>(n));
    }
    return true;
  }

  // Reads until `buf` holds `size` bytes (returns true), the peer closes, the server stops, or 5 s pass.
  bool read_at_least(int fd, std::string& buf, std::size_t size) {
    auto deadline = Clock::now() + 5s;
    while (buf.size() < size) {
      if (stopping_ || Clock::now() > deadline) return false;
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      char chunk[4096];
      auto n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) return false;
      buf.append(chunk, static_cast<std::size_t>(n));
    }
    return true;
  }

  // Holds the connection open without answering until the peer closes it or the server stops.
  void hang(int fd) {
    while (!stopping_) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      char chunk[4096];
      if (::recv(fd, chunk, sizeof chunk, 0) <= 0) return;
    }
  }

  static void send_all(int fd, const std::string& data) {
    std::size_t off = 0;
    while (off < data.size()) {
      auto n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<std::size_t>(n);
    }
  }

 private:
  void loop() {
    while (!stopping_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      int index = connections_++;
      handler_(index, fd);
      ::close(fd);
    }
  }

  Handler handler_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
};

struct HttpRequestSeen {
  std::string request_line;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// An HTTP receiver answering the i-th request with statuses[i] (the last one repeats).
class HttpReceiver {
 public:
  explicit HttpReceiver(std::vector<int> statuses)
      : statuses_(std::move(statuses)), server_([this](int index, int fd) { serve(index, fd); }) {}

  std::uint16_t port() const { return server_.port(); }
  std::string url(const std::string& path = "/hook") const {
    return "http://127.0.0.1:" + std::to_string(port()) + path;
  }
  std::vector<HttpRequestSeen> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  void serve(int index, int fd) {
    std::string buf;
    if (!server_.read_until(fd, buf, "\r\n\r\n")) return;
    HttpRequestSeen req;
    auto head_end = buf.find("\r\n\r\n");
    std::string head = buf.substr(0, head_end);
    std::size_t pos = head.find("\r\n");
    req.request_line = head.substr(0, pos);
    while (pos != std::string::npos && pos < head.size()) {
      auto next = head.find("\r\n", pos + 2);
      auto line = head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
      auto colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        auto value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(value.begin());
        req.headers[name] = value;
      }
      pos = next;
    }
    std::size_t length = req.headers.count("content-length") ? std::stoul(req.headers["content-length"]) : 0;
    std::string rest = buf.substr(head_end + 4);
    if (rest.size() < length) server_.read_at_least(fd, rest, length);
    req.body = rest.substr(0, length);
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(req);
    }
    int status = statuses_[std::min<std::size_t>(static_cast<std::size_t>(index), statuses_.size() - 1)];
    ScriptedServer::send_all(fd, "HTTP/1.1 " + std::to_string(status) +
                                     " X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
  }

  std::vector<int> statuses_;
  mutable std::mutex mutex_;
  std::vector<HttpRequestSeen> requests_;
  ScriptedServer server_;  // last: its thread stops before the members it uses die
};

struct MailSeen {
  std::vector<std::string> commands;
  std::string data;
};

// A minimal SMTP receiver; `rcpt_reply` answers every RCPT TO.
class SmtpReceiver {
 public:
  explicit SmtpReceiver(std::string rcpt_reply = "250 ok")
      : rcpt_reply_(std::move(rcpt_reply)), server_([this](int, int fd) { serve(fd); }) {}

  std::uint16_t port() const { return server_.port(); }
  int connections() const { return server_.connections(); }
  std::vector<MailSeen> mails() const {
    std::lock_guard lock(mutex_);
    return mails_;
  }

 private:
  void serve(int fd) {
    MailSeen mail;
    std::string buf;
    ScriptedServer::send_all(fd, "220 test ESMTP\r\n");
    for (;;) {
      if (!server_.read_until(fd, buf, "\r\n")) return;
      auto end = buf.find("\r\n");
      std::string line = buf.substr(0, end);
      buf.erase(0, end + 2);
      mail.commands.push_back(line);
      std::string verb = line.substr(0, 4);
      if (verb == "EHLO") {
        ScriptedServer::send_all(fd, "250-test\r\n250-8BITMIME\r\n250 SIZE 1000000\r\n");
      } else if (verb == "MAIL") {
        ScriptedServer::send_all(fd, "250 ok\r\n");
      } else if (verb == "RCPT") {
        ScriptedServer::send_all(fd, rcpt_reply_ + "\r\n");
      } else if (verb == "DATA") {
        ScriptedServer::send_all(fd, "354 go ahead\r\n");
        if (!server_.read_until(fd, buf, "\r\n.\r\n")) return;
        auto stop = buf.find("\r\n.\r\n");
        mail.data = buf.substr(0, stop + 2);
        buf.erase(0, stop + 5);
        ScriptedServer::send_all(fd, "250 queued\r\n");
      } else if (verb == "QUIT") {
        ScriptedServer::send_all(fd, "221 bye\r\n");
        break;
      } else {
        ScriptedServer::send_all(fd, "502 no\r\n");
      }
    }
    std::lock_guard lock(mutex_);
    mails_.push_back(std::move(mail));
  }

  std::string rcpt_reply_;
  mutable std::mutex mutex_;
  std::vector<MailSeen> mails_;
  ScriptedServer server_;
};

// ---- helpers ----

NotifyConfig fast_config() {
  NotifyConfig c;
  c.retry.initial_backoff_s = 0.01;
  c.retry.max_backoff_s = 0.05;
  c.retry.timeout_s = 2.0;
  c.stop_grace_s = 0.5;
  return c;
}

state::Notification note(std::string msg = "disk almost full", double timer = 0) {
  state::Notification n;
  n.id = 1;
  n.input.msg = std::move(msg);
  n.input.severity = 1;
  n.input.timer = timer;
  n.timestamp = 1714566896.25;
  return n;
}

bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds limit = 5000ms) {
  auto deadline = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

std::string describe(const DispatcherStats& s) {
  return "enqueued=" + std::to_string(s.enqueued) + " delivered=" + std::to_string(s.delivered) +
         " failed=" + std::to_string(s.failed) + " dropped=" + std::to_string(s.dropped) +
         " suppressed=" + std::to_string(s.suppressed);
}

// ---- webhooks ----

TEST(Webhook, DeliversASignedJsonPost) {
  HttpReceiver rx({200});
  auto c = fast_config();
  c.webhooks.push_back(*parse_url(rx.url("/hook?x=1")));
  c.secret = "s3cret";
  Dispatcher d(c);
  d.start();
  d.enqueue(note(), "svc", "1.0");
  ASSERT_TRUE(wait_for([&] { return d.stats().delivered == 1; })) << describe(d.stats());
  auto reqs = rx.requests();
  ASSERT_EQ(reqs.size(), 1u);
  const auto& r = reqs[0];
  EXPECT_EQ(r.request_line, "POST /hook?x=1 HTTP/1.1");
  EXPECT_EQ(r.headers.at("content-type"), "application/json");
  EXPECT_EQ(r.headers.at("user-agent"), "mvi-runtime");
  EXPECT_EQ(r.headers.at("host"), "127.0.0.1:" + std::to_string(rx.port()));
  EXPECT_EQ(r.headers.at("x-mvi-signature"), signature_header_value("s3cret", r.body));
  EXPECT_FALSE(r.headers.at("x-mvi-delivery").empty());
  auto body = json::parse(r.body);
  EXPECT_EQ(body["event"], "notification");
  EXPECT_EQ(body["msg"], "disk almost full");
  EXPECT_EQ(body["service_name"], "svc");
  EXPECT_EQ(body["delivery_id"], r.headers.at("x-mvi-delivery"));
  d.stop();
}

TEST(Webhook, UnsignedWithoutASecret) {
  HttpReceiver rx({200});
  auto c = fast_config();
  c.webhooks.push_back(*parse_url(rx.url()));
  Dispatcher d(c);
  d.start();
  d.enqueue(note(), "svc", "1.0");
  ASSERT_TRUE(wait_for([&] { return d.stats().delivered == 1; })) << describe(d.stats());
  EXPECT_EQ(rx.requests()[0].headers.count("x-mvi-signature"), 0u);
}

TEST(Webhook, RetriesServerErrorsWithTheSameDeliveryId) {
  HttpReceiver rx({503, 503, 200});
  auto c = fast_config();
  c.webhooks.push_back(*parse_url(rx.url()));
  Dispatcher d(c);
  d.start();
  d.enqueue(note(), "svc", "1.0");
  ASSERT_TRUE(wait_for([&] { return d.stats().delivered == 1; })) << describe(d.stats());
  auto reqs = rx.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].headers.at("x-mvi-delivery"), reqs[2].headers.at("x-mvi-delivery"));
  EXPECT_EQ(reqs[0].body, reqs[2].body);
  EXPECT_EQ(d.stats().failed, 0u);
}

TEST(Webhook, ClientErrorsAreNotRetried) {
  HttpReceiver rx({404, 200});
  auto c = fast_config();
  c.webhooks.push_back(*parse_url(rx.url()));
  Dispatcher d(c);
  d.start();
  d.enqueue(note(), "svc", "1.0");
  ASSERT_TRUE(wait_for([&] { return d.stats().failed == 1; })) << describe(d.stats());
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(rx.requests().size(), 1u);
  EXPECT_EQ(d.stats().delivered, 0u);
}

TEST(Webhook, GivesUpAfterMaxAttempts) {
  HttpReceiver rx({500});
  auto c = fast_config();
  c.retry.max_attempts = 3;
  c.webhooks.push_back(*parse_url(rx.url()));
  Dispatcher d(c);
  d.start();
  d.enqueue(note(), "svc", "1.0");
  ASSERT_TRUE(wait_for([&] { return d.stats().failed == 1; })) << describe(d.stats());
  EXPECT_EQ(rx.requests().size(), 3u);
}

TEST(Webhook, ATimeoutIsRetriedAndEnqueueNeverWaits) {
  std::unique_ptr<ScriptedServer> server;
  server = std::make_unique<ScriptedServer>([&server](int, int fd) { server->hang(fd); });
  auto c = fast_config();
  c.retry.timeout_s = 0.2;
  c.retry.max_attempts = 2;
  c.webhooks.push_back(*parse_url("http://127.0.0.1:" + std::to_string(server->port()) + "/"));
  Dispatcher d(c);
  d.start();
  auto t0 = Clock::now();
  for (int i = 0; i < 50; ++i) d.enqueue(note("n" + std::to_string(i)), "svc", "1.0");
  EXPECT_LT(Clock::now() - t0, 100ms);
  ASSERT_TRUE(wait_for([&] { return d.stats().failed >= 1; })) << describe(d.stats());
  EXPECT_GE(server->connections(), 2);
  d.stop();
}

TEST(Webhook, ConnectionRefusedIsRetried) {
  int port = 0;
  {
    HttpReceiver closed({200});
    port = closed.port();
  }
  auto c = fast_config();
  c.retry.max_attempts = 2;
  c.webhooks.push_back(*parse_url("http://127.0.0.1:" + std::to_string(port) + "/"));
  Dispatcher d(c);
  d.start();
  d.enqueue(note(), "svc", "1.0");
  ASSERT_TRUE(wait_for([&] { return d.stats().failed == 1; })) << describe(d.stats());
}

TEST(Webhook, DeliversToEveryUrlInOrder) {
  HttpReceiver a({200}), b({200});
  auto c = fast_config();
  c.webhooks.push_back(*parse_url(a.url()));
  c.webhooks.push_back(*parse_url(b.url()));
  Dispatcher d(c);
  d.start();
  for (int i = 0; i < 5; ++i) d.enqueue(note("m" + std::to_string(i)), "svc", "1.0");
  ASSERT_TRUE(wait_for([&] { return d.stats().delivered == 10; })) << describe(d.stats());
  for (auto* rx : {&a, &b}) {
    auto reqs = rx->requests();
    ASSERT_EQ(reqs.size(), 5u);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(json::parse(reqs[i].body)["msg"], "m" + std::to_string(i));
  }
}

TEST(Dispatcher, AFullQueueDropsTheOldestAndStopIsBounded) {
  std::unique_ptr<ScriptedServer> server;
  server = std::make_unique<ScriptedServer>([&server](int, int fd) { server->hang(fd); });
  auto c = fast_config();
  c.queue_limit = 2;
  c.retry.timeout_s = 30;
  c.stop_grace_s = 0.3;
  c.webhooks.push_back(*parse_url("http://127.0.0.1:" + std::to_string(server->port()) + "/"));
  Dispatcher d(c);
  d.start();
  for (int i = 0; i < 10; ++i) d.enqueue(note("n" + std::to_string(i)), "svc", "1.0");
  ASSERT_TRUE(wait_for([&] { return d.stats().dropped >= 7; })) << describe(d.stats());
  EXPECT_EQ(d.stats().enqueued, 10u);
  auto t0 = Clock::now();
  d.stop();
  EXPECT_LT(Clock::now() - t0, 2s);
  d.stop();  // idempotent
  d.enqueue(note(), "svc", "1.0");  // a no-op after stop
  EXPECT_EQ(d.stats().enqueued, 10u);
}

TEST(Dispatcher, NothingHappensBeforeStart) {
  HttpReceiver rx({200});
  auto c = fast_config();
  c.webhooks.push_back(*parse_url(rx.url()));
  Dispatcher d(c);
  d.enqueue(note(), "svc", "1.0");
  EXPECT_EQ(d.stats().enqueued, 0u);
}

// ---- Daeploy manager ----

TEST(Manager, PostsDaeploysPayloadWithTheBearerToken) {
  HttpReceiver rx({200});
  auto c = fast_config();
  c.manager = *parse_url("http://127.0.0.1:" + std::to_string(rx.port()) + "/base/");
  c.manager_token = "tok";
  Dispatcher d(c);
  d.start();
  auto n = note();
  n.input.emails = {"a@x.org"};
  d.enqueue(n, "svc", "2.0");
  ASSERT_TRUE(wait_for([&] { return d.stats().delivered == 1; })) << describe(d.stats());
  auto r = rx.requests().at(0);
  EXPECT_EQ(r.request_line, "POST /base/notifications/ HTTP/1.1");
  EXPECT_EQ(r.headers.at("authorization"), "Bearer tok");
  auto body = json::parse(r.body);
  EXPECT_EQ(body, json::parse(manager_body(n, "svc", "2.0")));
}

// ---- e-mail ----

TEST(Email, SendsOneMessageToAllRecipients) {
  SmtpReceiver rx;
  auto c = fast_config();
  SmtpSettings s;
  s.host = "127.0.0.1";
  s.port = rx.port();
  s.from = "alerts@x.org";
  s.to = {"ops@x.org"};
  s.timeout_s = 5;
  c.smtp = s;
  Dispatcher d(c);
  d.start();
  auto n = note("first line\n.starts with a dot");
  n.input.emails = {"dev@x.org"};
  d.enqueue(n, "svc", "1.0");
  ASSERT_TRUE(wait_for([&] { return d.stats().delivered == 1; })) << describe(d.stats());
  ASSERT_TRUE(wait_for([&] { return rx.mails().size() == 1; }));
  auto mail = rx.mails()[0];
  EXPECT_EQ(mail.commands.at(0), "EHLO localhost");
  EXPECT_EQ(mail.commands.at(1), "MAIL FROM:<alerts@x.org>");
  EXPECT_EQ(mail.commands.at(2), "RCPT TO:<dev@x.org>");
  EXPECT_EQ(mail.commands.at(3), "RCPT TO:<ops@x.org>");
  EXPECT_NE(mail.data.find("Subject: [WARNING] svc: first line .starts with a dot\r\n"), std::string::npos)
      << mail.data;
  EXPECT_NE(mail.data.find("\r\n..starts with a dot\r\n"), std::string::npos) << "dot-stuffed:\n" << mail.data;
}

TEST(Email, ARepeatWithinTimerSendsNone) {
  SmtpReceiver rx;
  auto c = fast_config();
  SmtpSettings s;
  s.host = "127.0.0.1";
  s.port = rx.port();
  s.to = {"ops@x.org"};
  c.smtp = s;
  Dispatcher d(c);
  d.start();
  d.enqueue(note("hot", 60), "svc", "1.0");
  d.enqueue(note("hot", 60), "svc", "1.0");
  d.enqueue(note("cold", 60), "svc", "1.0");
  ASSERT_TRUE(wait_for([&] { return d.stats().delivered == 2; })) << describe(d.stats());
  EXPECT_EQ(d.stats().suppressed, 1u);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(rx.connections(), 2);
}

TEST(Email, NoRecipientsNoEmail) {
  SmtpReceiver rx;
  auto c = fast_config();
  SmtpSettings s;
  s.host = "127.0.0.1";
  s.port = rx.port();
  c.smtp = s;
  Dispatcher d(c);
  d.start();
  d.enqueue(note(), "svc", "1.0");
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(rx.connections(), 0);
  EXPECT_EQ(d.stats().delivered + d.stats().failed, 0u);
}

TEST(Email, APermanentRejectionIsNotRetried) {
  SmtpReceiver rx("550 no such user");
  auto c = fast_config();
  SmtpSettings s;
  s.host = "127.0.0.1";
  s.port = rx.port();
  s.to = {"nobody@x.org"};
  c.smtp = s;
  Dispatcher d(c);
  d.start();
  d.enqueue(note(), "svc", "1.0");
  ASSERT_TRUE(wait_for([&] { return d.stats().failed == 1; })) << describe(d.stats());
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(rx.connections(), 1);
}

TEST(Email, ATransientRejectionIsRetried) {
  SmtpReceiver rx("451 try later");
  auto c = fast_config();
  c.retry.max_attempts = 3;
  SmtpSettings s;
  s.host = "127.0.0.1";
  s.port = rx.port();
  s.to = {"someone@x.org"};
  c.smtp = s;
  Dispatcher d(c);
  d.start();
  d.enqueue(note(), "svc", "1.0");
  ASSERT_TRUE(wait_for([&] { return d.stats().failed == 1; })) << describe(d.stats());
  EXPECT_EQ(rx.connections(), 3);
}

TEST(Email, StartTlsNotOfferedIsAPermanentFailure) {
  SmtpReceiver rx;
  auto c = fast_config();
  SmtpSettings s;
  s.host = "127.0.0.1";
  s.port = rx.port();
  s.to = {"someone@x.org"};
  s.security = SmtpSecurity::starttls;
  c.smtp = s;
  Dispatcher d(c);
  d.start();
  d.enqueue(note(), "svc", "1.0");
  ASSERT_TRUE(wait_for([&] { return d.stats().failed == 1; })) << describe(d.stats());
  EXPECT_EQ(rx.connections(), 1);
}

}  // namespace
}  // namespace mvi::notify
