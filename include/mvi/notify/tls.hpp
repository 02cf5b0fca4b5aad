// Client TLS for the notification sinks (https:// webhooks and manager, SMTP STARTTLS or implicit TLS):
// TLS 1.2 or later, the system's trusted CAs plus an optional extra CA file, peer and host-name verification.
// Created once before the dispatcher thread starts; afterwards used from that thread only.
#pragma once

#include <memory>
#include <string>

namespace mvi::notify {

// Wraps a boost::asio::ssl::context; defined in src/notify/tls_context.hpp so no header here pulls in Asio SSL.
class TlsContext;

// Throws std::runtime_error naming the CA file when it cannot be loaded.
std::shared_ptr<TlsContext> make_tls_context(const std::string& extra_ca_file);

}  // namespace mvi::notify
