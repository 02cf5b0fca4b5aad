// Payload builders of the notification sinks: JSON bodies, HMAC, e-mail text, back-off, verdicts.
// Pure functions, thread-safe; EmailSuppressor has one owner (the dispatcher thread).
// JSON is dumped with error_handler_t::replace so invalid UTF-8 in a message never throws (DESIGN rule 12).
#include "mvi/notify/payload.hpp"

#include "mvi/core/json.hpp"

#include "mvi/core/time.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <ctime>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace mvi::notify {
namespace {

using json = nlohmann::ordered_json;


// For the e-mail's Date header, whose format strftime writes (RFC 5322).
std::tm utc_tm(double epoch_seconds) {
  auto t = static_cast<std::time_t>(std::floor(epoch_seconds));
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}

// Bytes of a UTF-8 sequence starting with `lead` (1 for invalid leads: they are passed through as they are).
std::size_t utf8_len(unsigned char lead) {
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  if (lead >= 0xE0) return lead <= 0xEF ? 3 : 1;
  if (lead >= 0xC2) return 2;
  return 1;
}

// The first `max_chars` characters of `s` on one line: line breaks, tabs and other controls become spaces.
std::string one_line_prefix(std::string_view s, std::size_t max_chars) {
  std::string out;
  std::size_t chars = 0;
  for (std::size_t i = 0; i < s.size() && chars < max_chars; ++chars) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = std::min(utf8_len(c), s.size() - i);
    if (n == 1 && (c < 0x20 || c == 0x7f))
      out += ' ';
    else
      out.append(s.substr(i, n));
    i += n;
  }
  return out;
}

bool is_ascii_printable(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u < 0x7f;
  });
}

// RFC 2047 encoded words of at most 75 characters, split on character boundaries, folded with CRLF SP.
std::string encode_header_words(std::string_view text) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t end = i;
    while (end < text.size()) {
      std::size_t n = std::min(utf8_len(static_cast<unsigned char>(text[end])), text.size() - end);
      if (end + n - i > 45) break;  // 45 bytes → 60 base64 characters → a 72-character word
      end += n;
    }
    if (end == i) end = i + 1;
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + base64(text.substr(i, end - i)) + "?=";
    i = end;
  }
  return out;
}

std::string crlf_lines(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\r') {
      out += "\r\n";
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else if (c == '\n') {
      out += "\r\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string format_number(double d) {
  if (std::floor(d) == d && std::fabs(d) < 1e15) return std::to_string(static_cast<long long>(d));
  return dump_json(json(d));
}

}  // namespace

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
  return out;
}

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
  static const unsigned char kEmpty = 0;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  const void* k = key.empty() ? static_cast<const void*>(&kEmpty) : static_cast<const void*>(key.data());
  const unsigned char* d =
      data.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(data.data());
  if (!HMAC(EVP_sha256(), k, static_cast<int>(key.size()), d, data.size(), mac, &len)) return {};
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    hex += kHex[mac[i] >> 4];
    hex += kHex[mac[i] & 0xF];
  }
  return hex;
}

std::string signature_header_value(std::string_view secret, std::string_view body) {
  return "sha256=" + hmac_sha256_hex(secret, body);
}

std::string webhook_body(const state::Notification& n, const std::string& service_name,
                         const std::string& service_version, const std::string& delivery_id) {
  json j = n.to_json(service_name, service_version);
  j["event"] = "notification";
  j["delivery_id"] = delivery_id;
  return dump_json(j);
}

std::string daeploy_timestamp(double epoch_seconds) {
  // Python's str(datetime): a space for the "T", microseconds only when there are any.
  std::string text = core::format_iso_utc(epoch_seconds, core::Fraction::micros_if_any, "").value_or("");
  if (text.size() > 10) text[10] = ' ';
  return text;
}

std::string manager_body(const state::Notification& n, const std::string& service_name,
                         const std::string& service_version) {
  double timer = n.input.timer > 0 ? std::ceil(n.input.timer) : 0.0;
  json j = {
      {"service_name", service_name},
      {"service_version", service_version},
      {"msg", n.input.msg},
      {"severity", n.input.severity},
      {"dashboard", n.input.dashboard},
      {"emails", n.input.emails.empty() ? json(nullptr) : json(n.input.emails)},
      {"timer", static_cast<long long>(std::min(timer, 9.0e15))},
      {"timestamp", daeploy_timestamp(n.timestamp)},
  };
  return dump_json(j);
}

Url manager_endpoint(const Url& base) {
  Url u = base;
  std::string path = u.target.substr(0, u.target.find('?'));
  while (!path.empty() && path.back() == '/') path.pop_back();
  u.target = path + "/notifications/";
  return u;
}

double backoff_delay_s(const RetryPolicy& policy, int failed_attempts) {
  if (failed_attempts < 1) return 0.0;
  double d = policy.initial_backoff_s * std::ldexp(1.0, std::min(failed_attempts - 1, 62));
  return std::min(d, policy.max_backoff_s);
}

Verdict classify_http_status(int status) {
  if (status >= 200 && status <= 299) return Verdict::delivered;
  if (status == 0 || (status >= 500 && status <= 599)) return Verdict::retry;
  return Verdict::give_up;
}

Verdict classify_smtp_code(int code) {
  if (code >= 200 && code <= 299) return Verdict::delivered;
  if (code == 0 || (code >= 400 && code <= 499)) return Verdict::retry;
  return Verdict::give_up;
}

