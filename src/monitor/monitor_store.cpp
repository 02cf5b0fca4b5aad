// The monitoring store: a bounded queue filled by record() (any thread, one mutex push), one writer thread that
// commits it in batches — one transaction per batch, inserts and retention together — and a read connection,
// serialised by its own mutex, for queries, CSV export and online backups.
// Ordering rule: the writer connection is used only by the writer thread once the constructor has started it;
// the destructor drains the queue before joining it, and the connections close after the thread is gone.
#include "mvi/monitor/monitor_store.hpp"

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
#include "zip_writer.hpp"

namespace mvi::monitor {

using json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr double kFlushTimeoutS = 5.0;
constexpr double kReadWaitS = 1.0;  // reads wait this long for what was queued before them
constexpr auto kDropWarningInterval = std::chrono::seconds(10);
constexpr auto kIdleAgeSweepInterval = std::chrono::seconds(60);
constexpr int kBusyTimeoutMs = 5000;
constexpr int kSchemaVersion = 1;
constexpr int kMaxJsonDepth = 512;           // deeper values are dropped: dumping them could overflow the stack
constexpr double kMinTime = -62135596800.0;  // 0001-01-01T00:00:00Z
constexpr double kMaxTime = 253402300799.0;  // 9999-12-31T23:59:59Z

// The schema. `kind`: 'n' number (INTEGER or REAL; NULL for NaN), 's' string (TEXT), 'j' JSON text of a bool,
// null, array, object or an integer beyond int64. The view is for people who open a downloaded copy.
constexpr const char* kSchema = R"sql(
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

// --- SQLite helpers ---------------------------------------------------------------------------------------

struct DbCloser {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
using Db = std::unique_ptr<sqlite3, DbCloser>;

struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

struct SqliteError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void fail(sqlite3* db, const std::string& what) {
  throw SqliteError(what + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
}

Db open_db(const std::string& path, int flags) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  Db db(raw);
  if (rc != SQLITE_OK) fail(db.get(), "cannot open");
  sqlite3_busy_timeout(db.get(), kBusyTimeoutMs);
  sqlite3_extended_result_codes(db.get(), 1);
  return db;
}

void exec(sqlite3* db, const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message ? message : sqlite3_errmsg(db);
    sqlite3_free(message);
    throw SqliteError(text);
  }
}

Stmt prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr) != SQLITE_OK)
    fail(db, std::string("cannot prepare ") + sql);
  return Stmt(raw);
}

// Resets a statement (and its bindings) when the scope ends, so it never keeps a read transaction open.
class Use {
 public:
  explicit Use(const Stmt& s) : s_(s.get()) {}
  ~Use() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  Use(const Use&) = delete;
  Use& operator=(const Use&) = delete;
  sqlite3_stmt* operator*() const { return s_; }

 private:
  sqlite3_stmt* s_;
};

std::string column_text(sqlite3_stmt* s, int i) {
  auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
  return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s, i))) : std::string();
}

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

