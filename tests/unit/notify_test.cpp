// Tests for the pure parts of mvi::notify: environment parsing (NotifyConfig), URL splitting, the HMAC
// signature (RFC 4231), back-off schedule, retry verdicts, payload builders (webhook, Daeploy manager, e-mail),
// SMTP helpers and e-mail repeat suppression. No sockets, no threads.
#include "mvi/notify/payload.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mvi/notify/notify_config.hpp"
#include "mvi/notify/smtp_client.hpp"

namespace mvi::notify {
namespace {

using json = nlohmann::ordered_json;
using Env = std::map<std::string, std::string>;

config::EnvLookup lookup(const Env& env) {
  return [env](const std::string& key) -> std::optional<std::string> {
    auto it = env.find(key);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
}

NotifyConfigResult parse(const Env& env) { return parse_notify_config(lookup(env)); }

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

state::Notification sample(std::string msg = "disk almost full", int severity = 1) {
  state::Notification n;
  n.id = 7;
  n.input.msg = std::move(msg);
  n.input.severity = severity;
  n.input.dashboard = false;
  n.input.emails = {"ops@example.com"};
  n.input.timer = 60;
  n.input.entrypoint = "check";
  n.input.request_id = "req-1";
  n.timestamp = 1714566896.25;  // 2024-05-01 12:34:56.25 UTC
  n.counter = 3;
  return n;
}

// ---- URLs ----

TEST(ParseUrl, SplitsSchemeHostPortAndTarget) {
  auto u = parse_url("http://example.com:8080/hook?x=1#frag");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->scheme, "http");
  EXPECT_EQ(u->host, "example.com");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->target, "/hook?x=1");
  EXPECT_EQ(u->host_header(), "example.com:8080");
  EXPECT_EQ(u->redacted(), "http://example.com:8080");
}

TEST(ParseUrl, DefaultsPortsAndTarget) {
  auto u = parse_url("HTTPS://Example.com");
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->tls());
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->target, "/");
  EXPECT_EQ(u->host_header(), "Example.com");
  EXPECT_EQ(parse_url("http://h?q=1")->target, "/?q=1");
  EXPECT_EQ(parse_url("http://h")->port, 80);
}

TEST(ParseUrl, AcceptsIpv6Literals) {
  auto u = parse_url("http://[::1]:9000/x");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 9000);
  EXPECT_EQ(u->host_header(), "[::1]:9000");
}

TEST(ParseUrl, RejectsWhatItCannotUse) {
  std::string why;
  EXPECT_FALSE(parse_url("ftp://h/x", &why));
  EXPECT_NE(why.find("scheme"), std::string::npos);
  EXPECT_FALSE(parse_url("example.com/hook", &why));
  EXPECT_FALSE(parse_url("http://user:pw@h/x", &why));
  EXPECT_NE(why.find("user:password"), std::string::npos);
  EXPECT_FALSE(parse_url("http:///x", &why));
  EXPECT_FALSE(parse_url("http://h:0/", &why));
  EXPECT_FALSE(parse_url("http://h:70000/", &why));
  EXPECT_FALSE(parse_url("http://h:8x/", &why));
  EXPECT_FALSE(parse_url("http://h/a b", &why));
  EXPECT_FALSE(parse_url("http://[::1/", &why));
}

// ---- NotifyConfig ----

TEST(NotifyConfig, EmptyEnvironmentHasNoSinksAndTheDefaults) {
  auto r = parse({});
  EXPECT_TRUE(r.errors.empty());
  EXPECT_TRUE(r.warnings.empty());
  EXPECT_FALSE(r.config.any_sink());
  EXPECT_EQ(r.config.queue_limit, 1000u);
  EXPECT_EQ(r.config.retry.max_attempts, 5);
  EXPECT_DOUBLE_EQ(r.config.retry.initial_backoff_s, 0.5);
  EXPECT_DOUBLE_EQ(r.config.retry.max_backoff_s, 30.0);
  EXPECT_DOUBLE_EQ(r.config.retry.timeout_s, 5.0);
  EXPECT_DOUBLE_EQ(r.config.stop_grace_s, 2.0);
}

