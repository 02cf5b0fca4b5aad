// One log record, whoever produced it (the runtime, Python logging, print(), the access log), and
// its two line formats. Values and pure functions; thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mvi::logs {

enum class Level { trace, debug, info, warning, error, critical };

std::string_view level_name(Level level) noexcept;          // "INFO"
std::optional<Level> parse_level(std::string_view text);    // "info", "WARNING", "warn", "20"…
Level from_python_level(int levelno) noexcept;              // logging.INFO (20) → info

struct Record {
  std::chrono::system_clock::time_point time = std::chrono::system_clock::now();
  Level level = Level::info;
  std::string logger;
  std::string message;
  std::string entrypoint;  // inside a call
  std::string request_id;  // inside a call
  std::string traceback;   // formatted exception, if any
  std::uint64_t seq = 0;   // assigned by the ring
};

double unix_seconds(std::chrono::system_clock::time_point t) noexcept;
std::string iso_time(std::chrono::system_clock::time_point t);  // 2026-01-02T03:04:05.678Z

// "<time> <LEVEL> <logger>: <message> [entrypoint=… request_id=…]\n" with CR/LF in the message
// escaped, then the traceback's lines each indented by four spaces (never mistaken for a record).
std::string format_text(const Record& r, std::string_view service);
// One JSON object and "\n": time, level, logger, message, service, entrypoint, request_id, traceback.
std::string format_json(const Record& r, std::string_view service);

}  // namespace mvi::logs
