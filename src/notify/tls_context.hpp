// Private to src/notify: the definition of TlsContext, for the translation units that speak TLS.
// The context is configured once (tls.cpp) and then only read by the dispatcher thread.
#pragma once

#include <string>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/verify_mode.hpp>

#include "mvi/notify/tls.hpp"

namespace mvi::notify {

class TlsContext {
 public:
  TlsContext() : ctx(boost::asio::ssl::context::tls_client) {}
  boost::asio::ssl::context ctx;
};

// SNI (for names, not addresses) and host-name verification on one TLS stream before its handshake.
// Returns false when OpenSSL refuses the name.
template <class SslStream>
bool prepare_tls_stream(SslStream& stream, const std::string& host) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  if (ec && !SSL_set_tlsext_host_name(stream.native_handle(), host.c_str())) return false;
  stream.set_verify_mode(boost::asio::ssl::verify_peer);
  stream.set_verify_callback(boost::asio::ssl::host_name_verification(host));
  return true;
}

}  // namespace mvi::notify
