// Beast HTTP/1.1 server: an acceptor plus one Session per connection, each a do_x/on_x chain kept
// alive by shared_from_this and serialised on its own strand. The only translation unit that
// includes Beast. Responses may be produced on any thread; they are posted back to the strand.
// Ordering rule: whoever holds a Responder must be destroyed before the Server (it posts to the
// Server's io_context).
#include "mvi/http/server.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "mvi/core/error.hpp"
#include "mvi/core/request_id.hpp"
#include "mvi/logs/log.hpp"

namespace mvi::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {
std::string_view sv(beast::string_view s) { return {s.data(), s.size()}; }

std::chrono::steady_clock::duration seconds(double s) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(s));
}
}  // namespace

struct Server::Impl {
  Impl(config::Limits l, Handler h) : limits(l), handler(std::move(h)) {}

  config::Limits limits;
  Handler handler;
  net::io_context ioc;
  net::executor_work_guard<net::io_context::executor_type> work{ioc.get_executor()};
  tcp::acceptor acceptor{net::make_strand(ioc)};
  net::steady_timer accept_backoff{acceptor.get_executor()};
  std::vector<std::thread> threads;
  std::atomic<std::size_t> in_flight{0};
  std::atomic<bool> closing{false};
  bool stopped = false;
  std::mutex streams_mutex;  // open streamed responses, ended when the server stops accepting
  std::vector<std::weak_ptr<StreamSink>> streams;

  void do_accept();
  void on_accept(beast::error_code ec, tcp::socket socket);
};

namespace {

// Streamed bodies buffer at most this much for a slow client before the stream is ended.
constexpr std::size_t kStreamBufferLimit = 1024 * 1024;

class Session;

// The producer's handle on a streaming Session; forwards to it while it exists.
class SessionStream final : public StreamSink {
 public:
  explicit SessionStream(std::weak_ptr<Session> session) : session_(std::move(session)) {}
  bool write(std::string chunk) override;
  void close() override;
  bool open() const override;

 private:
  std::weak_ptr<Session> session_;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, Server::Impl& server) : stream_(std::move(socket)), server_(server) {
    // Large bodies are read 512 bytes at a time unless the buffer has room (DESIGN.md).
    buffer_.reserve(64 * 1024);
  }

  void run() {
    net::dispatch(stream_.get_executor(), beast::bind_front_handler(&Session::do_read, shared_from_this()));
  }

