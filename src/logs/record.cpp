// Record formatting. Pure functions; thread-safe.
#include "mvi/logs/record.hpp"

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

std::string iso_time(std::chrono::system_clock::time_point tp) {
  auto t = std::chrono::system_clock::to_time_t(tp);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(tp.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

std::string format_text(const Record& r, std::string_view service) {
  std::string out = iso_time(r.time);
  out += ' ';
  std::string_view level = level_name(r.level);
  out += level;
  out.append(level.size() < 8 ? 8 - level.size() : 1, ' ');
  auto escaped = [&out](std::string_view text) {
    for (char c : text) {
      if (c == '\n') out += "\\n";
      else if (c == '\r') out += "\\r";
      else out += c;
    }
  };
  escaped(r.logger);
  out += ": ";
  escaped(r.message);
  if (!r.request_id.empty()) {
    out += " [";
    if (!r.entrypoint.empty()) out += "entrypoint=" + r.entrypoint + " ";
    out += "request_id=" + r.request_id + "]";
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
  nlohmann::json j = {
      {"time", iso_time(r.time)},
      {"level", level_name(r.level)},
      {"logger", r.logger},
      {"message", r.message},
      {"service", service},
  };
  if (!r.entrypoint.empty()) j["entrypoint"] = r.entrypoint;
  if (!r.request_id.empty()) j["request_id"] = r.request_id;
  if (!r.traceback.empty()) j["traceback"] = r.traceback;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace mvi::logs
