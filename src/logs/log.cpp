// Log plumbing: spdlog front ends feed a sink that builds Records; emit() filters, truncates,
// keeps the ring and queues the formatted line for a writer thread that owns stdout. The writer
// and the globals live for the whole process (they are never destroyed, so late logging during
// static destruction stays safe).
#include "mvi/logs/log.hpp"

#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <thread>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include "mvi/core/thread.hpp"

namespace mvi::logs {
namespace {

struct State {
  LogOptions options;
  Level level = Level::info;
  bool off = false;  // --log-level off (tests): nothing is logged
  bool json = false;
  LogRing ring{10000};
  std::mutex mutex;  // guards the queue
  std::condition_variable wake;
  std::condition_variable drained;
  std::deque<std::string> queue;
  bool writing = false;
  bool urgent = false;        // an error was queued: write without lingering
  int flush_waiters = 0;      // flush() callers waiting for the queue to drain
  std::atomic<std::uint64_t> dropped{0};
  std::shared_ptr<spdlog::sinks::sink> sink;
};

State& state() {
  static State* s = new State();  // intentionally leaked: outlives every thread that may log
  return *s;
}

thread_local const CallContext* t_call = nullptr;

// The writer lingers this long after the first queued line, so a busy server writes many lines per
// system call and wakes the writer ~100 times a second instead of once per request. A flush, a full batch
// or an error cuts the wait short.
constexpr auto kLinger = std::chrono::milliseconds(10);
constexpr std::size_t kBatchLines = 256;

void writer_loop() {
  core::name_this_thread("mvi-log");
  core::schedule_as_batch();
  State& s = state();
  std::string joined;
  std::unique_lock lock(s.mutex);
  while (true) {
    s.wake.wait(lock, [&] { return !s.queue.empty(); });
    s.wake.wait_for(lock, kLinger, [&] { return s.queue.size() >= kBatchLines || s.urgent || s.flush_waiters > 0; });
    s.urgent = false;
    std::deque<std::string> batch;
    batch.swap(s.queue);
    s.writing = true;
    lock.unlock();
    // One fwrite for the batch: the interpreter makes C stdio unbuffered (PyConfig.buffered_stdio = 0
    // calls setvbuf(_IONBF)), so every fwrite would be its own write(2).
    std::size_t total = 0;
    for (const auto& line : batch) total += line.size();
    joined.clear();
    joined.reserve(total);
    for (const auto& line : batch) joined += line;
    std::FILE* out = s.options.to_stderr ? stderr : stdout;
    std::fwrite(joined.data(), 1, joined.size(), out);
    std::fflush(out);
    if (joined.capacity() > (1u << 20)) joined = std::string();  // a burst's buffer is not kept for good
    lock.lock();
    s.writing = false;
    if (s.queue.empty()) s.drained.notify_all();
  }
}

Level from_spdlog(spdlog::level::level_enum l) {
  switch (l) {
    case spdlog::level::trace: return Level::trace;
    case spdlog::level::debug: return Level::debug;
    case spdlog::level::info: return Level::info;
    case spdlog::level::warn: return Level::warning;
    case spdlog::level::err: return Level::error;
    default: return Level::critical;
  }
}

spdlog::level::level_enum to_spdlog(Level l) {
  switch (l) {
    case Level::trace: return spdlog::level::trace;
    case Level::debug: return spdlog::level::debug;
    case Level::info: return spdlog::level::info;
    case Level::warning: return spdlog::level::warn;
    case Level::error: return spdlog::level::err;
    default: return spdlog::level::critical;
  }
}

// Turns spdlog messages into Records; the calling thread's call context is attached.
class RecordSink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    Record r;
    r.time = msg.time;
    r.level = from_spdlog(msg.level);
    r.logger.assign(msg.logger_name.data(), msg.logger_name.size());
    r.message.assign(msg.payload.data(), msg.payload.size());
    emit(std::move(r));
  }
  void flush_() override {}
};

}  // namespace

void init(const LogOptions& options) {
  State& s = state();
  s.options = options;
  s.off = options.level == "off";
  s.level = parse_level(options.level).value_or(s.off ? Level::critical : Level::info);
  s.json = options.format == "json";
  static std::once_flag started;
  std::call_once(started, [] {
    std::thread(writer_loop).detach();
    state().sink = std::make_shared<RecordSink>();
  });
  spdlog::drop_all();
}

Level threshold() noexcept { return state().level; }
bool enabled(Level level) noexcept { return !state().off && level >= state().level; }
LogRing& ring() { return state().ring; }
const std::string& service_name() { return state().options.service_name; }

std::string format(const Record& record) {
  const State& s = state();
  return s.json ? format_json(record, s.options.service_name) : format_text(record, s.options.service_name);
}

void emit(Record record) {
  State& s = state();
  if (!enabled(record.level)) return;
  if (record.request_id.empty() && t_call) {
    record.entrypoint = t_call->entrypoint;
    record.request_id = t_call->request_id;
  }
  const std::size_t max = s.options.max_message_bytes;
  if (max && record.message.size() > max) {
    std::size_t cut = max;
    while (cut > 0 && (static_cast<unsigned char>(record.message[cut]) & 0xC0) == 0x80) --cut;  // whole UTF-8 chars
    std::size_t dropped = record.message.size() - cut;
    record.message.resize(cut);
    record.message += "… [truncated " + std::to_string(dropped) + " bytes]";
  }
  if (s.options.forward) return s.options.forward(std::move(record));  // a worker process: the front writes it
  std::string line = format(record);
  const bool urgent = record.level >= Level::error;
  s.ring.push(std::move(record));
  bool wake = false;
  {
    std::lock_guard lock(s.mutex);
    if (s.queue.size() >= s.options.queue_capacity) {
      s.dropped.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    s.queue.push_back(std::move(line));
    // Only the first line wakes an idle writer; in between it lingers (see kLinger) unless this ends that.
    wake = s.queue.size() == 1 || s.queue.size() == kBatchLines || urgent;
    s.urgent = s.urgent || urgent;
  }
  if (wake) s.wake.notify_one();
}

void flush(std::chrono::milliseconds timeout) {
  State& s = state();
  std::unique_lock lock(s.mutex);
  ++s.flush_waiters;
  s.wake.notify_one();
  s.drained.wait_for(lock, timeout, [&] { return s.queue.empty() && !s.writing; });
  --s.flush_waiters;
}

std::uint64_t dropped_lines() noexcept { return state().dropped.load(std::memory_order_relaxed); }

ScopedCallContext::ScopedCallContext(std::string entrypoint, std::string request_id)
    : previous_(t_call), context_{std::move(entrypoint), std::move(request_id)} {
  t_call = &context_;
}

ScopedCallContext::~ScopedCallContext() { t_call = previous_; }

const CallContext* current_call() noexcept { return t_call; }

std::shared_ptr<spdlog::logger> get(const std::string& name) {
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  if (auto existing = spdlog::get(name)) return existing;
  State& s = state();
  if (!s.sink) s.sink = std::make_shared<RecordSink>();
  auto logger = std::make_shared<spdlog::logger>(name, s.sink);
  logger->set_level(to_spdlog(s.level));
  spdlog::register_logger(logger);
  return logger;
}

spdlog::logger& runtime() {
  static thread_local std::shared_ptr<spdlog::logger> cached;
  if (!cached) cached = get("mvi.runtime");
  return *cached;
}

}  // namespace mvi::logs
