// Record formatting. Pure functions; thread-safe.
#include "mvi/logs/record.hpp"

#include "mvi/core/json.hpp"

#include "mvi/core/time.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>

#include <nlohmann/json.hpp>

namespace mvi::logs {

std::string_view level_name(Level level) noexcept {
  switch (level) {
    case Level::trace: return "TRACE";
    case Level::debug: return "DEBUG";
    case Level::info: return "INFO";
    case Level::warning: return "WARNING";
    case Level::error: return "ERROR";
    case Level::critical: return "CRITICAL";
  }
  return "INFO";
}

std::optional<Level> parse_level(std::string_view text) {
  std::string t;
  for (char c : text) t += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (t == "trace") return Level::trace;
  if (t == "debug" || t == "10") return Level::debug;
  if (t == "info" || t == "20") return Level::info;
  if (t == "warning" || t == "warn" || t == "30") return Level::warning;
  if (t == "error" || t == "err" || t == "40") return Level::error;
  if (t == "critical" || t == "fatal" || t == "50") return Level::critical;
  return std::nullopt;
}

Level from_python_level(int levelno) noexcept {
  if (levelno >= 50) return Level::critical;
  if (levelno >= 40) return Level::error;
  if (levelno >= 30) return Level::warning;
  if (levelno >= 20) return Level::info;
  if (levelno >= 10) return Level::debug;
  return Level::trace;
}

double unix_seconds(std::chrono::system_clock::time_point t) noexcept {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

namespace {
// "2026-01-02T03:04:05." for the second of `t`, cached per thread: a busy server logs many lines a second,
// and gmtime_r plus snprintf cost more than the rest of a line.
std::string_view second_prefix(std::time_t t) {
  thread_local std::time_t cached_second = -1;
  thread_local char cached[48];
  thread_local std::size_t length = 0;
  if (t != cached_second) {
    const std::string text = core::format_iso_utc(static_cast<double>(t), core::Fraction::none, ".").value_or(".");
    length = std::min(text.size(), sizeof cached);
    text.copy(cached, length);
    cached_second = t;
  }
  return {cached, length};
}

void append_time(std::string& out, std::chrono::system_clock::time_point tp) {
  const auto ms_total = std::chrono::duration_cast<std::chrono::milliseconds>(tp.time_since_epoch()).count();
  auto seconds = static_cast<std::time_t>(ms_total / 1000);
  auto ms = static_cast<int>(ms_total % 1000);
  if (ms < 0) {  // before 1970: floor, not truncation
    ms += 1000;
    --seconds;
  }
  out += second_prefix(seconds);
  const char digits[4] = {static_cast<char>('0' + ms / 100), static_cast<char>('0' + ms / 10 % 10),
                          static_cast<char>('0' + ms % 10), 'Z'};
  out.append(digits, 4);
}

// CR and LF become the two characters \r and \n, so a message can never start a line of its own.
void append_escaped(std::string& out, std::string_view text) {
  std::size_t start = 0;
  while (true) {
    const std::size_t at = text.find_first_of("\r\n", start);
    if (at == std::string_view::npos) break;
    out.append(text.data() + start, at - start);
    out += text[at] == '\n' ? "\\n" : "\\r";
    start = at + 1;
  }
  out.append(text.data() + start, text.size() - start);
}
}  // namespace

std::string iso_time(std::chrono::system_clock::time_point tp) {
  std::string out;
  append_time(out, tp);
  return out;
}

std::string format_text(const Record& r, std::string_view service) {
  std::string out;
  out.reserve(64 + r.logger.size() + r.message.size() + r.entrypoint.size() + r.request_id.size() +
              r.traceback.size() * 2);
  append_time(out, r.time);
  out += ' ';
  std::string_view level = level_name(r.level);
  out += level;
  out.append(level.size() < 8 ? 8 - level.size() : 1, ' ');
  append_escaped(out, r.logger);
  out += ": ";
  append_escaped(out, r.message);
  if (!r.request_id.empty()) {
    out += " [";
    if (!r.entrypoint.empty()) {
      out += "entrypoint=";
      out += r.entrypoint;
      out += ' ';
    }
    out += "request_id=";
    out += r.request_id;
    out += ']';
  }
  out += '\n';
  std::size_t start = 0;
  while (start < r.traceback.size()) {
    auto end = r.traceback.find('\n', start);
    if (end == std::string::npos) end = r.traceback.size();
    std::string_view line(r.traceback.data() + start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    out += "    ";
    out += line;
    out += '\n';
    start = end + 1;
  }
  (void)service;  // the text format leaves the service name to the container's log labels
  return out;
}

std::string format_json(const Record& r, std::string_view service) {
  nlohmann::ordered_json j = {
      {"time", iso_time(r.time)},
      {"level", level_name(r.level)},
      {"logger", r.logger},
      {"message", r.message},
      {"service", service},
  };
  if (!r.entrypoint.empty()) j["entrypoint"] = r.entrypoint;
  if (!r.request_id.empty()) j["request_id"] = r.request_id;
  if (!r.traceback.empty()) j["traceback"] = r.traceback;
  return dump_json(j) + "\n";
}

}  // namespace mvi::logs
