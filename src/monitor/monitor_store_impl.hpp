// Private to src/monitor: the monitoring store's shared state (MonitorStore::Impl), its constants and
// the SQLite helpers both of its halves use — monitor_store.cpp (record, the writer thread, the life
// cycle) and monitor_reads.cpp (queries, CSV export, backups). Not a public header.
#pragma once

#include "mvi/core/json.hpp"
#include "mvi/core/time.hpp"

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include <nlohmann/json.hpp>

#include "mvi/core/error.hpp"
#include "mvi/core/thread.hpp"
#include "mvi/logs/log.hpp"
#include "mvi/sqlite/sqlite.hpp"


namespace mvi::monitor {

using json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

namespace detail {

inline constexpr double kFlushTimeoutS = 5.0;
inline constexpr double kReadWaitS = 1.0;  // reads wait this long for what was queued before them
inline constexpr auto kDropWarningInterval = std::chrono::seconds(10);
inline constexpr auto kIdleAgeSweepInterval = std::chrono::seconds(60);
inline constexpr int kBusyTimeoutMs = 5000;
inline constexpr int kSchemaVersion = 1;
inline constexpr int kMaxJsonDepth = 512;           // deeper values are dropped: dumping them could overflow the stack
inline constexpr double kMinTime = -62135596800.0;  // 0001-01-01T00:00:00Z
inline constexpr double kMaxTime = 253402300799.0;  // 9999-12-31T23:59:59Z

// The schema. `kind`: 'n' number (INTEGER or REAL; NULL for NaN), 's' string (TEXT), 'j' JSON text of a bool,
// null, array, object or an integer beyond int64. The view is for people who open a downloaded copy.
inline constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS monitor_variables (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS monitor_samples (
  variable_id INTEGER NOT NULL REFERENCES monitor_variables(id),
  timestamp REAL NOT NULL,
  kind TEXT NOT NULL,
  value
);
CREATE INDEX IF NOT EXISTS monitor_samples_by_time ON monitor_samples(variable_id, timestamp);
CREATE VIEW IF NOT EXISTS monitor AS
  SELECT v.name AS variable, s.timestamp AS timestamp,
         strftime('%Y-%m-%dT%H:%M:%fZ', s.timestamp, 'unixepoch') AS time, s.kind AS kind, s.value AS value
  FROM monitor_samples AS s JOIN monitor_variables AS v ON v.id = s.variable_id;
)sql";

using sqlite::column_text;
using sqlite::Db;
using sqlite::exec;
using sqlite::fail;
using sqlite::prepare;
using sqlite::SqliteError;
using sqlite::Stmt;
using sqlite::Use;

inline Db open_db(const std::string& path, int flags) { return sqlite::open_db(path, flags, kBusyTimeoutMs); }

// A read transaction on the read connection: every SELECT inside sees one snapshot.
class ReadTransaction {
 public:
  explicit ReadTransaction(sqlite3* db) : db_(db) { exec(db_, "BEGIN"); }
  ~ReadTransaction() { sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr); }
  ReadTransaction(const ReadTransaction&) = delete;
  ReadTransaction& operator=(const ReadTransaction&) = delete;

 private:
  sqlite3* db_;
};

// --- values and names ---------------------------------------------------------------------------------------

inline bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c == 0) return false;
      ++i;
      continue;
    }
    int extra;
    std::uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) extra = 1, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF) extra = 2, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4) extra = 3, cp = c & 0x07;
    else return false;
    if (i + extra >= s.size()) return false;
    for (int k = 1; k <= extra; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    const bool overlong_or_surrogate = extra == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF));
    const bool out_of_range = extra == 3 && (cp < 0x10000 || cp > 0x10FFFF);
    if (overlong_or_surrogate || out_of_range) return false;
    i += static_cast<std::size_t>(extra) + 1;
  }
  return true;
}

inline bool valid_name(std::string_view name) {
  return !name.empty() && name.size() <= MonitorStore::kMaxVariableBytes && valid_utf8(name);
}

// Nesting depth check without recursion (a value too deep to dump is never dumped).
inline bool within_depth(const json& value, int max_depth) {
  std::vector<std::pair<const json*, int>> stack{{&value, 1}};
  while (!stack.empty()) {
    auto [v, depth] = stack.back();
    stack.pop_back();
    if (!v->is_structured()) continue;
    if (depth > max_depth) return false;
    for (const auto& child : *v) stack.emplace_back(&child, depth + 1);
  }
  return true;
}


using core::unix_now;

inline std::string ascii_lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace detail

using namespace detail;  // the store's two files share these names

// --- the store---------------------------------------------------------------------------------------------------

struct MonitorStore::Impl {
  struct Pending {
    std::string variable;
    json value;
    double time;
  };

  MonitorOptions options;
  std::shared_ptr<spdlog::logger> log;
  std::size_t high_water = 1;  // the writer is woken early when the queue gets this long

  // Shared between record(), the readers and the writer; guarded by `mutex`.
  std::mutex mutex;
  std::condition_variable wake_writer;
  std::condition_variable committed_cv;
  std::vector<Pending> pending;
  std::uint64_t accepted = 0;   // records queued so far
  std::uint64_t committed = 0;  // of those, processed by the writer (stored or dropped)
  bool flush_requested = false;
  bool stopping = false;

  std::atomic<std::uint64_t> dropped_full{0};
  std::atomic<std::uint64_t> dropped_invalid{0};
  std::atomic<std::uint64_t> dropped_failed{0};

  // Writer thread only (after the constructor).
  Db write_db;
  Stmt begin, commit, insert_sample, find_variable, insert_variable, delete_oldest, delete_older;
  std::unordered_map<std::string, std::int64_t> ids;  // every variable's id
  std::unordered_map<std::int64_t, std::int64_t> counts;  // rows per variable id
  Clock::time_point last_age_sweep{};
  Clock::time_point last_drop_log{};
  Clock::time_point last_value_log{};  // warnings about single values: at most one per kDropWarningInterval
  std::uint64_t logged_drops = 0;

  // Read side, guarded by `read_mutex`.
  std::mutex read_mutex;
  Db read_db;
  Stmt all_variables, variable_id, samples;

  std::thread writer;

  explicit Impl(MonitorOptions o) : options(std::move(o)), log(logs::get("mvi.monitor")) {
    high_water = std::max<std::size_t>(1, options.queue_limit / 2);
    if (!(options.flush_interval_s > 0) || !std::isfinite(options.flush_interval_s)) options.flush_interval_s = 0.2;
  }

  void open();
  void run() noexcept;
  void write_batch(std::vector<Pending>& batch, bool sweep_age);
  std::int64_t id_for(const std::string& name, std::vector<std::string>& created);
  void report_drops();
  bool wait_committed(double timeout_s);
  static bool may_log(Clock::time_point& last) {
    auto now = Clock::now();
    if (last != Clock::time_point{} && now - last < kDropWarningInterval) return false;
    last = now;
    return true;
  }
  json query(const std::vector<std::string>& variables, std::optional<double> start, std::optional<double> end,
             Style style);
};

}  // namespace mvi::monitor