std::vector<std::string> email_recipients(const std::vector<std::string>& requested,
                                          const std::vector<std::string>& defaults,
                                          std::vector<std::string>* rejected) {
  std::vector<std::string> out;
  std::vector<std::string> seen;
  auto add = [&](const std::string& raw) {
    std::string a = raw;
    while (!a.empty() && std::isspace(static_cast<unsigned char>(a.front()))) a.erase(a.begin());
    while (!a.empty() && std::isspace(static_cast<unsigned char>(a.back()))) a.pop_back();
    if (!is_plain_address(a)) {
      if (rejected) rejected->push_back(raw);
      return;
    }
    auto l = lower(a);
    if (std::find(seen.begin(), seen.end(), l) != seen.end()) return;
    seen.push_back(std::move(l));
    out.push_back(std::move(a));
  };
  for (const auto& a : requested) add(a);
  for (const auto& a : defaults) add(a);
  return out;
}

std::string email_subject(const state::Notification& n, const std::string& service_name) {
  return "[" + std::string(state::NotificationStore::severity_name(n.input.severity)) + "] " +
         one_line_prefix(service_name, 200) + ": " + one_line_prefix(n.input.msg, 80);
}

EmailEnvelope email_message(const state::Notification& n, const std::string& service_name,
                            const std::string& service_version, const std::string& from,
                            const std::vector<std::string>& to, const std::string& delivery_id) {
  std::tm tm = utc_tm(n.timestamp);
  char date[64];
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  const std::string iso = core::format_iso_utc(n.timestamp, core::Fraction::millis, "Z").value_or("");

  std::string subject = email_subject(n, service_name);
  std::string to_line;
  for (const auto& a : to) to_line += (to_line.empty() ? "" : ", ") + a;

  std::string body = n.input.msg + "\n\n";
  auto field = [&](const char* name, const std::string& value) { body += std::string(name) + value + "\n"; };
  field("Service:         ", service_name + " " + service_version);
  field("Severity:        ", std::string(state::NotificationStore::severity_name(n.input.severity)) + " (" +
                                 std::to_string(n.input.severity) + ")");
  field("Time:            ", iso);
  field("Counter:         ", std::to_string(n.counter));
  field("Notification id: ", std::to_string(n.id));
  if (!n.input.entrypoint.empty()) field("Entrypoint:      ", n.input.entrypoint);
  if (!n.input.request_id.empty()) field("Request id:      ", n.input.request_id);
  field("Timer:           ", format_number(n.input.timer) + " s");
  field("Dashboard:       ", n.input.dashboard ? "true" : "false");
  body += "\n-- \nSent by mvi-runtime\n";
  body = crlf_lines(body);

  bool plain_body = true;
  {
    std::size_t line_len = 0;
    for (char c : body) {
      auto u = static_cast<unsigned char>(c);
      if (c == '\n') {
        line_len = 0;
        continue;
      }
      if (++line_len > 900 || u >= 0x7f || (u < 0x20 && c != '\r' && c != '\t')) {
        plain_body = false;
        break;
      }
    }
  }

  std::string d;
  d += "From: " + from + "\r\n";
  d += "To: " + to_line + "\r\n";
  d += "Subject: " + (is_ascii_printable(subject) ? subject : encode_header_words(subject)) + "\r\n";
  d += std::string("Date: ") + date + "\r\n";
  d += "Message-ID: <" + delivery_id + "@mvi-runtime>\r\n";
  d += "X-MVI-Delivery: " + delivery_id + "\r\n";
  d += "MIME-Version: 1.0\r\n";
  d += "Content-Type: text/plain; charset=utf-8\r\n";
  if (plain_body) {
    d += "Content-Transfer-Encoding: 7bit\r\n\r\n" + body;
  } else {
    d += "Content-Transfer-Encoding: base64\r\n\r\n";
    std::string b = base64(body);
    for (std::size_t i = 0; i < b.size(); i += 76) d += b.substr(i, 76) + "\r\n";
  }
  return {from, to, std::move(d)};
}

std::string smtp_dot_stuff(std::string_view data) {
  std::string out;
  out.reserve(data.size() + 8);
  bool line_start = true;
  for (std::size_t i = 0; i < data.size(); ++i) {
    char c = data[i];
    if (line_start && c == '.') out += '.';
    // Bare CR or LF are not allowed in SMTP DATA: every line break becomes CRLF.
    if (c == '\r') {
      out += "\r\n";
      if (i + 1 < data.size() && data[i + 1] == '\n') ++i;
      line_start = true;
    } else if (c == '\n') {
      out += "\r\n";
      line_start = true;
    } else {
      out += c;
      line_start = false;
    }
  }
  if (!line_start) out += "\r\n";
  return out;
}

std::string EmailSuppressor::key(const std::string& msg, int severity, std::vector<std::string> recipients) {
  for (auto& r : recipients) r = lower(r);
  std::sort(recipients.begin(), recipients.end());
  recipients.erase(std::unique(recipients.begin(), recipients.end()), recipients.end());
  std::string k = std::to_string(severity);
  k += '\0';
  k += msg;
  for (const auto& r : recipients) {
    k += '\0';
    k += r;
  }
  return k;
}

bool EmailSuppressor::allow(const std::string& key, double timer_s, double now_s) {
  auto it = until_.find(key);
  if (it != until_.end() && now_s < it->second) return false;
  if (timer_s <= 0) {
    if (it != until_.end()) until_.erase(it);
    return true;
  }
  if (it != until_.end()) {
    it->second = now_s + timer_s;
    return true;
  }
  if (until_.size() >= capacity_) {
    for (auto e = until_.begin(); e != until_.end();) e = e->second <= now_s ? until_.erase(e) : std::next(e);
    while (until_.size() >= capacity_) {
      auto oldest = std::min_element(until_.begin(), until_.end(),
                                     [](const auto& a, const auto& b) { return a.second < b.second; });
      until_.erase(oldest);
    }
  }
  until_.emplace(key, now_s + timer_s);
  return true;
}

}  // namespace mvi::notify
