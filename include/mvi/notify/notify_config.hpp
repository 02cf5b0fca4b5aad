// Settings of the notification sinks (SPEC §6): webhooks, a Daeploy-style manager, SMTP email, and the
// retry/queue limits they share, parsed from the environment by a pure function (docs/notifications.md).
// Plain data, read-only after parsing; safe to share between threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mvi/config/config.hpp"

namespace mvi::notify {

// An absolute http:// or https:// URL, split for a client. No user-info, no fragment.
struct Url {
  std::string scheme;  // "http" | "https"
  std::string host;    // IPv6 literals without brackets
  std::uint16_t port = 0;
  std::string target = "/";  // path and query, never empty

  bool tls() const noexcept { return scheme == "https"; }
  // "Host" header value: the port only when it is not the scheme's default.
  std::string host_header() const;
  // scheme://host:port only: paths and queries often carry secrets (e.g. Slack's webhook URLs).
  std::string redacted() const;
  // The full URL again.
  std::string str() const;
};

// Parses an absolute http(s) URL; on failure returns nullopt and sets *error (if given).
std::optional<Url> parse_url(std::string_view text, std::string* error = nullptr);

// An e-mail address safe in MAIL FROM / RCPT TO and in headers: no spaces, controls, brackets, commas, quotes.
bool is_plain_address(std::string_view address);

// Every delivery attempt shares these limits (DESIGN rule 3: named fields with their defaults).
struct RetryPolicy {
  int max_attempts = 5;            // including the first; MVI_NOTIFY_MAX_ATTEMPTS
  double initial_backoff_s = 0.5;  // before the 2nd attempt, doubling; MVI_NOTIFY_BACKOFF_INITIAL
  double max_backoff_s = 30.0;     // cap of one wait; MVI_NOTIFY_BACKOFF_MAX
  double timeout_s = 5.0;          // one HTTP attempt, connect to response headers; MVI_NOTIFY_TIMEOUT
};

enum class SmtpSecurity { none, starttls, tls };  // tls = implicit TLS from the first byte (SMTPS, port 465)

struct SmtpSettings {
  std::string host;                  // MVI_SMTP_HOST; email is off without it
  std::uint16_t port = 25;           // MVI_SMTP_PORT
  std::string from = "mvi-runtime@localhost";  // MVI_SMTP_FROM
  std::vector<std::string> to;       // MVI_SMTP_TO: default recipients, added to every notification's emails
  std::string username;              // MVI_SMTP_USER: AUTH PLAIN only when set
  std::string password;              // MVI_SMTP_PASSWORD: never logged
  SmtpSecurity security = SmtpSecurity::none;  // MVI_SMTP_STARTTLS=1 or MVI_SMTP_SSL=1
  double timeout_s = 30.0;           // one whole SMTP conversation; MVI_SMTP_TIMEOUT
  std::string helo_name = "localhost";  // EHLO argument; MVI_SMTP_HELO
};

struct NotifyConfig {
  std::vector<Url> webhooks;        // MVI_NOTIFY_WEBHOOK (comma-separated)
  std::string secret;               // MVI_NOTIFY_SECRET: HMAC key of X-MVI-Signature; never logged
  std::optional<Url> manager;       // MVI_MANAGER_URL, alias DAEPLOY_MANAGER_URL (base URL)
  std::string manager_token;        // MVI_MANAGER_TOKEN, alias DAEPLOY_AUTH_TOKEN; never logged
  std::optional<SmtpSettings> smtp;
  std::string ca_file;              // MVI_NOTIFY_CA_FILE: extra trusted CA certificates (PEM) for TLS
  std::size_t queue_limit = 1000;   // deliveries waiting per sink target; MVI_NOTIFY_QUEUE_LIMIT
  RetryPolicy retry;
  double stop_grace_s = 2.0;        // at shutdown, attempts in flight get this long to finish

  bool any_sink() const noexcept { return !webhooks.empty() || manager || smtp; }
  bool needs_tls() const noexcept;
};

struct NotifyConfigResult {
  NotifyConfig config;
  std::vector<std::string> warnings;  // log them at start-up; the setting they name is ignored or weakened
  std::vector<std::string> errors;    // malformed values: the runtime exits 2 naming them
};

// Pure: reads only through `env`.
NotifyConfigResult parse_notify_config(const config::EnvLookup& env);

// One line per active sink for the start-up log; never contains the secret, the token or the password.
std::vector<std::string> describe_sinks(const NotifyConfig& config);

}  // namespace mvi::notify