 private:
  void do_read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_.limits.max_header_size));
    parser_->body_limit(server_.limits.max_body_size);
    stream_.expires_after(seconds(first_ ? server_.limits.header_timeout_s : server_.limits.keep_alive_timeout_s));
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             beast::bind_front_handler(&Session::on_header, shared_from_this()));
  }

  void on_header(beast::error_code ec, std::size_t) {
    if (ec) return on_read_error(ec);
    auto& req = parser_->get();
    version_ = req.version();
    if (auto cl = parser_->content_length(); cl && *cl > server_.limits.max_body_size)
      return send_error(413, "Request body too large: the limit is " +
                                 std::to_string(server_.limits.max_body_size) + " bytes");
    if (!parser_->is_done() && iequals(sv(req[bhttp::field::expect]), "100-continue")) {
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      stream_.expires_after(seconds(server_.limits.write_timeout_s));
      return net::async_write(stream_, net::buffer(kContinue),
                              [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                if (ec) return;
                                self->read_body();
                              });
    }
    read_body();
  }

  void read_body() {
    if (parser_->is_done()) return on_read({}, 0);
    stream_.expires_after(seconds(server_.limits.body_timeout_s));
    bhttp::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read_error(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout || ec == net::error::eof ||
        ec == net::error::connection_reset || ec == net::error::operation_aborted)
      return do_close();
    if (ec == bhttp::error::header_limit)
      return send_error(431, "Request header fields too large: the limit is " +
                                 std::to_string(server_.limits.max_header_size) + " bytes");
    if (ec == bhttp::error::body_limit)
      return send_error(413, "Request body too large: the limit is " +
                                 std::to_string(server_.limits.max_body_size) + " bytes");
    if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category())
      return send_error(400, "Malformed HTTP request: " + ec.message());
    do_close();
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) return on_read_error(ec);
    auto msg = parser_->release();
    Request r;
    r.method = std::string(msg.method_string());
    r.target = std::string(msg.target());
    auto q = r.target.find('?');
    r.path = r.target.substr(0, q);
    if (q != std::string::npos) r.query = r.target.substr(q + 1);
    r.version = msg.version();
    r.headers.reserve(8);
    for (const auto& f : msg) r.headers.push_back({std::string(f.name_string()), std::string(f.value())});
    r.body = std::move(msg.body());
    keep_alive_ = msg.keep_alive();
    head_ = r.method == "HEAD";

    server_.in_flight.fetch_add(1, std::memory_order_relaxed);
    auto self = shared_from_this();
    Responder respond = [self](Response response) {
      net::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
        self->write(std::move(response), true);
      });
    };
    try {
      server_.handler(std::move(r), std::move(respond));
    } catch (const std::exception& e) {
      // Handlers answer every request themselves; this is the last line of defence.
      logs::runtime().error("request handler failed: {}", e.what());
    }
  }

  void send_error(int status, std::string detail) {
    Response r = Response::error(status, detail);
    r.close = true;
    r.set_header("X-Request-ID", core::new_request_id());
    keep_alive_ = false;
    write(std::move(r), false);
  }

 public:
  // ---- streamed responses: called from any thread ----
  bool stream_write(std::string chunk) {
    std::lock_guard lock(stream_mutex_);
    if (stream_closed_) return false;
    if (chunk.empty()) return true;
    if (stream_pending_.size() + chunk.size() > kStreamBufferLimit) {
      // The client is too far behind: end the stream rather than buffer without bound.
      stream_closed_ = true;
      schedule_pump_locked();
      return false;
    }
    char size[24];
    std::snprintf(size, sizeof size, "%zx\r\n", chunk.size());
    stream_pending_ += size;
    stream_pending_ += chunk;
    stream_pending_ += "\r\n";
    schedule_pump_locked();
    return true;
  }

  void stream_close() {
    std::lock_guard lock(stream_mutex_);
    if (stream_closed_) return;
    stream_closed_ = true;
    schedule_pump_locked();
  }

  bool stream_open() const {
    std::lock_guard lock(stream_mutex_);
    return !stream_closed_;
  }

 private:
  void schedule_pump_locked() {
    if (stream_pumping_) return;
    stream_pumping_ = true;
    net::post(stream_.get_executor(), [self = shared_from_this()] { self->stream_pump(); });
  }

  void start_stream(Response response) {
    auto head = std::make_shared<bhttp::response<bhttp::empty_body>>();
    head->version(version_);
    head->result(static_cast<unsigned>(response.status));
    head->set(bhttp::field::content_type, response.content_type);
    head->set(bhttp::field::cache_control, "no-cache");
    head->set("X-Accel-Buffering", "no");  // proxies must not hold the stream back
    for (auto& h : response.headers) head->insert(h.name, h.value);
    head->keep_alive(false);
    head->chunked(true);
    auto serializer = std::make_shared<bhttp::response_serializer<bhttp::empty_body>>(*head);
    stream_.expires_after(seconds(server_.limits.write_timeout_s));
    bhttp::async_write_header(
        stream_, *serializer,
        [self = shared_from_this(), head, serializer, body = std::move(response.body),
         producer = std::move(response.stream)](beast::error_code ec, std::size_t) mutable {
          self->server_.in_flight.fetch_sub(1, std::memory_order_relaxed);  // streams do not hold shutdown
          if (ec) return self->do_close();
          self->stream_.expires_never();
          auto sink = std::make_shared<SessionStream>(self);
          {
            std::lock_guard lock(self->server_.streams_mutex);
            auto& list = self->server_.streams;
            list.erase(std::remove_if(list.begin(), list.end(), [](const auto& w) { return w.expired(); }), list.end());
            list.push_back(sink);
          }
          self->watch_peer();
          self->stream_write(std::move(body));
          if (self->server_.closing.load()) self->stream_close();
          producer(sink);
        });
  }

  // A read that completes only when the client goes away (or sends data we will not read).
  void watch_peer() {
    stream_.socket().async_read_some(net::buffer(probe_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (!ec) return self->watch_peer();
      std::lock_guard lock(self->stream_mutex_);
      self->stream_closed_ = true;
      self->stream_pending_.clear();
    });
  }

  void stream_pump() {
    bool last = false;
    {
      std::lock_guard lock(stream_mutex_);
      stream_out_.clear();
      stream_out_.swap(stream_pending_);
      if (stream_out_.empty()) {
        if (!stream_closed_ || stream_ended_) {
          stream_pumping_ = false;
          return;
        }
        stream_ended_ = true;
        last = true;
        stream_out_ = "0\r\n\r\n";
      }
    }
    stream_.expires_after(seconds(server_.limits.write_timeout_s));
    net::async_write(stream_, net::buffer(stream_out_), [self = shared_from_this(), last](beast::error_code ec, std::size_t) {
      self->stream_.expires_never();
      if (ec || last) {
        {
          std::lock_guard lock(self->stream_mutex_);
          self->stream_closed_ = true;
          self->stream_ended_ = true;
          self->stream_pumping_ = false;
        }
        beast::error_code ignored;
        self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
        self->stream_.socket().close(ignored);
        return;
      }
      self->stream_pump();
    });
  }

  void write(Response response, bool counted) {
    if (response.stream && counted) return start_stream(std::move(response));
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>();
    res->version(version_);
    res->result(static_cast<unsigned>(response.status));
    res->set(bhttp::field::content_type, response.content_type);
    for (auto& h : response.headers) res->insert(h.name, h.value);
    const bool bodiless = response.status < 200 || response.status == 204 || response.status == 304;
    if (!bodiless) res->body() = std::move(response.body);
    bool keep = keep_alive_ && !response.close && !server_.closing.load(std::memory_order_relaxed);
    res->keep_alive(keep);
    if (bodiless) {
      res->erase(bhttp::field::content_length);  // RFC 9110: none on 1xx/204
    } else {
      res->prepare_payload();
      if (head_) res->body().clear();  // Content-Length stays that of the GET answer
    }
    res_ = res;
    stream_.expires_after(seconds(server_.limits.write_timeout_s));
    bhttp::async_write(stream_, *res_,
                       beast::bind_front_handler(&Session::on_write, shared_from_this(), counted, keep));
  }

  void on_write(bool counted, bool keep, beast::error_code ec, std::size_t) {
    if (counted) server_.in_flight.fetch_sub(1, std::memory_order_relaxed);
    res_.reset();
    if (ec) return;
    if (!keep) return do_close();
    first_ = false;
    do_read();
  }

  void do_close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  Server::Impl& server_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::shared_ptr<bhttp::response<bhttp::string_body>> res_;
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool head_ = false;
  bool first_ = true;
  // Streamed-response state; guarded by stream_mutex_ because producers write from other threads.
  mutable std::mutex stream_mutex_;
  std::string stream_pending_;
  std::string stream_out_;  // being written; touched only on the strand
  bool stream_closed_ = false;
  bool stream_ended_ = false;
  bool stream_pumping_ = false;
  std::array<char, 256> probe_{};
};