TEST(NotifyConfig, WebhooksAreACommaSeparatedList) {
  auto r = parse({{"MVI_NOTIFY_WEBHOOK", " http://a:1/x , ,https://b/y,"}, {"MVI_NOTIFY_SECRET", "s3cret"}});
  ASSERT_TRUE(r.errors.empty()) << joined(r.errors);
  ASSERT_EQ(r.config.webhooks.size(), 2u);
  EXPECT_EQ(r.config.webhooks[0].str(), "http://a:1/x");
  EXPECT_EQ(r.config.webhooks[1].str(), "https://b/y");
  EXPECT_EQ(r.config.secret, "s3cret");
  EXPECT_TRUE(r.config.needs_tls());
}

TEST(NotifyConfig, ABadWebhookIsAnErrorThatDoesNotQuoteTheUrl) {
  auto r = parse({{"MVI_NOTIFY_WEBHOOK", "http://ok/x,ftp://host/T0KEN"}});
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].find("MVI_NOTIFY_WEBHOOK: URL 2 of 2"), std::string::npos) << r.errors[0];
  EXPECT_EQ(r.errors[0].find("T0KEN"), std::string::npos) << r.errors[0];
}

TEST(NotifyConfig, SecretWithoutWebhookWarns) {
  auto r = parse({{"MVI_NOTIFY_SECRET", "x"}});
  EXPECT_TRUE(r.errors.empty());
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("MVI_NOTIFY_SECRET"), std::string::npos);
}

TEST(NotifyConfig, ManagerUrlAndTokenWithDaeployAliases) {
  auto r = parse({{"DAEPLOY_MANAGER_URL", "http://manager:5080/"}, {"DAEPLOY_AUTH_TOKEN", "tok"}});
  ASSERT_TRUE(r.errors.empty()) << joined(r.errors);
  ASSERT_TRUE(r.config.manager);
  EXPECT_EQ(r.config.manager->host, "manager");
  EXPECT_EQ(r.config.manager_token, "tok");

  auto both = parse({{"MVI_MANAGER_URL", "http://mine"},
                     {"DAEPLOY_MANAGER_URL", "http://theirs"},
                     {"MVI_MANAGER_TOKEN", "a"},
                     {"DAEPLOY_AUTH_TOKEN", "b"},
                     {"daeploy.auth", "c"}});
  EXPECT_EQ(both.config.manager->host, "mine");
  EXPECT_EQ(both.config.manager_token, "a");

  auto legacy = parse({{"DAEPLOY_MANAGER_URL", "http://m"}, {"daeploy.auth", "jwt"}});
  EXPECT_EQ(legacy.config.manager_token, "jwt");
}

TEST(NotifyConfig, ManagerUrlWithAQueryIsAnError) {
  auto r = parse({{"MVI_MANAGER_URL", "http://m/?a=1"}});
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].find("MVI_MANAGER_URL"), std::string::npos);
}

TEST(NotifyConfig, TokenWithoutManagerWarns) {
  auto r = parse({{"MVI_MANAGER_TOKEN", "x"}});
  EXPECT_FALSE(r.config.manager);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("MVI_MANAGER_TOKEN"), std::string::npos);
}