bool valid_utf8(std::string_view s) {
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

bool valid_name(std::string_view name) {
  return !name.empty() && name.size() <= MonitorStore::kMaxVariableBytes && valid_utf8(name);
}

// Nesting depth check without recursion (a value too deep to dump is never dumped).
bool within_depth(const json& value, int max_depth) {
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

std::string dump(const json& v) { return v.dump(-1, ' ', false, json::error_handler_t::replace); }

// Values were JSON when stored; the limit only guards the reader's stack.
constexpr std::size_t kMaxStoredDepth = 512;

json read_value(sqlite3_stmt* s, int kind_col, int value_col) {
  switch (sqlite3_column_type(s, value_col)) {
    case SQLITE_INTEGER: return json(static_cast<std::int64_t>(sqlite3_column_int64(s, value_col)));
    case SQLITE_FLOAT: return json(sqlite3_column_double(s, value_col));
    case SQLITE_NULL: return json(nullptr);
    default: break;
  }
  std::string text = column_text(s, value_col);
  auto* kind = reinterpret_cast<const char*>(sqlite3_column_text(s, kind_col));
  if (kind && kind[0] == 'j') {
    // Linear in the value's size (ordered_json's own parser is quadratic in an object's keys).
    if (auto parsed = parse_json(text, kMaxStoredDepth); parsed.value) return std::move(*parsed.value);
  }
  return json(std::move(text));
}

std::string iso_utc(double t) { return core::format_iso_utc(t, core::Fraction::micros, "+00:00").value_or(""); }

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// --- CSV ------------------------------------------------------------------------------------------------------

void csv_field(std::string& out, std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) {
    out.append(field);
    return;
  }
  out += '"';
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

std::string csv_file_stem(std::string_view variable) {
  std::string stem;
  for (char c : variable) {
    auto u = static_cast<unsigned char>(c);
    stem += (c == '/' || c == '\\' || c == ':' || u < 0x20 || u == 0x7f) ? '_' : c;
  }
  return stem;
}

std::string ascii_lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

// --- retention --------------------------------------------------------------------------------------------------

std::optional<Retention> parse_retention(std::string_view text) {
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  std::string lower = ascii_lower(std::string(text));
  if (lower == "unlimited" || lower == "none") return Retention{};

  std::size_t i = 0;
  while (i < lower.size() && std::isdigit(static_cast<unsigned char>(lower[i]))) ++i;
  if (i == 0) return std::nullopt;
  bool fraction = false;
  if (i < lower.size() && lower[i] == '.') {
    std::size_t j = i + 1;
    while (j < lower.size() && std::isdigit(static_cast<unsigned char>(lower[j]))) ++j;
    if (j == i + 1) return std::nullopt;
    fraction = true;
    i = j;
  }
  std::string_view number(lower.data(), i);
  while (i < lower.size() && is_space(lower[i])) ++i;
  std::string_view unit(lower.data() + i, lower.size() - i);

  if (unit == "row" || unit == "rows") {
    if (fraction) return std::nullopt;
    std::size_t rows = 0;
    auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), rows);
    if (ec != std::errc() || end != number.data() + number.size() || rows == 0) return std::nullopt;
    return Retention{rows, std::nullopt};
  }

  static const std::unordered_map<std::string_view, double> kUnits = {
      {"s", 1}, {"sec", 1}, {"secs", 1}, {"second", 1}, {"seconds", 1},
      {"m", 60}, {"min", 60}, {"mins", 60}, {"minute", 60}, {"minutes", 60},
      {"h", 3600}, {"hr", 3600}, {"hrs", 3600}, {"hour", 3600}, {"hours", 3600},
      {"d", 86400}, {"day", 86400}, {"days", 86400},
      {"w", 604800}, {"week", 604800}, {"weeks", 604800},
  };
  auto u = kUnits.find(unit);
  if (u == kUnits.end()) return std::nullopt;
  double value = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (ec != std::errc() || end != number.data() + number.size()) return std::nullopt;
  double seconds = value * u->second;
  if (!(seconds > 0) || !std::isfinite(seconds)) return std::nullopt;
  return Retention{std::nullopt, seconds};
}

UnknownVariables::UnknownVariables(std::vector<std::string> unknown)
    : std::runtime_error([&] {
        std::string m = "unknown monitored variable";
        if (unknown.size() != 1) m += 's';
        m += ": ";
        for (std::size_t i = 0; i < unknown.size(); ++i) m += (i ? ", " : "") + unknown[i];
        return m;
      }()),
      names(std::move(unknown)) {}

// --- the store ----------------------------------------------------------------------------------------------------

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
  json query(const std::vector<std::string>& variables, std::optional<double> start, std::optional<double> end);
};

