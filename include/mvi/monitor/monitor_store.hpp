// Monitoring store (SPEC §7): service.store(), monitor=True entrypoints and parameters, kept in one SQLite file
// (WAL mode) that survives restarts. Thread-safe: record() only pushes into a bounded queue under a mutex; one
// writer thread commits the queue in batches (one transaction each) and then applies the retention limit;
// reads use their own connection. One MonitorStore per database file per process (the writer keeps row counts).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace mvi::monitor {

// How much each variable keeps; both limits apply when both are set, neither = unlimited.
struct Retention {
  std::optional<std::size_t> max_rows;  // newest rows kept per variable (by timestamp)
  std::optional<double> max_age_s;      // rows older than now - max_age_s are deleted
};

// MVI_MONITOR_LIMIT and Daeploy's DAEPLOY_SERVICE_DB_TABLE_LIMIT: a positive number and a unit, optionally
// separated by spaces, case-insensitive: "10000rows", "10000 rows", "90days", "12h", "30m", "45s", "2w".
// Units: row(s); s, sec(s), second(s); m, min(s), minute(s); h, hr(s), hour(s); d, day(s); w, week(s).
// Rows take a whole number; ages may have a fraction ("1.5h"). "unlimited" (or "none") = Retention{}.
// nullopt if invalid (empty, zero, negative, unknown unit, junk).
std::optional<Retention> parse_retention(std::string_view text);

struct MonitorOptions {
  std::string path;  // SQLite file; created with its folder if missing
  // Default: 10000 rows per variable. (Daeploy's own default is "90days"; a row cap also bounds the file
  // size when a service stores in a tight loop.)
  Retention retention{10000, std::nullopt};
  double flush_interval_s = 0.2;     // the writer commits a batch at least this often
  std::size_t queue_limit = 100000;  // records waiting for the writer; beyond: dropped and counted
};

// Variable names a query asked for that were never stored (HTTP 412, like Daeploy).
class UnknownVariables : public std::runtime_error {
 public:
  explicit UnknownVariables(std::vector<std::string> unknown);
  std::vector<std::string> names;
};

// How reads render a sample. `typed`: ISO 8601 timestamps with "+00:00" and values as stored (JSON types).
// `daeploy`: what Daeploy's service answered, so its clients keep working — timestamps as Python's
// str(datetime) of naive UTC ("2024-05-01 12:00:00.250000", no fraction at a whole second), numbers and bools
// as floats, strings as they are, anything else (null, arrays, objects) as its JSON text.
enum class Style { typed, daeploy };

class MonitorStore {
 public:
  static constexpr std::size_t kMaxVariableBytes = 200;

  // Opens (WAL mode) or creates the file and its folder, creates the schema and starts the writer thread.
  // Throws core::Error (ErrorCode::usage: a configuration problem, exit code 2) naming the path when the file
  // cannot be created, opened or written, or is not a database.
  explicit MonitorStore(MonitorOptions options);
  // Commits what is queued (record() must not race with destruction), then stops the writer thread.
  ~MonitorStore();
  MonitorStore(const MonitorStore&) = delete;
  MonitorStore& operator=(const MonitorStore&) = delete;

  // Queues one value; never blocks beyond a mutex push, never throws. Numbers and strings are stored as
  // SQLite numbers and text; bools, null, arrays and objects as JSON text, returned as the same JSON value.
  // Dropped and counted: a full queue; a name that is empty, longer than kMaxVariableBytes, not UTF-8 or
  // holds a NUL byte; a non-finite or out-of-range time (before year 1 or after 9999). NaN values read back
  // as null. Drops are logged (logger "mvi.monitor") at most every 10 s.
  void record(std::string variable, nlohmann::ordered_json value, double unix_time) noexcept;

  // Waits (bounded, 5 s) until everything queued before the call is committed.
  void flush();
  // The same with its own bound; false on timeout.
  bool flush_for(double timeout_s);

  // The reads below first wait (bounded, 1 s) for what was queued before the call, so a value stored just
  // before a GET is in its answer. Each read is one SQLite read transaction: a consistent snapshot.

  // Every variable ever stored (sorted), including those whose rows retention has removed.
  std::vector<std::string> variables() const;

  // {var: {"timestamp": [ISO 8601 UTC, oldest first], "value": [...]}}. Timestamps look like
  // "2024-05-01T12:00:00.250000+00:00" (microseconds, what Python's datetime.fromisoformat reads).
  // Empty `variables` = all (an empty object when nothing was stored); duplicates are answered once.
  // start/end: inclusive Unix seconds (non-finite = no bound). Throws UnknownVariables naming every unknown one.
  nlohmann::ordered_json query(const std::vector<std::string>& variables, std::optional<double> start,
                               std::optional<double> end, Style style = Style::typed) const;

  // Zip bytes (stored, uncompressed): one "<var>.csv" per variable (characters unsafe in a file name — '/',
  // '\\', ':', control characters — become '_'; a clash gets "~2", "~3"...), CRLF lines, header
  // "timestamp,value", RFC 4180 quoting; strings as they are, other values as JSON text. Nothing stored
  // (and no variables asked for): a valid empty zip. Throws UnknownVariables like query().
  std::string csv_zip(const std::vector<std::string>& variables, std::optional<double> start,
                      std::optional<double> end, Style style = Style::typed) const;

  // Bytes of a consistent copy of the database made with sqlite3_backup_* into a temporary file (in
  // $TMPDIR or /tmp; deleted after reading), switched to rollback-journal mode so it opens on its own.
  // Throws core::Error (internal) when the copy fails.
  std::string backup() const;
  // Bytes of a database with the schema and no samples: the download when nothing was monitored yet (the
  // service's own file is never created just to be read).
  static std::string empty_backup();

  std::uint64_t dropped() const;  // records never committed: queue full, invalid input, failed transactions
  const std::string& path() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mvi::monitor