TEST(NotifyConfig, SmtpSettingsAndDefaults) {
  auto r = parse({{"MVI_SMTP_HOST", "127.0.0.1"}, {"MVI_SMTP_TO", "a@x.org, b@x.org"}});
  ASSERT_TRUE(r.errors.empty()) << joined(r.errors);
  ASSERT_TRUE(r.config.smtp);
  const auto& s = *r.config.smtp;
  EXPECT_EQ(s.host, "127.0.0.1");
  EXPECT_EQ(s.port, 25);
  EXPECT_EQ(s.from, "mvi-runtime@localhost");
  EXPECT_EQ(s.to, (std::vector<std::string>{"a@x.org", "b@x.org"}));
  EXPECT_EQ(s.security, SmtpSecurity::none);
  EXPECT_TRUE(s.username.empty());
  EXPECT_FALSE(r.config.needs_tls());

  auto full = parse({{"MVI_SMTP_HOST", "mail.example.com"},
                     {"MVI_SMTP_PORT", "587"},
                     {"MVI_SMTP_FROM", "alerts@example.com"},
                     {"MVI_SMTP_USER", "alerts"},
                     {"MVI_SMTP_PASSWORD", "pw"},
                     {"MVI_SMTP_STARTTLS", "yes"}});
  ASSERT_TRUE(full.errors.empty()) << joined(full.errors);
  EXPECT_TRUE(full.warnings.empty()) << joined(full.warnings);
  EXPECT_EQ(full.config.smtp->port, 587);
  EXPECT_EQ(full.config.smtp->security, SmtpSecurity::starttls);
  EXPECT_EQ(full.config.smtp->username, "alerts");
  EXPECT_EQ(full.config.smtp->password, "pw");
  EXPECT_TRUE(full.config.needs_tls());

  auto ssl = parse({{"MVI_SMTP_HOST", "mail"}, {"MVI_SMTP_SSL", "1"}});
  EXPECT_EQ(ssl.config.smtp->security, SmtpSecurity::tls);
  EXPECT_EQ(ssl.config.smtp->port, 465);
}

TEST(NotifyConfig, SmtpMistakes) {
  EXPECT_EQ(parse({{"MVI_SMTP_HOST", "m"}, {"MVI_SMTP_STARTTLS", "1"}, {"MVI_SMTP_SSL", "1"}}).errors.size(), 1u);
  EXPECT_EQ(parse({{"MVI_SMTP_HOST", "m"}, {"MVI_SMTP_STARTTLS", "maybe"}}).errors.size(), 1u);
  EXPECT_EQ(parse({{"MVI_SMTP_HOST", "m"}, {"MVI_SMTP_PORT", "0"}}).errors.size(), 1u);
  EXPECT_EQ(parse({{"MVI_SMTP_HOST", "m"}, {"MVI_SMTP_FROM", "a@b\r\nRCPT TO:<x>"}}).errors.size(), 1u);
  EXPECT_EQ(parse({{"MVI_SMTP_HOST", "m"}, {"MVI_SMTP_TO", "ok@x, <bad>"}}).errors.size(), 1u);

  auto no_host = parse({{"MVI_SMTP_TO", "a@x"}});
  EXPECT_FALSE(no_host.config.smtp);
  ASSERT_EQ(no_host.warnings.size(), 1u);
  EXPECT_NE(no_host.warnings[0].find("MVI_SMTP_HOST"), std::string::npos);

  auto clear = parse({{"MVI_SMTP_HOST", "mail.example.com"}, {"MVI_SMTP_USER", "u"}, {"MVI_SMTP_PASSWORD", "p"}});
  ASSERT_EQ(clear.warnings.size(), 1u);
  EXPECT_NE(clear.warnings[0].find("unencrypted"), std::string::npos);
  EXPECT_TRUE(parse({{"MVI_SMTP_HOST", "127.0.0.1"}, {"MVI_SMTP_USER", "u"}}).warnings.empty())
      << "loopback needs no TLS warning";
}

TEST(NotifyConfig, LimitsFromTheEnvironment) {
  auto r = parse({{"MVI_NOTIFY_QUEUE_LIMIT", "10"},
                  {"MVI_NOTIFY_MAX_ATTEMPTS", "3"},
                  {"MVI_NOTIFY_BACKOFF_INITIAL", "0.1"},
                  {"MVI_NOTIFY_BACKOFF_MAX", "2"},
                  {"MVI_NOTIFY_TIMEOUT", "1.5"}});
  ASSERT_TRUE(r.errors.empty()) << joined(r.errors);
  EXPECT_EQ(r.config.queue_limit, 10u);
  EXPECT_EQ(r.config.retry.max_attempts, 3);
  EXPECT_DOUBLE_EQ(r.config.retry.initial_backoff_s, 0.1);
  EXPECT_DOUBLE_EQ(r.config.retry.max_backoff_s, 2.0);
  EXPECT_DOUBLE_EQ(r.config.retry.timeout_s, 1.5);
}

