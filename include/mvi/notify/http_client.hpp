// One HTTP/1.1 POST attempt for the notification sinks (Beast, in src/notify/http_client.cpp only):
// resolve, connect, optional TLS, write, read the response, close. One deadline covers the whole attempt.
// Thread-safety: call from the thread running `ioc`; `done` is called exactly once, on that thread, never
// from inside async_http_post itself.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mvi/notify/notify_config.hpp"

namespace boost::asio {
class io_context;
}

namespace mvi::notify {

class TlsContext;

struct HttpPost {
  Url url;
  std::vector<std::pair<std::string, std::string>> headers;  // besides Host, Content-Length, Connection
  std::string body;
};

struct HttpOutcome {
  int status = 0;     // the response's status; 0 when none arrived
  std::string error;  // why none arrived (connection refused, timed out, TLS failure, ...); empty otherwise
};

using HttpDone = std::function<void(HttpOutcome)>;

// Response headers beyond this size, or a body beyond 64 KiB, end the read; the status still counts.
inline constexpr std::size_t kMaxResponseHeader = 16 * 1024;
inline constexpr std::size_t kMaxResponseBody = 64 * 1024;

// `tls` is required for https:// URLs (otherwise the attempt fails with an error).
void async_http_post(boost::asio::io_context& ioc, const std::shared_ptr<TlsContext>& tls, const HttpPost& post,
                     double timeout_s, HttpDone done);

}  // namespace mvi::notify
