// One HTTP POST attempt of the notification sinks: a do_x/on_x chain (DESIGN rule 1) kept alive by
// shared_from_this, over plain TCP or TLS. The only translation unit of src/notify that includes Beast.
// Thread-safety: everything runs on the thread of the io_context given; one deadline timer bounds the attempt.
#include "mvi/notify/http_client.hpp"

#include <chrono>
#include <optional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "tls_context.hpp"

namespace mvi::notify {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

std::chrono::steady_clock::duration seconds(double s) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(s));
}

std::string describe_timeout(double s) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "timed out after %g s", s);
  return buf;
}

template <class Stream>
class HttpAttempt : public std::enable_shared_from_this<HttpAttempt<Stream>> {
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

 public:
  template <class... StreamArgs>
  HttpAttempt(net::io_context& ioc, const HttpPost& post, double timeout_s, HttpDone done, StreamArgs&&... args)
      : resolver_(ioc),
        stream_(ioc, std::forward<StreamArgs>(args)...),
        deadline_(ioc),
        url_(post.url),
        timeout_s_(timeout_s),
        done_(std::move(done)) {
    req_.method(bhttp::verb::post);
    req_.target(url_.target);
    req_.version(11);
    req_.set(bhttp::field::host, url_.host_header());
    req_.set(bhttp::field::user_agent, "mvi-runtime");
    req_.set(bhttp::field::connection, "close");
    for (const auto& [name, value] : post.headers) req_.set(name, value);
    req_.body() = post.body;
    req_.prepare_payload();
    parser_.header_limit(static_cast<std::uint32_t>(kMaxResponseHeader));
    parser_.body_limit(kMaxResponseBody);
  }

  void run() {
    deadline_.expires_after(seconds(timeout_s_));
    deadline_.async_wait(beast::bind_front_handler(&HttpAttempt::on_deadline, this->shared_from_this()));
    resolver_.async_resolve(url_.host, std::to_string(url_.port),
                            beast::bind_front_handler(&HttpAttempt::on_resolve, this->shared_from_this()));
  }

 private:
  void on_deadline(beast::error_code ec) {
    if (ec) return;  // cancelled: the attempt finished first
    timed_out_ = true;
    resolver_.cancel();
    beast::get_lowest_layer(stream_).cancel();
  }

  void on_resolve(beast::error_code ec, tcp::resolver::results_type results) {
    if (ec) return fail("resolve", ec);
    if constexpr (kTls) {
      if (!prepare_tls_stream(stream_, url_.host)) return finish({0, "TLS: cannot set the server name"});
    }
    beast::get_lowest_layer(stream_).async_connect(
        results, beast::bind_front_handler(&HttpAttempt::on_connect, this->shared_from_this()));
  }

  void on_connect(beast::error_code ec, tcp::endpoint) {
    if (ec) return fail("connect", ec);
    beast::get_lowest_layer(stream_).socket().set_option(tcp::no_delay(true), ec);
    if constexpr (kTls) {
      stream_.async_handshake(net::ssl::stream_base::client,
                              beast::bind_front_handler(&HttpAttempt::on_handshake, this->shared_from_this()));
    } else {
      do_write();
    }
  }

  void on_handshake(beast::error_code ec) {
    if (ec) return fail("TLS handshake", ec);
    do_write();
  }

  void do_write() {
    bhttp::async_write(stream_, req_, beast::bind_front_handler(&HttpAttempt::on_write, this->shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec) return fail("write", ec);
    bhttp::async_read(stream_, buffer_, parser_,
                      beast::bind_front_handler(&HttpAttempt::on_read, this->shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    // The status is what counts: a body cut short or over its limit does not undo a received status line.
    if (ec && !parser_.is_header_done()) return fail("read", ec);
    finish({static_cast<int>(parser_.get().result_int()), {}});
  }

  void fail(const char* stage, beast::error_code ec) {
    if (timed_out_) return finish({0, describe_timeout(timeout_s_)});
    finish({0, std::string(stage) + ": " + ec.message()});
  }

  void finish(HttpOutcome outcome) {
    if (!done_) return;
    deadline_.cancel();
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(stream_).close();
    auto done = std::move(done_);
    done_ = nullptr;
    done(std::move(outcome));
  }

  tcp::resolver resolver_;
  Stream stream_;
  net::steady_timer deadline_;
  Url url_;
  double timeout_s_;
  HttpDone done_;
  bool timed_out_ = false;
  bhttp::request<bhttp::string_body> req_;
  beast::flat_buffer buffer_;
  bhttp::response_parser<bhttp::string_body> parser_;
};

}  // namespace

void async_http_post(net::io_context& ioc, const std::shared_ptr<TlsContext>& tls, const HttpPost& post,
                     double timeout_s, HttpDone done) {
  if (post.url.tls()) {
    if (!tls) {
      net::post(ioc, [done = std::move(done)] { done({0, "https:// needs TLS, which is not set up"}); });
      return;
    }
    std::make_shared<HttpAttempt<beast::ssl_stream<beast::tcp_stream>>>(ioc, post, timeout_s, std::move(done),
                                                                          tls->ctx)
        ->run();
  } else {
    std::make_shared<HttpAttempt<beast::tcp_stream>>(ioc, post, timeout_s, std::move(done))->run();
  }
}

}  // namespace mvi::notify