TEST(NotifyConfig, BadLimitsAreErrorsNamingTheVariable) {
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"MVI_NOTIFY_QUEUE_LIMIT", "0"},
           {"MVI_NOTIFY_QUEUE_LIMIT", "ten"},
           {"MVI_NOTIFY_MAX_ATTEMPTS", "1.5"},
           {"MVI_NOTIFY_TIMEOUT", "0"},
           {"MVI_NOTIFY_TIMEOUT", "nan"},
           {"MVI_NOTIFY_TIMEOUT", "0x10"},
           {"MVI_NOTIFY_BACKOFF_INITIAL", "-1"},
           {"MVI_SMTP_TIMEOUT", "5s"}}) {
    Env env{{name, value}};
    if (name.rfind("MVI_SMTP", 0) == 0) env["MVI_SMTP_HOST"] = "m";
    auto r = parse(env);
    ASSERT_EQ(r.errors.size(), 1u) << name << "=" << value;
    EXPECT_EQ(r.errors[0].rfind(name + ":", 0), 0u) << r.errors[0];
  }
  auto r = parse({{"MVI_NOTIFY_BACKOFF_INITIAL", "5"}, {"MVI_NOTIFY_BACKOFF_MAX", "1"}});
  EXPECT_EQ(r.errors.size(), 1u);
}

TEST(NotifyConfig, DescribeSinksNeverShowsSecrets) {
  auto r = parse({{"MVI_NOTIFY_WEBHOOK", "https://hooks.example.com/services/T0/B0/SECRETPATH"},
                  {"MVI_NOTIFY_SECRET", "hmac-key"},
                  {"MVI_MANAGER_URL", "http://manager"},
                  {"MVI_MANAGER_TOKEN", "bearer-token"},
                  {"MVI_SMTP_HOST", "127.0.0.1"},
                  {"MVI_SMTP_USER", "u"},
                  {"MVI_SMTP_PASSWORD", "smtp-password"}});
  ASSERT_TRUE(r.errors.empty()) << joined(r.errors);
  auto text = joined(describe_sinks(r.config));
  EXPECT_EQ(describe_sinks(r.config).size(), 3u);
  for (const char* secret : {"SECRETPATH", "hmac-key", "bearer-token", "smtp-password"})
    EXPECT_EQ(text.find(secret), std::string::npos) << secret << " in:\n" << text;
  EXPECT_NE(text.find("https://hooks.example.com:443"), std::string::npos) << text;
  EXPECT_NE(text.find("signed"), std::string::npos) << text;
}

// ---- signature ----