void MonitorStore::Impl::open() {
  namespace fs = std::filesystem;
  const std::string& path = options.path;
  if (path.empty()) throw core::Error::usage("monitoring database: no path given");
  std::error_code ec;
  fs::path folder = fs::path(path).parent_path();
  if (!folder.empty()) {
    fs::create_directories(folder, ec);
    if (ec)
      throw core::Error::usage("monitoring database '" + path + "': cannot create its folder '" + folder.string() +
                               "': " + ec.message());
  }
  if (fs::is_directory(path, ec))
    throw core::Error::usage("monitoring database '" + path + "': a folder, not a file");

  try {
    write_db = open_db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    if (sqlite3_db_readonly(write_db.get(), "main") == 1) throw SqliteError("the file is read-only");
    {
      Stmt mode = prepare(write_db.get(), "PRAGMA journal_mode=WAL");
      if (sqlite3_step(mode.get()) != SQLITE_ROW) fail(write_db.get(), "cannot switch to WAL mode");
      std::string got = ascii_lower(column_text(mode.get(), 0));
      if (got != "wal") log->warn("monitoring database '{}': WAL mode unavailable (journal mode '{}')", path, got);
    }
    exec(write_db.get(), "PRAGMA synchronous=NORMAL");
    exec(write_db.get(), "BEGIN IMMEDIATE");  // proves the file (and its -wal) can be written
    try {
      Stmt version = prepare(write_db.get(), "PRAGMA user_version");
      int found = sqlite3_step(version.get()) == SQLITE_ROW ? sqlite3_column_int(version.get(), 0) : 0;
      version.reset();
      if (found > kSchemaVersion)
        throw SqliteError("written by a newer mvi-runtime (schema version " + std::to_string(found) + ")");
      exec(write_db.get(), kSchema);
      exec(write_db.get(), ("PRAGMA user_version=" + std::to_string(kSchemaVersion)).c_str());
      exec(write_db.get(), "COMMIT");
    } catch (...) {
      sqlite3_exec(write_db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }

    sqlite3* w = write_db.get();
    begin = prepare(w, "BEGIN IMMEDIATE");
    commit = prepare(w, "COMMIT");
    insert_sample =
        prepare(w, "INSERT INTO monitor_samples(variable_id, timestamp, kind, value) VALUES(?1, ?2, ?3, ?4)");
    find_variable = prepare(w, "SELECT id FROM monitor_variables WHERE name = ?1");
    insert_variable = prepare(w, "INSERT INTO monitor_variables(name) VALUES(?1)");
    delete_oldest = prepare(w,
                            "DELETE FROM monitor_samples WHERE rowid IN (SELECT rowid FROM monitor_samples "
                            "WHERE variable_id = ?1 ORDER BY timestamp, rowid LIMIT ?2)");
    delete_older = prepare(w, "DELETE FROM monitor_samples WHERE variable_id = ?1 AND timestamp < ?2");
    {
      Stmt s = prepare(w, "SELECT id, name FROM monitor_variables");
      while (sqlite3_step(s.get()) == SQLITE_ROW) {
        std::int64_t id = sqlite3_column_int64(s.get(), 0);
        ids.emplace(column_text(s.get(), 1), id);
        counts.emplace(id, 0);
      }
    }
    {
      Stmt s = prepare(w, "SELECT variable_id, count(*) FROM monitor_samples GROUP BY variable_id");
      while (sqlite3_step(s.get()) == SQLITE_ROW)
        counts[sqlite3_column_int64(s.get(), 0)] = sqlite3_column_int64(s.get(), 1);
    }

    read_db = open_db(path, SQLITE_OPEN_READONLY);
    sqlite3* r = read_db.get();
    all_variables = prepare(r, "SELECT id, name FROM monitor_variables ORDER BY name");
    variable_id = prepare(r, "SELECT id FROM monitor_variables WHERE name = ?1");
    samples = prepare(r,
                      "SELECT timestamp, kind, value FROM monitor_samples WHERE variable_id = ?1 "
                      "AND timestamp >= ?2 AND timestamp <= ?3 ORDER BY timestamp, rowid");
  } catch (const SqliteError& e) {
    throw core::Error::usage("monitoring database '" + path + "': " + e.what());
  }
}

std::int64_t MonitorStore::Impl::id_for(const std::string& name, std::vector<std::string>& created) {
  if (auto it = ids.find(name); it != ids.end()) return it->second;
  sqlite3* w = write_db.get();
  std::int64_t id = -1;
  {
    Use s(find_variable);
    sqlite3_bind_text(*s, 1, name.data(), static_cast<int>(name.size()), SQLITE_STATIC);
    int rc = sqlite3_step(*s);
    if (rc == SQLITE_ROW) id = sqlite3_column_int64(*s, 0);
    else if (rc != SQLITE_DONE) fail(w, "cannot look up a variable");
  }
  if (id < 0) {
    Use s(insert_variable);
    sqlite3_bind_text(*s, 1, name.data(), static_cast<int>(name.size()), SQLITE_STATIC);
    if (sqlite3_step(*s) != SQLITE_DONE) fail(w, "cannot add a variable");
    id = sqlite3_last_insert_rowid(w);
  }
  ids.emplace(name, id);
  counts.emplace(id, 0);
  created.push_back(name);
  return id;
}

// One transaction: the batch's rows, then retention (rows for the variables it touched; age, when asked, for
// all). Row counts change only once it committed; on failure it rolls back and its records count as dropped.
void MonitorStore::Impl::write_batch(std::vector<Pending>& batch, bool sweep_age) {
  sqlite3* w = write_db.get();
  const Retention& keep = options.retention;
  std::vector<std::string> created;          // variables added by this transaction
  std::unordered_map<std::int64_t, std::int64_t> delta;  // row count changes by this transaction
  std::uint64_t skipped = 0;
  try {
    {
      Use s(begin);
      if (sqlite3_step(*s) != SQLITE_DONE) fail(w, "cannot begin a transaction");
    }
    for (Pending& p : batch) {
      const json& v = p.value;
      if (v.is_structured() && !within_depth(v, kMaxJsonDepth)) {
        if (may_log(last_value_log))
          log->warn("monitoring: a value of '{}' is nested deeper than {} levels; not stored", p.variable,
                    kMaxJsonDepth);
        dropped_invalid.fetch_add(1, std::memory_order_relaxed);
        ++skipped;
        continue;
      }
      std::int64_t id = id_for(p.variable, created);
      std::string text;  // outlives the statement's use of it
      Use s(insert_sample);
      sqlite3_bind_int64(*s, 1, id);
      sqlite3_bind_double(*s, 2, p.time);
      const char* kind = "j";
      switch (v.type()) {
        case json::value_t::number_integer:
          kind = "n";
          sqlite3_bind_int64(*s, 4, v.get<std::int64_t>());
          break;
        case json::value_t::number_unsigned:
          if (v.get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
            kind = "n";
            sqlite3_bind_int64(*s, 4, static_cast<std::int64_t>(v.get<std::uint64_t>()));
          } else {
            text = dump(v);  // kept exact as JSON text
          }
          break;
        case json::value_t::number_float:
          kind = "n";
          if (std::isnan(v.get<double>())) sqlite3_bind_null(*s, 4);  // what SQLite does with NaN anyway
          else sqlite3_bind_double(*s, 4, v.get<double>());
          break;
        case json::value_t::string:
          kind = "s";
          sqlite3_bind_text64(*s, 4, v.get_ref<const std::string&>().data(), v.get_ref<const std::string&>().size(),
                              SQLITE_STATIC, SQLITE_UTF8);
          break;
        default:
          text = dump(v);
          break;
      }
      if (kind[0] == 'j') sqlite3_bind_text64(*s, 4, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8);
      sqlite3_bind_text(*s, 3, kind, 1, SQLITE_STATIC);
      int rc = sqlite3_step(*s);
      if (rc == SQLITE_DONE) {
        ++delta[id];
        continue;
      }
      if (sqlite3_get_autocommit(w)) fail(w, "insert failed and the transaction was rolled back");
      if (may_log(last_value_log))
        log->warn("monitoring: a value of '{}' was not stored: {}", p.variable, sqlite3_errmsg(w));
      dropped_failed.fetch_add(1, std::memory_order_relaxed);
      ++skipped;
    }

    if (keep.max_rows) {
      const auto max_rows = static_cast<std::int64_t>(std::min<std::size_t>(*keep.max_rows, INT64_MAX));
      for (auto& [id, added] : delta) {
        std::int64_t excess = counts[id] + added - max_rows;
        if (excess <= 0) continue;
        Use s(delete_oldest);
        sqlite3_bind_int64(*s, 1, id);
        sqlite3_bind_int64(*s, 2, excess);
        if (sqlite3_step(*s) != SQLITE_DONE) fail(w, "row retention failed");
        added -= sqlite3_changes(w);
      }
    }
    if (keep.max_age_s && sweep_age) {
      const double cutoff = unix_now() - *keep.max_age_s;
      for (const auto& [id, count] : counts) {
        auto d = delta.find(id);
        if (count + (d == delta.end() ? 0 : d->second) <= 0) continue;
        Use s(delete_older);
        sqlite3_bind_int64(*s, 1, id);
        sqlite3_bind_double(*s, 2, cutoff);
        if (sqlite3_step(*s) != SQLITE_DONE) fail(w, "age retention failed");
        if (int deleted = sqlite3_changes(w)) delta[id] -= deleted;
      }
      last_age_sweep = Clock::now();
    }
    {
      Use s(commit);
      if (sqlite3_step(*s) != SQLITE_DONE) fail(w, "commit failed");
    }
  } catch (const std::exception& e) {
    if (!sqlite3_get_autocommit(w)) sqlite3_exec(w, "ROLLBACK", nullptr, nullptr, nullptr);
    for (const auto& name : created) {
      counts.erase(ids[name]);
      ids.erase(name);
    }
    dropped_failed.fetch_add(batch.size() - skipped, std::memory_order_relaxed);
    log->error("monitoring: {} records not stored in '{}': {}", batch.size() - skipped, options.path, e.what());
    return;
  }
  for (const auto& [id, change] : delta) counts[id] += change;
}

void MonitorStore::Impl::report_drops() {
  const std::uint64_t full = dropped_full.load(std::memory_order_relaxed);
  const std::uint64_t invalid = dropped_invalid.load(std::memory_order_relaxed);
  const std::uint64_t failed = dropped_failed.load(std::memory_order_relaxed);
  const std::uint64_t total = full + invalid + failed;
  if (total == logged_drops) return;
  auto now = Clock::now();
  if (logged_drops != 0 && now - last_drop_log < kDropWarningInterval) return;
  log->warn(
      "monitoring: {} records dropped so far ({} with the queue full at {} waiting, {} invalid: name empty, over {} "
      "bytes or not UTF-8, time out of range, or value nested too deep; {} failed writes)",
      total, full, options.queue_limit, invalid, kMaxVariableBytes, failed);
  logged_drops = total;
  last_drop_log = now;
}

void MonitorStore::Impl::run() noexcept {
  std::vector<Pending> batch;
  const auto interval =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options.flush_interval_s));
  last_age_sweep = Clock::now();
  for (;;) {
    bool stop = false;
    {
      std::unique_lock lock(mutex);
      wake_writer.wait_for(lock, interval, [&] { return stopping || flush_requested || pending.size() >= high_water; });
      batch.swap(pending);
      flush_requested = false;
      stop = stopping;
    }
    const std::size_t n = batch.size();
    try {
      const bool sweep_age =
          options.retention.max_age_s && (n > 0 || Clock::now() - last_age_sweep >= kIdleAgeSweepInterval);
      if (n > 0 || sweep_age) write_batch(batch, sweep_age);
      report_drops();
    } catch (const std::exception& e) {
      log->error("monitoring writer: {}", e.what());
    } catch (...) {
      log->error("monitoring writer: unknown error");
    }
    batch.clear();
    {
      std::lock_guard lock(mutex);
      committed += n;
      if (stop && pending.empty()) {
        committed_cv.notify_all();
        return;
      }
    }
    committed_cv.notify_all();
  }
}