bool SessionStream::write(std::string chunk) {
  auto s = session_.lock();
  return s && s->stream_write(std::move(chunk));
}

void SessionStream::close() {
  if (auto s = session_.lock()) s->stream_close();
}

bool SessionStream::open() const {
  auto s = session_.lock();
  return s && s->stream_open();
}

}  // namespace

void Server::Impl::do_accept() {
  acceptor.async_accept(net::make_strand(ioc), beast::bind_front_handler(&Impl::on_accept, this));
}

void Server::Impl::on_accept(beast::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
  if (ec) {
    // Out of descriptors (EMFILE/ENFILE) or a transient error: back off rather than spin.
    logs::runtime().warn("accept failed: {}; retrying in 100 ms", ec.message());
    accept_backoff.expires_after(std::chrono::milliseconds(100));
    accept_backoff.async_wait([this](beast::error_code wait_ec) {
      if (!wait_ec) do_accept();
    });
    return;
  }
  beast::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  std::make_shared<Session>(std::move(socket), *this)->run();
  do_accept();
}

Server::Server(config::Limits limits, Handler handler)
    : impl_(std::make_shared<Impl>(limits, std::move(handler))) {}

Server::~Server() { stop(); }

std::uint16_t Server::listen(const std::string& host, std::uint16_t port) {
  beast::error_code ec;
  tcp::resolver resolver(impl_->ioc);
  auto results = resolver.resolve(host, std::to_string(port), tcp::resolver::passive, ec);
  if (ec || results.empty())
    throw core::Error::listen_failed("cannot resolve listen address '" + host + "': " + ec.message());
  tcp::endpoint endpoint = results.begin()->endpoint();
  auto& a = impl_->acceptor;
  a.open(endpoint.protocol(), ec);
  if (!ec) a.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(endpoint, ec);
  if (!ec) a.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    throw core::Error::listen_failed("cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message());
  return a.local_endpoint().port();
}

void Server::start(int io_threads) {
  net::dispatch(impl_->acceptor.get_executor(), [impl = impl_.get()] { impl->do_accept(); });
  for (int i = 0; i < io_threads; ++i) impl_->threads.emplace_back([impl = impl_.get()] { impl->ioc.run(); });
}

void Server::set_closing() { impl_->closing.store(true); }

void Server::stop_accepting() {
  net::post(impl_->acceptor.get_executor(), [impl = impl_.get()] {
    beast::error_code ignored;
    impl->acceptor.close(ignored);
    impl->accept_backoff.cancel();
  });
  // Streams (follow, SSE) never end by themselves: end them so clients see a clean close.
  std::vector<std::shared_ptr<StreamSink>> open;
  {
    std::lock_guard lock(impl_->streams_mutex);
    for (auto& w : impl_->streams)
      if (auto s = w.lock()) open.push_back(std::move(s));
    impl_->streams.clear();
  }
  for (auto& s : open) s->close();
}

std::size_t Server::in_flight() const { return impl_->in_flight.load(); }

void Server::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->work.reset();
  impl_->ioc.stop();
  for (auto& t : impl_->threads)
    if (t.joinable()) t.join();
}

}  // namespace mvi::http
