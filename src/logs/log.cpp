// Logger set-up: one stdout sink shared by every logger, text or JSON lines.
// init() must run before other threads log; get() is guarded by spdlog's registry mutex.
#include "mvi/logs/log.hpp"

#include <chrono>
#include <mutex>

#include <nlohmann/json.hpp>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace mvi::logs {
namespace {

std::shared_ptr<spdlog::sinks::sink> g_sink;
spdlog::level::level_enum g_level = spdlog::level::info;
std::mutex g_mutex;

std::string iso_time(spdlog::log_clock::time_point tp) {
  auto t = spdlog::log_clock::to_time_t(tp);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(tp.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

// One JSON object per line; invalid UTF-8 in messages is replaced, never thrown.
class JsonFormatter final : public spdlog::formatter {
 public:
  explicit JsonFormatter(std::string service) : service_(std::move(service)) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    nlohmann::json j;
    j["time"] = iso_time(msg.time);
    auto level = spdlog::level::to_string_view(msg.level);
    j["level"] = std::string(level.data(), level.size());
    j["logger"] = std::string(msg.logger_name.data(), msg.logger_name.size());
    j["message"] = std::string(msg.payload.data(), msg.payload.size());
    j["service"] = service_;
    auto line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    dest.append(line.data(), line.data() + line.size());
    dest.push_back('\n');
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>(service_);
  }

 private:
  std::string service_;
};

spdlog::level::level_enum parse_level(const std::string& level) {
  if (level == "warning") return spdlog::level::warn;
  return spdlog::level::from_str(level);
}

}  // namespace

void init(const LogOptions& options) {
  std::lock_guard lock(g_mutex);
  g_sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
  if (options.format == "json") {
    g_sink->set_formatter(std::make_unique<JsonFormatter>(options.service_name));
  } else {
    g_sink->set_formatter(std::make_unique<spdlog::pattern_formatter>(
        "%Y-%m-%dT%H:%M:%S.%eZ %-8l %n: %v", spdlog::pattern_time_type::utc));
  }
  g_level = parse_level(options.level);
  spdlog::drop_all();
}

std::shared_ptr<spdlog::logger> get(const std::string& name) {
  std::lock_guard lock(g_mutex);
  if (auto existing = spdlog::get(name)) return existing;
  if (!g_sink) {
    g_sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
  }
  auto logger = std::make_shared<spdlog::logger>(name, g_sink);
  logger->set_level(g_level);
  // Containers read stdout through a pipe: flush each line so nothing sits in a buffer.
  logger->flush_on(spdlog::level::trace);
  spdlog::register_logger(logger);
  return logger;
}

spdlog::logger& runtime() {
  static thread_local std::shared_ptr<spdlog::logger> cached;
  if (!cached) cached = get("mvi.runtime");
  return *cached;
}

spdlog::logger& access() {
  static thread_local std::shared_ptr<spdlog::logger> cached;
  if (!cached) cached = get("mvi.access");
  return *cached;
}

}  // namespace mvi::logs