bool MonitorStore::Impl::wait_committed(double timeout_s) {
  std::unique_lock lock(mutex);
  const std::uint64_t target = accepted;
  if (committed >= target) return true;
  flush_requested = true;
  wake_writer.notify_one();
  return committed_cv.wait_for(lock, std::chrono::duration<double>(timeout_s), [&] { return committed >= target; });
}

json MonitorStore::Impl::query(const std::vector<std::string>& variables, std::optional<double> start,
                               std::optional<double> end) {
  wait_committed(kReadWaitS);
  std::lock_guard lock(read_mutex);
  sqlite3* r = read_db.get();
  try {
    ReadTransaction txn(r);
    std::vector<std::pair<std::string, std::int64_t>> wanted;
    if (variables.empty()) {
      Use s(all_variables);
      int rc;
      while ((rc = sqlite3_step(*s)) == SQLITE_ROW)
        wanted.emplace_back(column_text(*s, 1), sqlite3_column_int64(*s, 0));
      if (rc != SQLITE_DONE) fail(r, "cannot list variables");
    } else {
      std::vector<std::string> unknown;
      std::unordered_set<std::string> seen;
      for (const auto& name : variables) {
        if (!seen.insert(name).second) continue;
        if (name.size() > kMaxVariableBytes) {
          unknown.push_back(name);
          continue;
        }
        Use s(variable_id);
        sqlite3_bind_text(*s, 1, name.data(), static_cast<int>(name.size()), SQLITE_STATIC);
        int rc = sqlite3_step(*s);
        if (rc == SQLITE_ROW) wanted.emplace_back(name, sqlite3_column_int64(*s, 0));
        else if (rc == SQLITE_DONE) unknown.push_back(name);
        else fail(r, "cannot look up a variable");
      }
      if (!unknown.empty()) throw UnknownVariables(std::move(unknown));
    }

    const double lo = start && std::isfinite(*start) ? *start : std::numeric_limits<double>::lowest();
    const double hi = end && std::isfinite(*end) ? *end : std::numeric_limits<double>::max();
    json out = json::object();
    for (const auto& [name, id] : wanted) {
      json timestamps = json::array();
      json values = json::array();
      Use s(samples);
      sqlite3_bind_int64(*s, 1, id);
      sqlite3_bind_double(*s, 2, lo);
      sqlite3_bind_double(*s, 3, hi);
      int rc;
      while ((rc = sqlite3_step(*s)) == SQLITE_ROW) {
        timestamps.push_back(iso_utc(sqlite3_column_double(*s, 0)));
        values.push_back(read_value(*s, 1, 2));
      }
      if (rc != SQLITE_DONE) fail(r, "cannot read '" + name + "'");
      out[name] = json{{"timestamp", std::move(timestamps)}, {"value", std::move(values)}};
    }
    return out;
  } catch (const SqliteError& e) {
    throw core::Error::internal("monitoring database '" + options.path + "': " + e.what());
  }
}

