// The monitoring store: a bounded queue filled by record() (any thread, one mutex push), one writer thread that
// commits it in batches — one transaction per batch, inserts and retention together. Reads are in
// monitor_reads.cpp. Ordering rule: the writer connection is used only by the writer thread once the
// constructor has started it; the destructor drains the queue before joining it, and the connections close
// after the thread is gone.
#include "mvi/monitor/monitor_store.hpp"

#include "monitor_store_impl.hpp"

namespace mvi::monitor {

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
            text = dump_json(v);  // kept exact as JSON text
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
          text = dump_json(v);
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

std::uint64_t MonitorStore::dropped() const {
  return impl_->dropped_full.load(std::memory_order_relaxed) + impl_->dropped_invalid.load(std::memory_order_relaxed) +
         impl_->dropped_failed.load(std::memory_order_relaxed);
}

const std::string& MonitorStore::path() const { return impl_->options.path; }

}  // namespace mvi::monitor
