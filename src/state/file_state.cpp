// The state file: three tables (state_meta, parameters, notifications), application_id 'MVIS' so a file
// of something else is refused. Parameter commits switch the connection to synchronous=FULL for their
// transaction; notifications keep NORMAL (in WAL mode: no fsync per commit), so a service that notifies
// often does not wait for the disk.
#include "mvi/state/file_state.hpp"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "mvi/core/error.hpp"
#include "mvi/core/json.hpp"
#include "mvi/core/time.hpp"
#include "mvi/sqlite/sqlite.hpp"

namespace mvi::state {
namespace {

using json = nlohmann::ordered_json;
using namespace sqlite;

constexpr int kApplicationId = 0x4d564953;  // "MVIS"
constexpr int kSchemaVersion = 1;
constexpr int kBusyTimeoutMs = 5000;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS state_meta (
  key TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS parameters (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  generation INTEGER NOT NULL,
  updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS notifications (
  id INTEGER PRIMARY KEY,
  msg TEXT NOT NULL,
  severity INTEGER NOT NULL,
  timestamp REAL NOT NULL,
  counter INTEGER NOT NULL,
  detail TEXT NOT NULL
);
)sql";

int int_pragma(sqlite3* db, const char* sql) {
  Stmt s = prepare(db, sql);
  return sqlite3_step(s.get()) == SQLITE_ROW ? sqlite3_column_int(s.get(), 0) : 0;
}

void bind_text(sqlite3_stmt* s, int i, const std::string& text) {
  sqlite3_bind_text(s, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
}

void step_done(sqlite3* db, sqlite3_stmt* s, const char* what) {
  if (sqlite3_step(s) != SQLITE_DONE) fail(db, what);
}

// A write transaction that rolls back unless committed.
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) { exec(db_, "BEGIN IMMEDIATE"); }
  ~Transaction() {
    if (!done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  void commit() {
    exec(db_, "COMMIT");
    done_ = true;
  }

 private:
  sqlite3* db_;
  bool done_ = false;
};

}  // namespace

struct FileState::Db {
  sqlite::Db db;
  Stmt upsert_parameter;
  Stmt raise_generation;
  Stmt upsert_notification;
  Stmt delete_notification;
};

FileState::FileState(std::string path, core::Fd lock) : path_(std::move(path)), lock_(std::move(lock)) {}

FileState::~FileState() = default;  // Db is complete here

std::unique_ptr<FileState> FileState::open(const std::string& path) {
  namespace fs = std::filesystem;
  const auto refuse = [&path](const std::string& why) {
    return core::Error::usage("--state file:" + path + ": " + why);
  };
  if (path.empty()) throw core::Error::usage("--state file:PATH: no path given");
  std::error_code ec;
  const fs::path folder = fs::path(path).parent_path();
  if (!folder.empty()) {
    fs::create_directories(folder, ec);
    if (ec) throw refuse("cannot create its folder '" + folder.string() + "': " + ec.message());
  }
  if (fs::is_directory(path, ec)) throw refuse("a folder, not a file");
  core::Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd) throw refuse(std::string("cannot open it for writing: ") + std::strerror(errno));
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK)
      throw refuse("in use by another mvi-runtime (a state file serves one daemon: give each its own, or share "
                   "state between replicas with redis://)");
    throw refuse(std::string("cannot lock it: ") + std::strerror(errno));
  }
  std::unique_ptr<FileState> state(new FileState(path, std::move(fd)));
  auto db = std::make_unique<Db>();
  try {
    db->db = open_db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, kBusyTimeoutMs);
    sqlite3* d = db->db.get();
    if (sqlite3_db_readonly(d, "main") == 1) throw SqliteError("the file is read-only");
    {
      Stmt mode = prepare(d, "PRAGMA journal_mode=WAL");
      if (sqlite3_step(mode.get()) != SQLITE_ROW) fail(d, "cannot switch to WAL mode");
    }
    exec(d, "PRAGMA synchronous=NORMAL");
    Transaction t(d);
    const int app = int_pragma(d, "PRAGMA application_id");
    const int tables = int_pragma(d, "SELECT count(*) FROM sqlite_master");
    if (app != kApplicationId && (app != 0 || tables != 0))
      throw SqliteError("not an mvi-runtime state file (it holds other data)");
    const int version = int_pragma(d, "PRAGMA user_version");
    if (version > kSchemaVersion)
      throw SqliteError("written by a newer mvi-runtime (schema version " + std::to_string(version) + ")");
    exec(d, kSchema);
    exec(d, ("PRAGMA application_id=" + std::to_string(kApplicationId)).c_str());
    exec(d, ("PRAGMA user_version=" + std::to_string(kSchemaVersion)).c_str());
    t.commit();
    db->upsert_parameter = prepare(d,
                                   "INSERT INTO parameters(name, value, generation, updated) VALUES(?1, ?2, ?3, ?4) "
                                   "ON CONFLICT(name) DO UPDATE SET value = excluded.value, "
                                   "generation = excluded.generation, updated = excluded.updated");
    db->raise_generation = prepare(d,
                                   "INSERT INTO state_meta(key, value) VALUES('generation', ?1) "
                                   "ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)");
    db->upsert_notification = prepare(d,
                                      "INSERT INTO notifications(id, msg, severity, timestamp, counter, detail) "
                                      "VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(id) DO UPDATE SET "
                                      "timestamp = excluded.timestamp, counter = excluded.counter, "
                                      "detail = excluded.detail");
    db->delete_notification = prepare(d, "DELETE FROM notifications WHERE id = ?1");
  } catch (const SqliteError& e) {
    throw refuse(e.what());
  }
  state->db_ = std::move(db);
  return state;
}

