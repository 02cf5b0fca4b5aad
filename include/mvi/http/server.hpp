// The HTTP/1.1 front end (Boost.Beast): accepts connections, reads requests under the configured
// limits, hands each to a Handler and writes the response it produces, possibly from another
// thread. Never touches Python. Methods are called from the runtime's main thread; the handler
// is called on I/O threads.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "mvi/config/config.hpp"
#include "mvi/http/message.hpp"

namespace boost::asio {
class io_context;
}

namespace mvi::http {

// Called on the I/O thread once a request's head is read and passed the protocol checks, before
// any body is read. Returning true means it answered through the Responder (e.g. 401 or 404), so
// the body is never read and the connection closes after the answer.
using Precheck = std::function<bool(const Request& head, Responder respond)>;

class Server {
 public:
  Server(config::Limits limits, Handler handler, Precheck precheck = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens; returns the bound port (useful with port 0).
  // Throws core::Error(listen_failed).
  std::uint16_t listen(const std::string& host, std::uint16_t port);

  void start(int io_threads);

  // From now on responses carry "Connection: close" (during shutdown).
  void set_closing();
  // Closes the listening socket; established connections continue.
  void stop_accepting();
  // Requests read but not yet answered.
  std::size_t in_flight() const;
  // Stops all I/O and joins the threads. Idempotent.
  void stop();
  // The context the I/O threads run, for other I/O that should run on them (the worker links of
  // isolated mode); it runs from start() until stop().
  boost::asio::io_context& io_context();

  struct Impl;  // defined in server.cpp; public only so its connection sessions can name it

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace mvi::http
