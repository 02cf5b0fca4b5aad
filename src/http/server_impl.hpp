// Private to src/http: the server's shared state, read by every connection session. Beast/Asio types.
// Fields are set before start() and then only read, except the atomics and the guarded stream list.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/error.hpp>

#include "mvi/http/server.hpp"

namespace mvi::http {

namespace net = boost::asio;
using tcp = net::ip::tcp;

struct Server::Impl {
  Impl(config::Limits l, Handler h) : limits(l), handler(std::move(h)) {}

  config::Limits limits;
  Handler handler;
  net::io_context ioc;
  net::executor_work_guard<net::io_context::executor_type> work{ioc.get_executor()};
  tcp::acceptor acceptor{net::make_strand(ioc)};
  net::steady_timer accept_backoff{acceptor.get_executor()};
  std::vector<std::thread> threads;
  Precheck precheck;
  std::atomic<std::size_t> in_flight{0};
  std::atomic<std::size_t> connections{0};
  std::size_t max_connections = 0;
  std::atomic<bool> closing{false};
  bool stopped = false;
  std::mutex streams_mutex;  // open streamed responses, ended when the server stops accepting
  std::vector<std::weak_ptr<StreamSink>> streams;

  void do_accept();
  void on_accept(boost::beast::error_code ec, tcp::socket socket);
};

// Starts serving one accepted connection (session.cpp).
void run_session(tcp::socket socket, Server::Impl& server);

}  // namespace mvi::http
