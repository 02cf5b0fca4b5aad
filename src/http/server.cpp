// The HTTP server's front: binds and listens, accepts connections under the connection cap (backing
// off on EMFILE), runs the I/O threads, and stops. Each accepted connection becomes a session
// (session.cpp). Methods are called from the runtime's main thread.
#include "mvi/http/server.hpp"

#include <algorithm>
#include <sys/resource.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>

#include "mvi/core/error.hpp"
#include "mvi/core/thread.hpp"
#include "mvi/logs/log.hpp"
#include "server_impl.hpp"

namespace mvi::http {

namespace beast = boost::beast;

namespace net = boost::asio;
using tcp = net::ip::tcp;


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
  if (connections.load(std::memory_order_relaxed) >= max_connections) {
    // At the cap (kept below the descriptor limit): answer and close at once instead of queueing.
    static const std::string kBusy =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json; charset=utf-8\r\nRetry-After: 1\r\n"
        "X-Content-Type-Options: nosniff\r\nConnection: close\r\nContent-Length: 46\r\n\r\n{\"detail\":\"Too many connections; retry later\"}";
    socket.send(net::buffer(kBusy), 0, ignored);
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
    return do_accept();
  }
  socket.set_option(tcp::no_delay(true), ignored);
  run_session(std::move(socket), *this);
  do_accept();
}

Server::Server(config::Limits limits, Handler handler, Precheck precheck)
    : impl_(std::make_shared<Impl>(limits, std::move(handler))) {
  impl_->precheck = std::move(precheck);
  std::size_t cap = limits.max_connections;
  if (cap == 0) {
    // Stay below the descriptor limit so accept() never meets EMFILE in normal operation.
    rlimit rl{};
    std::size_t fds = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? rl.rlim_cur : 65536;
    cap = fds > 128 ? fds - 64 : fds / 2;
  }
  impl_->max_connections = std::max<std::size_t>(cap, 1);
}

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
  for (int i = 0; i < io_threads; ++i) impl_->threads.emplace_back([impl = impl_.get()] {
      core::name_this_thread("mvi-io");
      impl->ioc.run();
    });
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

net::io_context& Server::io_context() { return impl_->ioc; }

void Server::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->work.reset();
  impl_->ioc.stop();
  for (auto& t : impl_->threads)
    if (t.joinable()) t.join();
}

}  // namespace mvi::http
