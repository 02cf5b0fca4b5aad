// The runtime's one log: spdlog loggers sharing a stdout sink, in text or JSON-lines format.
// init() runs once in main before any thread starts; the loggers are thread-safe afterwards.
#pragma once

#include <memory>
#include <string>

#include <spdlog/logger.h>

namespace mvi::logs {

struct LogOptions {
  std::string level = "info";    // trace|debug|info|warning|error|critical
  std::string format = "text";   // text|json
  std::string service_name;
};

void init(const LogOptions& options);

// A logger sharing the configured sinks, created on first use (names like "mvi.runtime").
std::shared_ptr<spdlog::logger> get(const std::string& name);

// The runtime's own messages and the access log.
spdlog::logger& runtime();
spdlog::logger& access();

}  // namespace mvi::logs
