// What the notification sinks send, as pure functions: webhook and manager JSON bodies, the HMAC signature,
// e-mail subject and message, the back-off schedule, the retry verdict, and e-mail repeat suppression.
// All functions are pure and thread-safe; EmailSuppressor is not synchronised (one owner thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mvi/notify/notify_config.hpp"
#include "mvi/state/notification_store.hpp"

namespace mvi::notify {

// Lower-case hex HMAC-SHA256 of `data` under `key` (OpenSSL HMAC()).
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

// Value of the X-MVI-Signature header: "sha256=" + hmac_sha256_hex(secret, body).
std::string signature_header_value(std::string_view secret, std::string_view body);

// Webhook body: Notification::to_json(service, version) plus "event": "notification" and "delivery_id".
std::string webhook_body(const state::Notification& n, const std::string& service_name,
                         const std::string& service_version, const std::string& delivery_id);

// UTC time as Python's str(datetime.datetime.utcnow()): "2024-05-01 12:34:56.789012" (no fraction when 0).
std::string daeploy_timestamp(double epoch_seconds);

// Daeploy's manager payload (daeploy/communication.py): service_name, service_version, msg, severity (int),
// dashboard, emails (list or null), timer (int seconds, rounded up), timestamp.
std::string manager_body(const state::Notification& n, const std::string& service_name,
                         const std::string& service_version);

// The manager endpoint: the base URL's path without trailing slashes, then "/notifications/".
Url manager_endpoint(const Url& base);

// Wait before attempt number failed_attempts + 1: initial * 2^(failed_attempts - 1), capped at max.
double backoff_delay_s(const RetryPolicy& policy, int failed_attempts);

enum class Verdict { delivered, retry, give_up };

// HTTP: 2xx delivered; 5xx and no response (status 0: connection error or timeout) retried; the rest given up.
Verdict classify_http_status(int status);
// SMTP final reply code: 2yz delivered; 4yz and 0 (no reply) retried; 5yz and anything else given up.
Verdict classify_smtp_code(int code);

// Notification recipients plus the configured defaults, de-duplicated (case-insensitively), order kept.
// Addresses that are not plain (is_plain_address) are skipped and reported in *rejected.
std::vector<std::string> email_recipients(const std::vector<std::string>& requested,
                                          const std::vector<std::string>& defaults,
                                          std::vector<std::string>* rejected = nullptr);

// "[WARNING] service: <msg, first 80 characters, line breaks as spaces>".
std::string email_subject(const state::Notification& n, const std::string& service_name);

struct EmailEnvelope {
  std::string from;
  std::vector<std::string> to;
  std::string data;  // RFC 5322 message, CRLF line ends, not dot-stuffed
};

// The whole message: From, To, Subject (RFC 2047 when not ASCII), Date, Message-ID, X-MVI-Delivery, MIME
// headers, and a plain-text body listing every field (base64 when not plain ASCII).
EmailEnvelope email_message(const state::Notification& n, const std::string& service_name,
                            const std::string& service_version, const std::string& from,
                            const std::vector<std::string>& to, const std::string& delivery_id);

// SMTP DATA transparency (RFC 5321 §4.5.2): a leading "." on a line is doubled; the text ends with CRLF.
std::string smtp_dot_stuff(std::string_view data);

// Base64 without line breaks.
std::string base64(std::string_view bytes);

// Repeats by e-mail: the same (msg, severity, recipients) inside `timer` seconds of the last e-mail sent is
// suppressed; timer 0 sends every time. At most `capacity` windows are remembered (expired ones go first).
class EmailSuppressor {
 public:
  explicit EmailSuppressor(std::size_t capacity = 10000) : capacity_(capacity == 0 ? 1 : capacity) {}

  static std::string key(const std::string& msg, int severity, std::vector<std::string> recipients);

  // True when an e-mail should be sent now (and then starts a window of timer_s seconds).
  bool allow(const std::string& key, double timer_s, double now_s);
  std::size_t size() const noexcept { return until_.size(); }

 private:
  std::size_t capacity_;
  std::unordered_map<std::string, double> until_;  // key → end of its window
};

}  // namespace mvi::notify