TEST(Hmac, Rfc4231TestCase2) {
  EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Hmac, Rfc4231TestCase1) {
  EXPECT_EQ(hmac_sha256_hex(std::string(20, '\x0b'), "Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST(Hmac, SignatureHeaderValue) {
  EXPECT_EQ(signature_header_value("Jefe", "what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(hmac_sha256_hex("k", "").size(), 64u);
}

// ---- back-off and verdicts ----

TEST(Backoff, DoublesFromTheInitialDelayUpToTheCap) {
  RetryPolicy p;  // 0.5 s doubling to 30 s
  std::vector<double> got;
  for (int k = 1; k <= 9; ++k) got.push_back(backoff_delay_s(p, k));
  EXPECT_EQ(got, (std::vector<double>{0.5, 1, 2, 4, 8, 16, 30, 30, 30}));
  EXPECT_EQ(backoff_delay_s(p, 0), 0.0);
  EXPECT_EQ(backoff_delay_s(p, 1000), 30.0);
  RetryPolicy zero{5, 0.0, 0.0, 1.0};
  EXPECT_EQ(backoff_delay_s(zero, 3), 0.0);
}

TEST(Verdicts, Http) {
  EXPECT_EQ(classify_http_status(200), Verdict::delivered);
  EXPECT_EQ(classify_http_status(204), Verdict::delivered);
  EXPECT_EQ(classify_http_status(0), Verdict::retry);
  EXPECT_EQ(classify_http_status(500), Verdict::retry);
  EXPECT_EQ(classify_http_status(503), Verdict::retry);
  EXPECT_EQ(classify_http_status(400), Verdict::give_up);
  EXPECT_EQ(classify_http_status(404), Verdict::give_up);
  EXPECT_EQ(classify_http_status(429), Verdict::give_up);
  EXPECT_EQ(classify_http_status(301), Verdict::give_up);
}

TEST(Verdicts, Smtp) {
  EXPECT_EQ(classify_smtp_code(250), Verdict::delivered);
  EXPECT_EQ(classify_smtp_code(0), Verdict::retry);
  EXPECT_EQ(classify_smtp_code(421), Verdict::retry);
  EXPECT_EQ(classify_smtp_code(451), Verdict::retry);
  EXPECT_EQ(classify_smtp_code(550), Verdict::give_up);
  EXPECT_EQ(classify_smtp_code(354), Verdict::give_up);
}

// ---- payloads ----

TEST(Payload, WebhookBodyIsTheNotificationJsonPlusEvent) {
  auto n = sample();
  auto body = json::parse(webhook_body(n, "svc", "1.2.3", "abc-1"));
  auto expected = n.to_json("svc", "1.2.3");
  expected["event"] = "notification";
  expected["delivery_id"] = "abc-1";
  EXPECT_EQ(body, expected);
  for (const char* field : {"id", "service_name", "service_version", "msg", "severity", "severity_name", "dashboard",
                            "emails", "timer", "timestamp", "counter", "entrypoint", "request_id"})
    EXPECT_TRUE(body.contains(field)) << field;
}

TEST(Payload, WebhookBodyReplacesInvalidUtf8) {
  auto n = sample(std::string("bad \xff byte"));
  auto body = json::parse(webhook_body(n, "svc", "1", "x"));
  EXPECT_EQ(body["msg"], "bad \xEF\xBF\xBD byte");
}

TEST(Payload, DaeployTimestampLooksLikePythonsStrOfUtcnow) {
  EXPECT_EQ(daeploy_timestamp(0), "1970-01-01 00:00:00");
  EXPECT_EQ(daeploy_timestamp(1.5), "1970-01-01 00:00:01.500000");
  EXPECT_EQ(daeploy_timestamp(1714566896.25), "2024-05-01 12:34:56.250000");
}

TEST(Payload, ManagerBodyHasExactlyDaeploysFields) {
  auto n = sample();
  n.input.timer = 2.5;
  auto body = json::parse(manager_body(n, "svc", "1.2.3"));
  json expected = {{"service_name", "svc"},
                   {"service_version", "1.2.3"},
                   {"msg", "disk almost full"},
                   {"severity", 1},
                   {"dashboard", false},
                   {"emails", {"ops@example.com"}},
                   {"timer", 3},
                   {"timestamp", "2024-05-01 12:34:56.250000"}};
  EXPECT_EQ(body, expected);
  n.input.emails.clear();
  n.input.timer = 0;
  body = json::parse(manager_body(n, "svc", "1.2.3"));
  EXPECT_TRUE(body["emails"].is_null());
  EXPECT_EQ(body["timer"], 0);
  EXPECT_TRUE(body["severity"].is_number_integer());
}

TEST(Payload, ManagerEndpoint) {
  EXPECT_EQ(manager_endpoint(*parse_url("http://manager")).target, "/notifications/");
  EXPECT_EQ(manager_endpoint(*parse_url("http://manager:5080/")).str(), "http://manager:5080/notifications/");
  EXPECT_EQ(manager_endpoint(*parse_url("https://host/daeploy//")).target, "/daeploy/notifications/");
}

TEST(Payload, EmailRecipientsMergeDefaultsAndSkipUnsafeAddresses) {
  std::vector<std::string> rejected;
  auto to = email_recipients({"a@x.org", "B@x.org", "evil@x.org>\r\nRCPT TO:<z@y", "a@x.org"},
                             {"b@x.org", "ops@x.org"}, &rejected);
  EXPECT_EQ(to, (std::vector<std::string>{"a@x.org", "B@x.org", "ops@x.org"}));
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_TRUE(email_recipients({}, {}).empty());
}

TEST(Payload, EmailSubject) {
  auto n = sample("line one\nline two");
  EXPECT_EQ(email_subject(n, "svc"), "[WARNING] svc: line one line two");
  n.input.msg = std::string(100, 'a');
  n.input.severity = 2;
  EXPECT_EQ(email_subject(n, "svc"), "[CRITICAL] svc: " + std::string(80, 'a'));
  n.input.msg = std::string(79, 'a') + "\xC3\xA9\xC3\xA9";  // 81 characters, the last two are two bytes each
  n.input.severity = 0;
  EXPECT_EQ(email_subject(n, "svc"), "[INFO] svc: " + std::string(79, 'a') + "\xC3\xA9");
}

TEST(Payload, EmailMessageAscii) {
  auto n = sample();
  auto env = email_message(n, "svc", "1.0", "from@x.org", {"a@x.org", "b@x.org"}, "id-1");
  EXPECT_EQ(env.from, "from@x.org");
  EXPECT_EQ(env.to, (std::vector<std::string>{"a@x.org", "b@x.org"}));
  const auto& d = env.data;
  EXPECT_NE(d.find("From: from@x.org\r\n"), std::string::npos);
  EXPECT_NE(d.find("To: a@x.org, b@x.org\r\n"), std::string::npos);
  EXPECT_NE(d.find("Subject: [WARNING] svc: disk almost full\r\n"), std::string::npos);
  EXPECT_NE(d.find("Date: Wed, 01 May 2024 12:34:56 +0000\r\n"), std::string::npos) << d;
  EXPECT_NE(d.find("X-MVI-Delivery: id-1\r\n"), std::string::npos);
  EXPECT_NE(d.find("Content-Transfer-Encoding: 7bit\r\n\r\ndisk almost full\r\n"), std::string::npos) << d;
  EXPECT_NE(d.find("Counter:         3\r\n"), std::string::npos) << d;
  EXPECT_NE(d.find("Entrypoint:      check\r\n"), std::string::npos) << d;
  EXPECT_NE(d.find("Timer:           60 s\r\n"), std::string::npos) << d;
  for (std::size_t i = 0; i < d.size(); ++i)
    if (d[i] == '\n') {
      ASSERT_TRUE(i > 0 && d[i - 1] == '\r') << "bare LF at " << i;
    }
}

TEST(Payload, EmailMessageNonAsciiIsEncoded) {
  auto n = sample("temperatur \xC3\xB6ver gr\xC3\xA4nsen");
  auto d = email_message(n, "svc", "1.0", "f@x", {"t@x"}, "id").data;
  EXPECT_NE(d.find("Subject: =?UTF-8?B?"), std::string::npos) << d;
  EXPECT_NE(d.find("Content-Transfer-Encoding: base64\r\n"), std::string::npos);
  auto body_at = d.find("\r\n\r\n");
  auto body = d.substr(body_at + 4);
  for (char c : body) ASSERT_LT(static_cast<unsigned char>(c), 0x80);
}

TEST(Payload, Base64) {
  EXPECT_EQ(base64(""), "");
  EXPECT_EQ(base64("f"), "Zg==");
  EXPECT_EQ(base64("foobar"), "Zm9vYmFy");
}

// ---- SMTP helpers ----

TEST(Smtp, DotStuffingAndLineEnds) {
  EXPECT_EQ(smtp_dot_stuff(".hidden\r\nok\r\n..two\r\n"), "..hidden\r\nok\r\n...two\r\n");
  EXPECT_EQ(smtp_dot_stuff("a\nb"), "a\r\nb\r\n");
  EXPECT_EQ(smtp_dot_stuff("a\r\n.\r\n"), "a\r\n..\r\n");
  EXPECT_EQ(smtp_dot_stuff(""), "");
}

TEST(Smtp, ReplyLines) {
  auto l = parse_smtp_reply_line("250-STARTTLS");
  EXPECT_EQ(l.code, 250);
  EXPECT_TRUE(l.more);
  EXPECT_EQ(l.text, "STARTTLS");
  l = parse_smtp_reply_line("221 Bye");
  EXPECT_EQ(l.code, 221);
  EXPECT_FALSE(l.more);
  EXPECT_EQ(parse_smtp_reply_line("250").code, 250);
  EXPECT_EQ(parse_smtp_reply_line("25").code, 0);
  EXPECT_EQ(parse_smtp_reply_line("abc def").code, 0);
  EXPECT_EQ(parse_smtp_reply_line("250xok").code, 0);
  EXPECT_EQ(parse_smtp_reply_line("999 no").code, 0);
}

TEST(Smtp, AuthPlain) { EXPECT_EQ(smtp_auth_plain("user", "pass"), "AHVzZXIAcGFzcw=="); }

// ---- e-mail suppression ----

TEST(EmailSuppressor, TimerZeroSendsEveryTime) {
  EmailSuppressor s;
  auto k = EmailSuppressor::key("m", 1, {"a@x"});
  EXPECT_TRUE(s.allow(k, 0, 100));
  EXPECT_TRUE(s.allow(k, 0, 100));
  EXPECT_EQ(s.size(), 0u);
}

TEST(EmailSuppressor, ARepeatInsideTheWindowIsSuppressed) {
  EmailSuppressor s;
  auto k = EmailSuppressor::key("m", 1, {"a@x"});
  EXPECT_TRUE(s.allow(k, 60, 100));
  EXPECT_FALSE(s.allow(k, 60, 100.5));
  EXPECT_FALSE(s.allow(k, 60, 159.9));
  EXPECT_TRUE(s.allow(k, 60, 160)) << "the window ends timer seconds after the e-mail sent";
  EXPECT_FALSE(s.allow(k, 60, 200)) << "a new window started at 160";
}

TEST(EmailSuppressor, SuppressedRepeatsDoNotExtendTheWindow) {
  EmailSuppressor s;
  auto k = EmailSuppressor::key("m", 0, {"a@x"});
  EXPECT_TRUE(s.allow(k, 10, 0));
  EXPECT_FALSE(s.allow(k, 10, 9));
  EXPECT_TRUE(s.allow(k, 10, 10));
}

TEST(EmailSuppressor, KeyIsMsgSeverityAndRecipientSet) {
  EXPECT_EQ(EmailSuppressor::key("m", 1, {"b@x", "A@x"}), EmailSuppressor::key("m", 1, {"a@x", "b@x", "a@x"}));
  EXPECT_NE(EmailSuppressor::key("m", 1, {"a@x"}), EmailSuppressor::key("m", 2, {"a@x"}));
  EXPECT_NE(EmailSuppressor::key("m", 1, {"a@x"}), EmailSuppressor::key("n", 1, {"a@x"}));
  EXPECT_NE(EmailSuppressor::key("m", 1, {"a@x"}), EmailSuppressor::key("m", 1, {"a@x", "b@x"}));
  EmailSuppressor s;
  EXPECT_TRUE(s.allow(EmailSuppressor::key("m", 1, {"a@x"}), 60, 0));
  EXPECT_TRUE(s.allow(EmailSuppressor::key("m", 1, {"b@x"}), 60, 1)) << "other recipients, other window";
  EXPECT_TRUE(s.allow(EmailSuppressor::key("m", 2, {"a@x"}), 60, 1)) << "other severity, other window";
}

TEST(EmailSuppressor, CapacityIsBounded) {
  EmailSuppressor s(3);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(s.allow("k" + std::to_string(i), 100, i));
  EXPECT_LE(s.size(), 3u);
  EXPECT_FALSE(s.allow("k9", 100, 10)) << "the newest window is kept";
}

}  // namespace
}  // namespace mvi::notify
