// Parsing of the notification sink settings from the environment, and URL splitting.
// Pure functions of their arguments; thread-safe. Messages never quote a URL, secret, token or password:
// webhook URLs often carry credentials in their path.
#include "mvi/notify/notify_config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>

namespace mvi::notify {
namespace {

std::string trim(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    auto item = trim(std::string_view(text).substr(start, comma - start));
    if (!item.empty()) out.push_back(std::move(item));
    start = comma + 1;
  }
  return out;
}

bool has_control_or_space(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f;
  });
}

// First variable of `names` that is set (even to ""), with its name.
std::optional<std::pair<std::string, std::string>> first_set(const config::EnvLookup& env,
                                                               std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (auto v = env(n)) return std::make_pair(std::string(n), *v);
  return std::nullopt;
}

class Reader {
 public:
  Reader(const config::EnvLookup& env, NotifyConfigResult& out) : env_(env), out_(out) {}

  std::optional<std::string> get(const char* name) {
    auto v = env_(name);
    if (!v) return std::nullopt;
    auto t = trim(*v);
    if (t.empty()) return std::nullopt;
    return t;
  }

  // A value without spaces, brackets or separators (an address, a host name); an error naming it otherwise.
  void plain(const char* name, std::string& field, const char* expected) {
    auto v = get(name);
    if (!v) return;
    if (is_plain_address(*v))
      field = *v;
    else
      out_.errors.push_back(std::string(name) + ": not " + expected);
  }

  void number(const char* name, double& field, double min, double max) {
    auto v = get(name);
    if (!v) return;
    char* end = nullptr;
    double d = std::strtod(v->c_str(), &end);
    if (end != v->c_str() + v->size() || !std::isfinite(d) || v->find_first_of("xXpP") != std::string::npos) {
      out_.errors.push_back(std::string(name) + ": not a number of seconds: '" + *v + "'");
      return;
    }
    if (d < min || d > max) {
      out_.errors.push_back(std::string(name) + ": " + *v + " is out of range [" + fmt(min) + ", " + fmt(max) + "]");
      return;
    }
    field = d;
  }

  template <class Int>
  void integer(const char* name, Int& field, long long min, long long max) {
    auto v = get(name);
    if (!v) return;
    long long n = 0;
    auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (ec != std::errc() || ptr != v->data() + v->size()) {
      out_.errors.push_back(std::string(name) + ": not an integer: '" + *v + "'");
      return;
    }
    if (n < min || n > max) {
      out_.errors.push_back(std::string(name) + ": " + *v + " is out of range [" + std::to_string(min) + ", " +
                            std::to_string(max) + "]");
      return;
    }
    field = static_cast<Int>(n);
  }

  bool flag(const char* name) {
    auto v = get(name);
    if (!v) return false;
    auto l = lower(*v);
    if (l == "1" || l == "true" || l == "yes" || l == "on") return true;
    if (l == "0" || l == "false" || l == "no" || l == "off") return false;
    out_.errors.push_back(std::string(name) + ": expected true or false (1/0, yes/no, on/off), got '" + *v + "'");
    return false;
  }

 private:
  static std::string fmt(double d) {
    auto s = std::to_string(d);
    while (s.find('.') != std::string::npos && (s.back() == '0' || s.back() == '.')) {
      bool dot = s.back() == '.';
      s.pop_back();
      if (dot) break;
    }
    return s;
  }

  const config::EnvLookup& env_;
  NotifyConfigResult& out_;
};

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

}  // namespace

bool is_plain_address(std::string_view a) {
  return !a.empty() && a.size() <= 254 && !has_control_or_space(a) &&
         a.find_first_of("<>,;\"()[]\\") == std::string_view::npos;
}

std::string Url::host_header() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  std::uint16_t default_port = tls() ? 443 : 80;
  if (port != default_port) h += ":" + std::to_string(port);
  return h;
}

std::string Url::redacted() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return scheme + "://" + h + ":" + std::to_string(port);
}

std::string Url::str() const { return scheme + "://" + host_header() + target; }