MonitorStore::MonitorStore(MonitorOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
  impl_->open();
  impl_->writer = std::thread([impl = impl_.get()] {
    core::name_this_thread("mvi-monitor");
    core::schedule_as_batch();
    impl->run();
  });
}

MonitorStore::~MonitorStore() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake_writer.notify_one();
  if (impl_->writer.joinable()) impl_->writer.join();
}

void MonitorStore::record(std::string variable, nlohmann::ordered_json value, double unix_time) noexcept {
  Impl& s = *impl_;
  if (!valid_name(variable) || !std::isfinite(unix_time) || unix_time < kMinTime || unix_time > kMaxTime) {
    s.dropped_invalid.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  try {
    std::lock_guard lock(s.mutex);
    if (s.pending.size() >= s.options.queue_limit) {
      s.dropped_full.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    s.pending.push_back(Impl::Pending{std::move(variable), std::move(value), unix_time});
    ++s.accepted;
    if (s.pending.size() == s.high_water) s.wake_writer.notify_one();
  } catch (...) {  // allocation failure
    s.dropped_failed.fetch_add(1, std::memory_order_relaxed);
  }
}

void MonitorStore::flush() { impl_->wait_committed(kFlushTimeoutS); }

bool MonitorStore::flush_for(double timeout_s) { return impl_->wait_committed(std::max(0.0, timeout_s)); }

std::vector<std::string> MonitorStore::variables() const {
  impl_->wait_committed(kReadWaitS);
  std::lock_guard lock(impl_->read_mutex);
  sqlite3* r = impl_->read_db.get();
  std::vector<std::string> names;
  try {
    ReadTransaction txn(r);
    Use s(impl_->all_variables);
    int rc;
    while ((rc = sqlite3_step(*s)) == SQLITE_ROW) names.push_back(column_text(*s, 1));
    if (rc != SQLITE_DONE) fail(r, "cannot list variables");
  } catch (const SqliteError& e) {
    throw core::Error::internal("monitoring database '" + impl_->options.path + "': " + e.what());
  }
  return names;  // ORDER BY name: byte order, the same as std::sort on std::string
}

json MonitorStore::query(const std::vector<std::string>& variables, std::optional<double> start,
                         std::optional<double> end) const {
  return impl_->query(variables, start, end);
}

std::string MonitorStore::csv_zip(const std::vector<std::string>& variables, std::optional<double> start,
                                  std::optional<double> end) const {
  json data = impl_->query(variables, start, end);
  ZipWriter zip(std::time(nullptr));
  std::set<std::string> used;  // lower-cased, so extracting on a case-insensitive file system loses nothing
  for (const auto& [name, series] : data.items()) {
    std::string stem = csv_file_stem(name);
    std::string file = stem + ".csv";
    for (int k = 2; !used.insert(ascii_lower(file)).second; ++k) file = stem + "~" + std::to_string(k) + ".csv";

    std::string csv = "timestamp,value\r\n";
    const json& times = series["timestamp"];
    const json& values = series["value"];
    for (std::size_t i = 0; i < times.size(); ++i) {
      csv_field(csv, times[i].get_ref<const std::string&>());
      csv += ',';
      const json& v = values[i];
      if (v.is_string()) csv_field(csv, v.get_ref<const std::string&>());
      else csv_field(csv, dump(v));
      csv += "\r\n";
    }
    try {
      zip.add(file, csv);
    } catch (const std::length_error& e) {
      throw core::Error::internal(std::string("monitoring CSV export too large: ") + e.what());
    }
  }
  return zip.finish();
}

std::string MonitorStore::backup() const {
  namespace fs = std::filesystem;
  impl_->wait_committed(kReadWaitS);
  std::error_code ec;
  fs::path folder = fs::temp_directory_path(ec);
  if (ec) folder = "/tmp";
  std::string name = (folder / "mvi-monitor-backup-XXXXXX.db").string();
  int fd = mkstemps(name.data(), 3);
  if (fd < 0) throw core::Error::internal("monitoring backup: cannot create a temporary file in " + folder.string());
  ::close(fd);
  struct Remove {
    std::string path;
    ~Remove() {
      std::error_code ignored;
      for (const char* suffix : {"", "-journal", "-wal", "-shm"}) fs::remove(path + suffix, ignored);
    }
  } remove{name};

  try {
    Db copy = open_db(name, SQLITE_OPEN_READWRITE);
    exec(copy.get(), "PRAGMA synchronous=OFF");  // a throwaway file: no fsync
    {
      std::lock_guard lock(impl_->read_mutex);
      sqlite3_backup* b = sqlite3_backup_init(copy.get(), "main", impl_->read_db.get(), "main");
      if (!b) fail(copy.get(), "cannot start the backup");
      int rc = sqlite3_backup_step(b, -1);  // everything in one step: one read transaction, a consistent copy
      sqlite3_backup_finish(b);
      if (rc != SQLITE_DONE) fail(copy.get(), "backup failed");
    }
    exec(copy.get(), "PRAGMA journal_mode=DELETE");  // a single self-contained file
    copy.reset();
  } catch (const SqliteError& e) {
    throw core::Error::internal("monitoring backup of '" + impl_->options.path + "': " + e.what());
  }
  std::ifstream in(name, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) throw core::Error::internal("monitoring backup: cannot read " + name);
  return bytes;
}

std::uint64_t MonitorStore::dropped() const {
  return impl_->dropped_full.load(std::memory_order_relaxed) + impl_->dropped_invalid.load(std::memory_order_relaxed) +
         impl_->dropped_failed.load(std::memory_order_relaxed);
}

const std::string& MonitorStore::path() const { return impl_->options.path; }

}  // namespace mvi::monitor
