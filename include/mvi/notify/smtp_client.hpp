// One SMTP conversation for the e-mail sink (plain Asio, no Beast): greeting, EHLO, optional STARTTLS or
// implicit TLS, optional AUTH PLAIN, MAIL FROM, RCPT TO each, DATA (dot-stuffed), QUIT. One deadline covers
// the whole conversation. Thread-safety: call from the thread running `ioc`; `done` is called exactly once, on
// that thread, never from inside async_smtp_send itself.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mvi/notify/notify_config.hpp"
#include "mvi/notify/payload.hpp"

namespace boost::asio {
class io_context;
}

namespace mvi::notify {

class TlsContext;

struct SmtpOutcome {
  int code = 0;            // the reply code that ended the conversation; 0 when none (connection error, timeout)
  std::string error;       // empty when the message was accepted (250 after DATA)
  bool permanent = false;  // a failure that retrying cannot fix (e.g. STARTTLS required but not offered)
};

using SmtpDone = std::function<void(SmtpOutcome)>;

// One line of a reply: its code, whether more lines follow ("250-..."), and the text after the separator.
struct SmtpReplyLine {
  int code = 0;  // 0 when the line is malformed
  bool more = false;
  std::string text;
};
SmtpReplyLine parse_smtp_reply_line(std::string_view line);

// "AUTH PLAIN" initial response: base64 of "\0user\0password".
std::string smtp_auth_plain(std::string_view user, std::string_view password);

// Replies longer than this (all lines together) end the conversation.
inline constexpr std::size_t kMaxSmtpReply = 64 * 1024;

void async_smtp_send(boost::asio::io_context& ioc, const std::shared_ptr<TlsContext>& tls,
                     const SmtpSettings& settings, EmailEnvelope envelope, SmtpDone done);

}  // namespace mvi::notify
