// The Session over TCP: the Transport that session.hpp's template runs on for real connections.
// A transport belongs to its session and is used on the session's strand only; departure_probe()'s
// function is called from executor threads and only peeks at the socket.
#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>

#include <boost/beast/core/tcp_stream.hpp>

#include "server_impl.hpp"
#include "session.hpp"

namespace mvi::http {

namespace {

class TcpTransport {
 public:
  explicit TcpTransport(tcp::socket&& socket) : stream_(std::move(socket)) {}

  auto get_executor() { return stream_.get_executor(); }
  boost::beast::tcp_stream& stream() { return stream_; }
  void expires_after(std::chrono::steady_clock::duration d) { stream_.expires_after(d); }
  void expires_never() { stream_.expires_never(); }

  std::size_t available() {
    boost::beast::error_code ec;
    const std::size_t n = stream_.socket().available(ec);
    return ec ? 0 : n;
  }

  // The socket stays open while a call is pending (its responder holds the session), so the fd the
  // probe peeks at is this connection's. Readable with nothing to read is the client's FIN.
  std::function<bool()> departure_probe() {
    return [fd = stream_.socket().native_handle()] {
      char c;
      const ssize_t n = ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
      return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
    };
  }

  // A wait, not a read: no system call until the socket becomes readable.
  template <class Handler>
  void async_wait_readable(Handler&& handler) {
    stream_.socket().async_wait(tcp::socket::wait_read, std::forward<Handler>(handler));
  }

  // Non-blocking for this call only (MSG_DONTWAIT): asio's own operations are unaffected.
  template <class Buffers>
  std::size_t write_now(const Buffers& buffers) {
    iovec iov[4];
    int count = 0;
    for (auto it = net::buffer_sequence_begin(buffers); it != net::buffer_sequence_end(buffers) && count < 4; ++it)
      if (it->size()) iov[count++] = {const_cast<void*>(it->data()), it->size()};
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<std::size_t>(count);
    ssize_t n;
    do n = ::sendmsg(stream_.socket().native_handle(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n > 0 ? static_cast<std::size_t>(n) : 0;  // an error shows again in the async write that follows
  }

  void cancel() {
    boost::beast::error_code ignored;
    stream_.socket().cancel(ignored);
  }

  void shutdown_send() {
    boost::beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  void close() {
    boost::beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

 private:
  boost::beast::tcp_stream stream_;
};

}  // namespace

void run_session(tcp::socket socket, Server::Impl& server) { serve_connection(TcpTransport(std::move(socket)), server); }

}  // namespace mvi::http
