// The runtime's one log (SPEC §7). Every record — the runtime's own (spdlog loggers), Python
// logging, print() output, the access log — goes through emit(): level filter, truncation, the
// in-memory ring (GET /logs) and a bounded queue drained to stdout by a writer thread, so logging
// never blocks a request (when the queue is full, lines are dropped and counted).
// init() runs once in main before other threads log; everything else is thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <spdlog/logger.h>

#include "mvi/logs/log_ring.hpp"
#include "mvi/logs/record.hpp"

namespace mvi::logs {

struct LogOptions {
  std::string level = "info";   // trace|debug|info|warning|error|critical
  std::string format = "text";  // text|json
  std::string service_name;
  std::size_t ring_capacity = 10000;       // records kept for GET /logs
  std::size_t queue_capacity = 16384;      // lines waiting for stdout
  std::size_t max_message_bytes = 16384;   // longer messages are truncated
  bool to_stderr = false;                  // for commands whose stdout is their result
  // A worker process (isolated mode) hands each record, filtered and truncated, to the front instead
  // of writing it: the front's one log (ring, stdout) holds every process's lines. Any thread.
  std::function<void(Record)> forward;
};

void init(const LogOptions& options);

Level threshold() noexcept;
bool enabled(Level level) noexcept;
void emit(Record record);
LogRing& ring();
const std::string& service_name();
std::string format(const Record& record);  // in the configured console format

// Waits (bounded) until the stdout queue is written out; before exit.
void flush(std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));
std::uint64_t dropped_lines() noexcept;

// The call a thread is running, attached to every record it emits (entrypoint, request id).
struct CallContext {
  std::string entrypoint;
  std::string request_id;
};
class ScopedCallContext {
 public:
  ScopedCallContext(std::string entrypoint, std::string request_id);
  ~ScopedCallContext();
  ScopedCallContext(const ScopedCallContext&) = delete;
  ScopedCallContext& operator=(const ScopedCallContext&) = delete;

 private:
  const CallContext* previous_;
  CallContext context_;
};
const CallContext* current_call() noexcept;

// spdlog front ends for C++ code; their records go through emit().
std::shared_ptr<spdlog::logger> get(const std::string& name);
spdlog::logger& runtime();

}  // namespace mvi::logs