std::optional<Url> parse_url(std::string_view text, std::string* error) {
  auto fail = [&](std::string why) -> std::optional<Url> {
    if (error) *error = std::move(why);
    return std::nullopt;
  };
  if (has_control_or_space(text)) return fail("contains spaces or control characters");
  auto sep = text.find("://");
  if (sep == std::string_view::npos) return fail("not an absolute URL (expected http://host[:port]/path)");
  Url url;
  url.scheme = lower(std::string(text.substr(0, sep)));
  if (url.scheme != "http" && url.scheme != "https")
    return fail("unsupported scheme '" + url.scheme + "' (http:// or https://)");
  std::string_view rest = text.substr(sep + 3);
  if (auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  auto auth_end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, auth_end);
  std::string_view target = auth_end == std::string_view::npos ? std::string_view() : rest.substr(auth_end);
  if (authority.find('@') != std::string_view::npos)
    return fail("user:password@ in the URL is not supported");
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return fail("unterminated IPv6 address");
    url.host = std::string(authority.substr(1, close - 1));
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail("unexpected text after the IPv6 address");
      port_text = after.substr(1);
    }
  } else {
    auto colon = authority.find(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (url.host.empty()) return fail("no host");
  if (url.host.find_first_of("[]") != std::string::npos) return fail("bad host");
  url.port = url.tls() ? 443 : 80;
  if (!port_text.empty()) {
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc() || ptr != port_text.data() + port_text.size() || value == 0 || value > 65535)
      return fail("bad port");
    url.port = static_cast<std::uint16_t>(value);
  }
  url.target = target.empty() ? "/" : (target.front() == '?' ? "/" + std::string(target) : std::string(target));
  return url;
}

bool NotifyConfig::needs_tls() const noexcept {
  bool any = std::any_of(webhooks.begin(), webhooks.end(), [](const Url& u) { return u.tls(); });
  if (manager && manager->tls()) any = true;
  if (smtp && smtp->security != SmtpSecurity::none) any = true;
  return any;
}

