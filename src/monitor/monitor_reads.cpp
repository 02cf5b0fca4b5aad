// The monitoring store's read side: queries, the CSV zip and online backups, on the read connection
// (serialised by its own mutex), after waiting (bounded) for what was queued before them.
#include "mvi/monitor/monitor_store.hpp"

#include "monitor_store_impl.hpp"
#include "zip_writer.hpp"

namespace mvi::monitor {
namespace {

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

// Python's str() of a naive UTC datetime, what Daeploy answered: a space for the 'T', and no fraction at a
// whole second.
std::string daeploy_time(double t) {
  std::string s = core::format_iso_utc(t, core::Fraction::micros, "").value_or("");
  if (auto tee = s.find('T'); tee != std::string::npos) s[tee] = ' ';
  if (s.size() > 7 && s.compare(s.size() - 7, 7, ".000000") == 0) s.resize(s.size() - 7);
  return s;
}

// Daeploy kept numbers as floats and everything else that was not a string as JSON text.
json daeploy_value(json v) {
  if (v.is_boolean()) return json(v.get<bool>() ? 1.0 : 0.0);
  if (v.is_number()) return json(v.get<double>());
  if (v.is_string()) return v;
  return json(dump_json(v));
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


}  // namespace

json MonitorStore::Impl::query(const std::vector<std::string>& variables, std::optional<double> start,
                               std::optional<double> end, Style style) {
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
        const double t = sqlite3_column_double(*s, 0);
        if (style == Style::daeploy) {
          timestamps.push_back(daeploy_time(t));
          values.push_back(daeploy_value(read_value(*s, 1, 2)));
        } else {
          timestamps.push_back(iso_utc(t));
          values.push_back(read_value(*s, 1, 2));
        }
      }
      if (rc != SQLITE_DONE) fail(r, "cannot read '" + name + "'");
      out[name] = json{{"timestamp", std::move(timestamps)}, {"value", std::move(values)}};
    }
    return out;
  } catch (const SqliteError& e) {
    throw core::Error::internal("monitoring database '" + options.path + "': " + e.what());
  }
}

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
                         std::optional<double> end, Style style) const {
  return impl_->query(variables, start, end, style);
}

std::string MonitorStore::csv_zip(const std::vector<std::string>& variables, std::optional<double> start,
                                  std::optional<double> end, Style style) const {
  json data = impl_->query(variables, start, end, style);
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
      else csv_field(csv, dump_json(v));
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

namespace {

// A database written into a temporary file (in $TMPDIR or /tmp; deleted after reading) by `fill`, switched to
// rollback-journal mode so the bytes open on their own.
template <class Fill>
std::string temporary_database(const std::string& what, Fill fill) {
  namespace fs = std::filesystem;
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
    fill(copy.get());
    exec(copy.get(), "PRAGMA journal_mode=DELETE");  // a single self-contained file
    copy.reset();
  } catch (const SqliteError& e) {
    throw core::Error::internal("monitoring backup of " + what + ": " + e.what());
  }
  std::ifstream in(name, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) throw core::Error::internal("monitoring backup: cannot read " + name);
  return bytes;
}

}  // namespace

std::string MonitorStore::backup() const {
  impl_->wait_committed(kReadWaitS);
  return temporary_database("'" + impl_->options.path + "'", [this](sqlite3* copy) {
    std::lock_guard lock(impl_->read_mutex);
    sqlite3_backup* b = sqlite3_backup_init(copy, "main", impl_->read_db.get(), "main");
    if (!b) fail(copy, "cannot start the backup");
    int rc = sqlite3_backup_step(b, -1);  // everything in one step: one read transaction, a consistent copy
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) fail(copy, "backup failed");
  });
}

std::string MonitorStore::empty_backup() {
  return temporary_database("an empty database", [](sqlite3* db) {
    exec(db, kSchema);
    exec(db, ("PRAGMA user_version=" + std::to_string(kSchemaVersion)).c_str());
  });
}

}  // namespace mvi::monitor
