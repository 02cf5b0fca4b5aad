// Builds the one client TLS context of the notification sinks: TLS 1.2+, system CAs, an optional extra CA file.
// Called once at start-up, before the dispatcher thread exists.
#include "mvi/notify/tls.hpp"

#include <stdexcept>

#include <boost/asio/ip/address.hpp>

#include "tls_context.hpp"

namespace mvi::notify {

std::shared_ptr<TlsContext> make_tls_context(const std::string& extra_ca_file) {
  auto tls = std::make_shared<TlsContext>();
  auto& ctx = tls->ctx;
  boost::system::error_code ec;
  ctx.set_options(boost::asio::ssl::context::default_workarounds | boost::asio::ssl::context::no_sslv2 |
                      boost::asio::ssl::context::no_sslv3 | boost::asio::ssl::context::no_tlsv1 |
                      boost::asio::ssl::context::no_tlsv1_1,
                  ec);
  ctx.set_default_verify_paths(ec);  // a machine without a CA bundle can still use MVI_NOTIFY_CA_FILE
  ctx.set_verify_mode(boost::asio::ssl::verify_peer);
  if (!extra_ca_file.empty()) {
    ctx.load_verify_file(extra_ca_file, ec);
    if (ec)
      throw std::runtime_error("MVI_NOTIFY_CA_FILE: cannot load CA certificates from " + extra_ca_file + ": " +
                               ec.message());
  }
  return tls;
}

}  // namespace mvi::notify
