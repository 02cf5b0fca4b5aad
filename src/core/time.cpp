// ISO 8601 formatting over gmtime_r, parsing by hand (strptime reads no fractions or offsets).
#include "mvi/core/time.hpp"

#include <chrono>

#include <cmath>
#include <cstdio>
#include <ctime>

namespace mvi::core {
bool read_digits(std::string_view s, std::size_t at, std::size_t n, int& out) {
  if (at + n > s.size()) return false;
  out = 0;
  for (std::size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

std::optional<std::string> format_iso_utc(double seconds, Fraction fraction, std::string_view zone) {
  if (!std::isfinite(seconds) || std::fabs(seconds) > 253402300799.0) return std::nullopt;  // year 9999
  const double scale = fraction == Fraction::millis ? 1e3 : fraction == Fraction::none ? 1 : 1e6;
  double whole = std::floor(seconds);
  long long part = fraction == Fraction::none ? 0 : std::llround((seconds - whole) * scale);
  if (part >= static_cast<long long>(scale)) {
    whole += 1;
    part -= static_cast<long long>(scale);
  }
  const auto t = static_cast<std::time_t>(whole);
  std::tm tm{};
  if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 1) return std::nullopt;
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                        tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  if (fraction == Fraction::millis) n += std::snprintf(buf + n, sizeof buf - n, ".%03lld", part);
  else if (fraction == Fraction::micros || (fraction == Fraction::micros_if_any && part))
    n += std::snprintf(buf + n, sizeof buf - n, ".%06lld", part);
  std::string out(buf, static_cast<std::size_t>(n));
  out += zone;
  return out;
}

std::optional<double> parse_iso_seconds(std::string_view s) {
  std::tm tm{};
  int year, month, day, hour, minute, second;
  if (!read_digits(s, 0, 4, year) || s.size() < 19 || s[4] != '-' || !read_digits(s, 5, 2, month) || s[7] != '-' ||
      !read_digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !read_digits(s, 11, 2, hour) ||
      s[13] != ':' || !read_digits(s, 14, 2, minute) || s[16] != ':' || !read_digits(s, 17, 2, second))
    return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  std::size_t pos = 19;
  double fraction = 0, scale = 0.1;
  if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
    ++pos;
    const std::size_t start = pos;
    for (; pos < s.size() && s[pos] >= '0' && s[pos] <= '9'; ++pos, scale /= 10) fraction += (s[pos] - '0') * scale;
    if (pos == start) return std::nullopt;
  }
  int offset = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    const int sign = s[pos] == '+' ? 1 : -1;
    int oh = 0, om = 0;
    if (!read_digits(s, pos + 1, 2, oh)) return std::nullopt;
    pos += 3;
    if (pos < s.size() && s[pos] == ':') ++pos;
    if (pos < s.size()) {
      if (!read_digits(s, pos, 2, om)) return std::nullopt;
      pos += 2;
    }
    offset = sign * (oh * 3600 + om * 60);
  }
  if (pos != s.size()) return std::nullopt;
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return static_cast<double>(timegm(&tm)) + fraction - offset;
}

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace mvi::core