std::map<std::string, StoredParameter> FileState::parameters() {
  std::lock_guard lock(mutex_);
  sqlite3* d = db_->db.get();
  std::map<std::string, StoredParameter> out;
  Stmt s = prepare(d, "SELECT name, value, generation FROM parameters");
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    auto parsed = parse_json(column_text(s.get(), 1), 512);
    if (!parsed.value) continue;  // not ours: written by hand; the code's value is used
    out[column_text(s.get(), 0)] = {std::move(*parsed.value), static_cast<std::uint64_t>(sqlite3_column_int64(s.get(), 2))};
  }
  if (rc != SQLITE_DONE) fail(d, "cannot read the parameters");
  return out;
}

std::uint64_t FileState::generation() {
  std::lock_guard lock(mutex_);
  Stmt s = prepare(db_->db.get(), "SELECT value FROM state_meta WHERE key = 'generation'");
  return sqlite3_step(s.get()) == SQLITE_ROW ? static_cast<std::uint64_t>(sqlite3_column_int64(s.get(), 0)) : 0;
}

std::uint64_t FileState::store_parameter(const std::string& name, const json& value, std::uint64_t generation) {
  std::lock_guard lock(mutex_);
  sqlite3* d = db_->db.get();
  try {
    exec(d, "PRAGMA synchronous=FULL");
    struct Normal {
      sqlite3* d;
      ~Normal() { sqlite3_exec(d, "PRAGMA synchronous=NORMAL", nullptr, nullptr, nullptr); }
    } normal{d};
    Transaction t(d);
    {
      Use s(db_->upsert_parameter);
      bind_text(*s, 1, name);
      bind_text(*s, 2, dump_json(value));
      sqlite3_bind_int64(*s, 3, static_cast<sqlite3_int64>(generation));
      sqlite3_bind_double(*s, 4, core::unix_now());
      step_done(d, *s, "cannot store the parameter");
    }
    {
      Use s(db_->raise_generation);
      sqlite3_bind_int64(*s, 1, static_cast<sqlite3_int64>(generation));
      step_done(d, *s, "cannot store the generation");
    }
    t.commit();
  } catch (const SqliteError& e) {
    throw StateUnavailable("the state file " + path_ + " could not store it: " + e.what());
  }
  writes_.fetch_add(1);
  return generation;
}

std::vector<Notification> FileState::notifications() {
  std::lock_guard lock(mutex_);
  sqlite3* d = db_->db.get();
  std::vector<Notification> out;
  Stmt s = prepare(d, "SELECT id, msg, severity, timestamp, counter, detail FROM notifications ORDER BY timestamp, id");
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    auto detail = parse_json(column_text(s.get(), 5), 16);
    Notification n = detail.value && detail.value->is_object() ? notification_from_stored(*detail.value) : Notification{};
    n.id = static_cast<std::uint64_t>(sqlite3_column_int64(s.get(), 0));
    n.input.msg = column_text(s.get(), 1);
    n.input.severity = sqlite3_column_int(s.get(), 2);
    n.timestamp = sqlite3_column_double(s.get(), 3);
    n.counter = static_cast<std::uint64_t>(sqlite3_column_int64(s.get(), 4));
    out.push_back(std::move(n));
  }
  if (rc != SQLITE_DONE) fail(d, "cannot read the notifications");
  return out;
}

void FileState::store_notification(const Notification& n, const std::vector<std::uint64_t>& dropped) {
  std::lock_guard lock(mutex_);
  sqlite3* d = db_->db.get();
  Transaction t(d);
  {
    Use s(db_->upsert_notification);
    sqlite3_bind_int64(*s, 1, static_cast<sqlite3_int64>(n.id));
    bind_text(*s, 2, n.input.msg);
    sqlite3_bind_int(*s, 3, n.input.severity);
    sqlite3_bind_double(*s, 4, n.timestamp);
    sqlite3_bind_int64(*s, 5, static_cast<sqlite3_int64>(n.counter));
    bind_text(*s, 6, dump_json(stored_notification(n)));
    step_done(d, *s, "cannot store the notification");
  }
  for (auto id : dropped) {
    Use s(db_->delete_notification);
    sqlite3_bind_int64(*s, 1, static_cast<sqlite3_int64>(id));
    step_done(d, *s, "cannot drop a notification");
  }
  t.commit();
}

void FileState::clear_notifications() {
  std::lock_guard lock(mutex_);
  exec(db_->db.get(), "DELETE FROM notifications");
}

}  // namespace mvi::state
