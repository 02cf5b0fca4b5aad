// Hand-written parsers for a small, well-defined subset of ISO 8601 and RFC 4648: strict enough to
// give a 422 with a clear message before Python runs, and always producing text Python accepts.
#include "mvi/schema/formats.hpp"

#include "mvi/core/time.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace mvi::schema {
namespace {

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(int y, int m) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : kDays[m - 1];
}

struct Date {
  int y, m, d;
};

std::optional<Date> parse_date(std::string_view s, std::size_t& pos) {
  Date d{};
  if (!core::read_digits(s, pos, 4, d.y) || pos + 4 >= s.size() || s[pos + 4] != '-') return std::nullopt;
  if (!core::read_digits(s, pos + 5, 2, d.m) || pos + 7 >= s.size() || s[pos + 7] != '-') return std::nullopt;
  if (!core::read_digits(s, pos + 8, 2, d.d)) return std::nullopt;
  if (d.y < 1 || d.m < 1 || d.m > 12 || d.d < 1 || d.d > days_in_month(d.y, d.m)) return std::nullopt;
  pos += 10;
  return d;
}

// Parses "HH:MM[:SS[.f+]]" and an optional offset; appends the canonical text to `out`.
bool parse_time(std::string_view s, std::size_t& pos, std::string& out) {
  int h, mi, sec = 0;
  if (!core::read_digits(s, pos, 2, h) || pos + 2 >= s.size() || s[pos + 2] != ':' || !core::read_digits(s, pos + 3, 2, mi)) return false;
  pos += 5;
  std::string frac;
  if (pos < s.size() && s[pos] == ':') {
    if (!core::read_digits(s, pos + 1, 2, sec)) return false;
    pos += 3;
    if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
      ++pos;
      std::size_t start = pos;
      while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) ++pos;
      if (pos == start) return false;
      frac = std::string(s.substr(start, pos - start)).substr(0, 6);  // Python keeps microseconds
      frac.resize(6, '0');
    }
  }
  if (h > 23 || mi > 59 || sec > 59) return false;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02d:%02d:%02d", h, mi, sec);
  out += buf;
  if (!frac.empty()) out += "." + frac;
  if (pos == s.size()) return true;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
    out += "+00:00";
    return pos == s.size();
  }
  if (s[pos] != '+' && s[pos] != '-') return false;
  char sign = s[pos++];
  int oh, om = 0;
  if (!core::read_digits(s, pos, 2, oh)) return false;
  pos += 2;
  if (pos < s.size() && s[pos] == ':') ++pos;
  if (pos < s.size()) {
    if (!core::read_digits(s, pos, 2, om)) return false;
    pos += 2;
  }
  if (oh > 23 || om > 59 || pos != s.size()) return false;
  std::snprintf(buf, sizeof buf, "%c%02d:%02d", sign, oh, om);
  out += buf;
  return true;
}

std::string date_text(const Date& d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", d.y, d.m, d.d);
  return buf;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<std::string> normalize_date(std::string_view text) {
  text = trim(text);
  std::size_t pos = 0;
  auto d = parse_date(text, pos);
  if (!d || pos != text.size()) return std::nullopt;
  return date_text(*d);
}

std::optional<std::string> normalize_time(std::string_view text) {
  text = trim(text);
  std::size_t pos = 0;
  std::string out;
  if (!parse_time(text, pos, out) || pos != text.size()) return std::nullopt;
  return out;
}

std::optional<std::string> normalize_datetime(std::string_view text) {
  text = trim(text);
  std::size_t pos = 0;
  auto d = parse_date(text, pos);
  if (!d) return std::nullopt;
  std::string out = date_text(*d) + "T";
  if (pos == text.size()) return out + "00:00:00";
  if (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ') return std::nullopt;
  ++pos;
  if (!parse_time(text, pos, out) || pos != text.size()) return std::nullopt;
  return out;
}

std::optional<std::string> unix_to_iso(double seconds) {
  return core::format_iso_utc(seconds, core::Fraction::micros_if_any, "+00:00");
}

std::optional<std::string> normalize_uuid(std::string_view text) {
  text = trim(text);
  if (text.substr(0, 9) == "urn:uuid:") text.remove_prefix(9);
  if (text.size() >= 2 && text.front() == '{' && text.back() == '}') text = text.substr(1, text.size() - 2);
  std::string hex;
  for (char c : text) {
    if (c == '-') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
    hex += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (hex.size() != 32) return std::nullopt;
  if (text.size() != 32 && !(text.size() == 36 && text[8] == '-' && text[13] == '-' && text[18] == '-' && text[23] == '-'))
    return std::nullopt;
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" + hex.substr(16, 4) + "-" +
         hex.substr(20);
}

std::optional<std::vector<std::uint8_t>> decode_base64(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;
  std::vector<std::uint8_t> out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>((acc >> bits) & 0xff));
    }
  }
  return out;
}

std::string encode_base64(const std::uint8_t* data, std::size_t size) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((size + 2) / 3 * 4);
  for (std::size_t i = 0; i < size; i += 3) {
    std::uint32_t n = static_cast<std::uint32_t>(data[i]) << 16;
    if (i + 1 < size) n |= static_cast<std::uint32_t>(data[i + 1]) << 8;
    if (i + 2 < size) n |= data[i + 2];
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < size ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < size ? kAlphabet[n & 63] : '=';
  }
  return out;
}

}  // namespace mvi::schema