NotifyConfigResult parse_notify_config(const config::EnvLookup& env) {
  NotifyConfigResult out;
  NotifyConfig& c = out.config;
  Reader r(env, out);

  // Webhooks.
  if (auto list = r.get("MVI_NOTIFY_WEBHOOK")) {
    auto items = split_list(*list);
    for (std::size_t i = 0; i < items.size(); ++i) {
      std::string why;
      if (auto url = parse_url(items[i], &why))
        c.webhooks.push_back(std::move(*url));
      else
        out.errors.push_back("MVI_NOTIFY_WEBHOOK: URL " + std::to_string(i + 1) + " of " +
                             std::to_string(items.size()) + ": " + why);
    }
  }
  if (auto s = env("MVI_NOTIFY_SECRET"); s && !s->empty()) c.secret = *s;  // used byte for byte, not trimmed
  if (!c.secret.empty() && c.webhooks.empty())
    out.warnings.push_back("MVI_NOTIFY_SECRET is set but MVI_NOTIFY_WEBHOOK is not: the secret is unused");

  // Daeploy-style manager.
  if (auto m = first_set(env, {"MVI_MANAGER_URL", "DAEPLOY_MANAGER_URL"}); m && !trim(m->second).empty()) {
    std::string why;
    auto url = parse_url(trim(m->second), &why);
    if (!url) {
      out.errors.push_back(m->first + ": " + why);
    } else if (url->target.find('?') != std::string::npos) {
      out.errors.push_back(m->first + ": must be a base URL without a query (notifications go to {url}/notifications/)");
    } else {
      c.manager = std::move(*url);
    }
  }
  if (auto t = first_set(env, {"MVI_MANAGER_TOKEN", "DAEPLOY_AUTH_TOKEN", "daeploy.auth"})) {
    auto token = trim(t->second);
    if (token.find_first_of("\r\n") != std::string::npos)
      out.errors.push_back(t->first + ": contains a line break");
    else
      c.manager_token = token;
    if (!c.manager && t->first == "MVI_MANAGER_TOKEN" && !token.empty())
      out.warnings.push_back("MVI_MANAGER_TOKEN is set but MVI_MANAGER_URL is not: the token is unused");
  }

  // SMTP.
  static const char* const kSmtpVars[] = {"MVI_SMTP_PORT", "MVI_SMTP_FROM",     "MVI_SMTP_TO",
                                          "MVI_SMTP_USER", "MVI_SMTP_PASSWORD", "MVI_SMTP_STARTTLS",
                                          "MVI_SMTP_SSL",  "MVI_SMTP_TIMEOUT",  "MVI_SMTP_HELO"};
  if (auto host = r.get("MVI_SMTP_HOST")) {
    SmtpSettings s;
    s.host = *host;
    if (s.host.front() == '[' && s.host.back() == ']') s.host = s.host.substr(1, s.host.size() - 2);
    if (has_control_or_space(s.host)) out.errors.push_back("MVI_SMTP_HOST: contains spaces or control characters");
    bool starttls = r.flag("MVI_SMTP_STARTTLS");
    bool implicit = r.flag("MVI_SMTP_SSL");
    if (starttls && implicit)
      out.errors.push_back("MVI_SMTP_STARTTLS and MVI_SMTP_SSL are both set: choose one");
    s.security = implicit ? SmtpSecurity::tls : starttls ? SmtpSecurity::starttls : SmtpSecurity::none;
    if (implicit) s.port = 465;
    r.integer("MVI_SMTP_PORT", s.port, 1, 65535);
    r.plain("MVI_SMTP_FROM", s.from, "a plain address (user@example.com)");
    if (auto to = r.get("MVI_SMTP_TO")) {
      for (auto& a : split_list(*to)) {
        if (is_plain_address(a))
          s.to.push_back(a);
        else
          out.errors.push_back("MVI_SMTP_TO: '" + a + "' is not a plain address (user@example.com)");
      }
    }
    if (auto user = r.get("MVI_SMTP_USER")) s.username = *user;
    if (auto pw = env("MVI_SMTP_PASSWORD")) s.password = *pw;
    if (!s.username.empty() && s.security == SmtpSecurity::none && !is_loopback(s.host))
      out.warnings.push_back(
          "MVI_SMTP_USER is set without MVI_SMTP_STARTTLS or MVI_SMTP_SSL: the SMTP password is sent unencrypted");
    if (s.username.empty() && !s.password.empty())
      out.warnings.push_back("MVI_SMTP_PASSWORD is set without MVI_SMTP_USER: no authentication is used");
    r.number("MVI_SMTP_TIMEOUT", s.timeout_s, 0.1, 3600);
    r.plain("MVI_SMTP_HELO", s.helo_name, "a host name");
    c.smtp = std::move(s);
  } else {
    for (const char* name : kSmtpVars) {
      if (auto v = env(name); v && !trim(*v).empty()) {
        out.warnings.push_back(std::string(name) + " is set but MVI_SMTP_HOST is not: email notifications are off");
        break;
      }
    }
  }

  // Shared limits.
  if (auto ca = r.get("MVI_NOTIFY_CA_FILE")) c.ca_file = *ca;
  r.integer("MVI_NOTIFY_QUEUE_LIMIT", c.queue_limit, 1, 1000000);
  r.integer("MVI_NOTIFY_MAX_ATTEMPTS", c.retry.max_attempts, 1, 100);
  r.number("MVI_NOTIFY_BACKOFF_INITIAL", c.retry.initial_backoff_s, 0, 3600);
  r.number("MVI_NOTIFY_BACKOFF_MAX", c.retry.max_backoff_s, 0, 86400);
  r.number("MVI_NOTIFY_TIMEOUT", c.retry.timeout_s, 0.05, 3600);
  if (c.retry.max_backoff_s < c.retry.initial_backoff_s)
    out.errors.push_back("MVI_NOTIFY_BACKOFF_MAX must not be smaller than MVI_NOTIFY_BACKOFF_INITIAL");
  return out;
}

std::vector<std::string> describe_sinks(const NotifyConfig& c) {
  std::vector<std::string> lines;
  for (const auto& w : c.webhooks)
    lines.push_back("webhook " + w.redacted() + (c.secret.empty() ? " (unsigned)" : " (signed, X-MVI-Signature)"));
  if (c.manager)
    lines.push_back("manager " + c.manager->redacted() +
                    (c.manager_token.empty() ? " (no token)" : " (Bearer token)"));
  if (c.smtp) {
    const auto& s = *c.smtp;
    std::string sec = s.security == SmtpSecurity::tls ? "TLS" : s.security == SmtpSecurity::starttls ? "STARTTLS" : "plain";
    std::string line = "email via smtp://" + (s.host.find(':') != std::string::npos ? "[" + s.host + "]" : s.host) +
                       ":" + std::to_string(s.port) + " (" + sec + (s.username.empty() ? "" : ", AUTH PLAIN") +
                       ") from " + s.from;
    if (!s.to.empty()) line += ", default recipients: " + std::to_string(s.to.size());
    lines.push_back(std::move(line));
  }
  return lines;
}

}  // namespace mvi::notify
