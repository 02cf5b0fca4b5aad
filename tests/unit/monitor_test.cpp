// Tests for mvi::monitor::MonitorStore: round trips of every JSON kind, time filters, unknown variables,
// retention by rows and by age, reopening, concurrent writers, queue overflow, the CSV zip (read back by
// /usr/bin/python3's zipfile and csv), online backups, bad paths, and parse_retention.
// Each test works in its own temporary folder; every wait is bounded.
#include "mvi/monitor/monitor_store.hpp"

#include <gtest/gtest.h>

#include <sqlite3.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "mvi/core/error.hpp"

namespace mvi::monitor {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

double now() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }

class MonitorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "mvi-monitor-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  MonitorOptions options(Retention retention = {}) const {
    MonitorOptions o;
    o.path = (dir_ / "sub" / "folder" / "monitor.db").string();  // the folders do not exist yet
    o.retention = retention;
    o.flush_interval_s = 0.05;
    return o;
  }

  std::string write_file(const std::string& name, const std::string& bytes) const {
    std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  fs::path dir_;
};

// Runs /usr/bin/python3 on the zip: checks every CRC and returns {file: [[cell, ...], ...]} read by csv.reader.
json read_zip_with_python(const std::string& zip_path) {
  const char* script =
      "import csv, io, json, sys, zipfile\n"
      "z = zipfile.ZipFile(sys.argv[1])\n"
      "assert z.testzip() is None\n"
      "out = {}\n"
      "for n in z.namelist():\n"
      "    with z.open(n) as f:\n"
      "        out[n] = list(csv.reader(io.TextIOWrapper(f, encoding=\"utf-8\", newline=\"\")))\n"
      "print(json.dumps(out))\n";
  std::string command = "/usr/bin/python3 -c '" + std::string(script) + "' '" + zip_path + "'";
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return nullptr;
  std::string output;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) output.append(buf, n);
  int status = pclose(pipe);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return nullptr;
  return json::parse(output, nullptr, false);
}

std::size_t rows_of(const json& result, const std::string& variable) { return result.at(variable).at("value").size(); }

TEST_F(MonitorTest, RoundTripsEveryKindOfValue) {
  MonitorStore store(options());
  const double t0 = 1700000000.25;
  const std::vector<json> values = {
      json(42),
      json(-7),
      json(3.5),
      json(18446744073709551615ull),  // beyond int64: kept exact as JSON text
      json("hello, \"world\"\nnext line — ünïcödé"),
      json(""),
      json(true),
      json(false),
      json(nullptr),
      json::parse(R"({"a": [1, 2.5, {"b": null}], "c": "d", "e": true})"),
      json::array(),
      json::object(),
      json::parse(R"([1, "two", [3]])"),
  };
  for (std::size_t i = 0; i < values.size(); ++i) store.record("v", values[i], t0 + static_cast<double>(i));
  store.record("n", 1.0, t0);
  store.flush();

  json result = store.query({"v"}, std::nullopt, std::nullopt);
  ASSERT_EQ(result.size(), 1u);
  const json& v = result.at("v");
  ASSERT_EQ(v.at("value").size(), values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(v["value"][i], values[i]) << "index " << i;
    EXPECT_EQ(v["value"][i].type(), values[i].type()) << "index " << i;
  }
  EXPECT_EQ(v["timestamp"][0], "2023-11-14T22:13:20.250000+00:00");
  EXPECT_EQ(v["timestamp"][1], "2023-11-14T22:13:21.250000+00:00");
  EXPECT_TRUE(v["value"][0].is_number_integer());
  EXPECT_TRUE(v["value"][2].is_number_float());

  EXPECT_EQ(store.variables(), (std::vector<std::string>{"n", "v"}));
  json all = store.query({}, std::nullopt, std::nullopt);
  EXPECT_EQ(all.size(), 2u);
  EXPECT_EQ(all["n"]["value"][0], 1.0);
  EXPECT_EQ(store.dropped(), 0u);
}

TEST_F(MonitorTest, TheDaeployStyleAnswersAsDaeployDid) {
  MonitorStore store(options());
  const double t0 = 1700000000.25;
  const std::vector<json> values = {json(42), json(3.5), json(true), json("text"), json(nullptr),
                                    json::parse(R"({"a": [1, null]})")};
  for (std::size_t i = 0; i < values.size(); ++i) store.record("v", values[i], t0 + static_cast<double>(i));
  store.record("whole", 1, 1700000000.0);
  store.flush();
  json v = store.query({"v"}, std::nullopt, std::nullopt, Style::daeploy)["v"];
  EXPECT_EQ(v["value"], json::parse(R"([42.0, 3.5, 1.0, "text", "null", "{\"a\":[1,null]}"])"));
  EXPECT_TRUE(v["value"][0].is_number_float());
  EXPECT_EQ(v["timestamp"][0], "2023-11-14 22:13:20.250000");  // Python's str(datetime)
  // ... which leaves the fraction out at a whole second
  EXPECT_EQ(store.query({"whole"}, std::nullopt, std::nullopt, Style::daeploy)["whole"]["timestamp"][0],
            "2023-11-14 22:13:20");
  json csv = read_zip_with_python(write_file("d.zip", store.csv_zip({"v"}, std::nullopt, std::nullopt, Style::daeploy)));
  ASSERT_TRUE(csv.is_object());
  EXPECT_EQ(csv["v.csv"][1], json::parse(R"(["2023-11-14 22:13:20.250000", "42.0"])"));
}

TEST_F(MonitorTest, AnEmptyBackupIsADatabaseWithTheSchemaAndNoSamples) {
  std::string bytes = MonitorStore::empty_backup();
  EXPECT_EQ(bytes.substr(0, 16), std::string("SQLite format 3\0", 16));
  std::string path = write_file("empty.db", bytes);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT count(*) FROM monitor", -1, &s, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int64(s, 0), 0);
  sqlite3_finalize(s);
  sqlite3_close(db);
}

TEST_F(MonitorTest, NaNReadsBackAsNullAndInfinityStaysANumber) {
  MonitorStore store(options());
  store.record("x", std::nan(""), 1.0);
  store.record("x", INFINITY, 2.0);
  json r = store.query({"x"}, std::nullopt, std::nullopt);
  EXPECT_TRUE(r["x"]["value"][0].is_null());
  EXPECT_TRUE(r["x"]["value"][1].is_number_float());
  EXPECT_TRUE(std::isinf(r["x"]["value"][1].get<double>()));
}

TEST_F(MonitorTest, OldestFirstWhateverTheRecordingOrder) {
  MonitorStore store(options());
  store.record("x", 3, 30.0);
  store.record("x", 1, 10.0);
  store.record("x", 2, 20.0);
  store.record("x", 22, 20.0);  // equal times keep their recording order
  json r = store.query({"x"}, std::nullopt, std::nullopt);
  EXPECT_EQ(r["x"]["value"], json::parse("[1, 2, 22, 3]"));
  EXPECT_EQ(r["x"]["timestamp"][0], "1970-01-01T00:00:10.000000+00:00");
}

TEST_F(MonitorTest, StartAndEndAreInclusive) {
  MonitorStore store(options());
  for (int i = 0; i < 10; ++i) store.record("x", i, 1000.0 + i);
  store.record("y", "only", 1003.0);
  store.flush();
  EXPECT_EQ(store.query({"x"}, 1003.0, 1006.0)["x"]["value"], json::parse("[3, 4, 5, 6]"));
  EXPECT_EQ(store.query({"x"}, 1008.0, std::nullopt)["x"]["value"], json::parse("[8, 9]"));
  EXPECT_EQ(store.query({"x"}, std::nullopt, 1001.0)["x"]["value"], json::parse("[0, 1]"));
  EXPECT_EQ(store.query({"x"}, 2000.0, std::nullopt)["x"]["value"], json::array());
  EXPECT_EQ(store.query({"x"}, 1006.0, 1003.0)["x"]["value"], json::array());
  json both = store.query({"x", "y", "x"}, 1003.0, 1003.0);  // duplicates answered once
  EXPECT_EQ(both.size(), 2u);
  EXPECT_EQ(both["x"]["value"], json::parse("[3]"));
  EXPECT_EQ(both["y"]["value"], json::parse(R"(["only"])"));
  EXPECT_EQ(store.query({"x"}, NAN, INFINITY)["x"]["value"].size(), 10u);  // non-finite = no bound
}

TEST_F(MonitorTest, UnknownVariablesAreNamed) {
  MonitorStore store(options());
  store.record("known", 1, 1.0);
  try {
    store.query({"known", "nope", "also-nope"}, std::nullopt, std::nullopt);
    FAIL() << "expected UnknownVariables";
  } catch (const UnknownVariables& e) {
    EXPECT_EQ(e.names, (std::vector<std::string>{"nope", "also-nope"}));
    EXPECT_NE(std::string(e.what()).find("nope, also-nope"), std::string::npos) << e.what();
  }
  EXPECT_THROW(store.csv_zip({"nope"}, std::nullopt, std::nullopt), UnknownVariables);
}

TEST_F(MonitorTest, EmptyStoreAnswersEmpty) {
  MonitorStore store(options());
  EXPECT_TRUE(store.variables().empty());
  EXPECT_EQ(store.query({}, std::nullopt, std::nullopt), json::object());
  std::string zip = store.csv_zip({}, std::nullopt, std::nullopt);
  EXPECT_EQ(zip.size(), 22u);  // just the end-of-central-directory record
  if (access("/usr/bin/python3", X_OK) == 0) {
    EXPECT_EQ(read_zip_with_python(write_file("empty.zip", zip)), json::object());
  }
}

TEST_F(MonitorTest, RetentionByRowsKeepsTheNewestPerVariable) {
  MonitorStore store(options(Retention{5, std::nullopt}));
  for (int i = 0; i < 12; ++i) store.record("a", i, 100.0 + i);
  store.record("a", -1, 50.0);  // older than everything: the first to go
  for (int i = 0; i < 3; ++i) store.record("b", i, 100.0 + i);
  store.flush();
  EXPECT_EQ(store.query({"a"}, std::nullopt, std::nullopt)["a"]["value"], json::parse("[7, 8, 9, 10, 11]"));
  EXPECT_EQ(rows_of(store.query({"b"}, std::nullopt, std::nullopt), "b"), 3u);

  // Across batches as well.
  for (int i = 12; i < 20; ++i) {
    store.record("a", i, 100.0 + i);
    store.flush();
  }
  EXPECT_EQ(store.query({"a"}, std::nullopt, std::nullopt)["a"]["value"], json::parse("[15, 16, 17, 18, 19]"));
}

TEST_F(MonitorTest, RetentionByAgeDeletesOldRowsButKeepsTheVariable) {
  MonitorStore store(options(Retention{std::nullopt, 3600.0}));
  const double t = now();
  store.record("a", "ancient", t - 86400);
  store.record("a", "old", t - 7200);
  store.record("a", "fresh", t - 10);
  store.record("gone", 1, t - 7200);
  store.flush();
  EXPECT_EQ(store.query({"a"}, std::nullopt, std::nullopt)["a"]["value"], json::parse(R"(["fresh"])"));
  EXPECT_EQ(store.query({"gone"}, std::nullopt, std::nullopt)["gone"]["value"], json::array());
  EXPECT_EQ(store.variables(), (std::vector<std::string>{"a", "gone"}));
}

TEST_F(MonitorTest, BothLimitsApply) {
  MonitorStore store(options(Retention{2, 3600.0}));
  const double t = now();
  store.record("a", 1, t - 7200);
  store.record("a", 2, t - 30);
  store.record("a", 3, t - 20);
  store.record("a", 4, t - 10);
  EXPECT_EQ(store.query({"a"}, std::nullopt, std::nullopt)["a"]["value"], json::parse("[3, 4]"));
}

TEST_F(MonitorTest, SurvivesReopen) {
  MonitorOptions o = options(Retention{3, std::nullopt});
  {
    MonitorStore store(o);
    store.record("x", 1, 1.0);
    store.record("x", json::parse(R"({"k": [1]})"), 2.0);
    o.flush_interval_s = 3600;  // the destructor must write what is still queued
  }
  {
    MonitorStore store(o);
    store.record("y", "queued at exit", 3.0);
  }  // destroyed without flush()
  MonitorStore store(o);
  EXPECT_EQ(store.variables(), (std::vector<std::string>{"x", "y"}));
  json r = store.query({}, std::nullopt, std::nullopt);
  EXPECT_EQ(r["x"]["value"], json::parse(R"([1, {"k": [1]}])"));
  EXPECT_EQ(r["y"]["value"], json::parse(R"(["queued at exit"])"));
  // Row counts are reloaded: retention still holds after the restart.
  store.record("x", 3, 3.0);
  store.record("x", 4, 4.0);
  store.flush();
  EXPECT_EQ(store.query({"x"}, std::nullopt, std::nullopt)["x"]["value"], json::parse(R"([{"k": [1]}, 3, 4])"));
}

TEST_F(MonitorTest, ConcurrentRecordsAreAllStored) {
  MonitorStore store(options());
  constexpr int kThreads = 4;
  constexpr int kPerThread = 1000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&store, t] {
      for (int i = 0; i < kPerThread; ++i) {
        store.record("shared", i, 1000.0 + i);
        store.record("t" + std::to_string(t), i, 1000.0 + i);
      }
    });
  }
  for (auto& th : threads) th.join();
  store.flush();
  json r = store.query({}, std::nullopt, std::nullopt);
  EXPECT_EQ(rows_of(r, "shared"), static_cast<std::size_t>(kThreads * kPerThread));
  for (int t = 0; t < kThreads; ++t) {
    const json& values = r["t" + std::to_string(t)]["value"];
    ASSERT_EQ(values.size(), static_cast<std::size_t>(kPerThread));
    for (int i = 0; i < kPerThread; ++i) EXPECT_EQ(values[static_cast<std::size_t>(i)], i);
  }
  EXPECT_EQ(store.dropped(), 0u);
}

TEST_F(MonitorTest, QueueOverflowDropsAndCountsWithoutBlocking) {
  MonitorOptions o = options();
  o.queue_limit = 10;
  o.flush_interval_s = 3600;
  MonitorStore store(o);
  constexpr int kRecords = 200000;
  auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < kRecords; ++i) store.record("x", i, static_cast<double>(i));
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_LT(took, std::chrono::seconds(5));
  store.flush();
  const std::uint64_t dropped = store.dropped();
  EXPECT_GT(dropped, 0u);
  json r = store.query({"x"}, std::nullopt, std::nullopt);
  EXPECT_EQ(rows_of(r, "x") + dropped, static_cast<std::size_t>(kRecords));
}

TEST_F(MonitorTest, InvalidInputIsDroppedAndCounted) {
  MonitorStore store(options());
  store.record("", 1, 1.0);
  store.record(std::string(MonitorStore::kMaxVariableBytes + 1, 'x'), 1, 1.0);
  store.record(std::string("bad\xff utf8"), 1, 1.0);
  store.record(std::string("nul\0byte", 8), 1, 1.0);
  store.record("time", 1, NAN);
  store.record("time", 1, 1e300);
  EXPECT_EQ(store.dropped(), 6u);
  const std::string longest(MonitorStore::kMaxVariableBytes, 'y');
  store.record(longest, 1, 1.0);
  store.record("ünïcödé ✓", 2, 1.0);
  store.flush();
  EXPECT_EQ(store.variables(), (std::vector<std::string>{longest, "ünïcödé ✓"}));
  EXPECT_EQ(store.dropped(), 6u);

  json deep = json::array();
  json* cur = &deep;
  for (int i = 0; i < 1000; ++i) {
    cur->push_back(json::array());
    cur = &(*cur)[0];
  }
  store.record("deep", std::move(deep), 1.0);
  store.flush();
  EXPECT_EQ(store.dropped(), 7u);
}

TEST_F(MonitorTest, CsvZipIsReadableByPythonWithRfc4180Quoting) {
  if (access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/python3";
  MonitorStore store(options());
  store.record("text", "plain", 1.0);
  store.record("text", "a,b", 2.0);
  store.record("text", "say \"hi\"", 3.0);
  store.record("text", "two\nlines\r\nhere", 4.0);
  store.record("nums", 1, 1.0);
  store.record("nums", 2.5, 2.0);
  store.record("json", json::parse(R"({"a": [1, "x,y"]})"), 1.0);
  store.record("json", true, 2.0);
  store.record("json", nullptr, 3.0);
  store.record("a/b", 1, 1.0);
  store.record("a_b", 2, 1.0);
  store.record("Ünï", 3, 1.0);

  std::string zip = store.csv_zip({}, std::nullopt, std::nullopt);
  json files = read_zip_with_python(write_file("out.zip", zip));
  ASSERT_TRUE(files.is_object()) << "python could not read the zip";
  EXPECT_EQ(files.size(), 6u);
  EXPECT_EQ(files["text.csv"], json::parse(R"([["timestamp", "value"],
      ["1970-01-01T00:00:01.000000+00:00", "plain"],
      ["1970-01-01T00:00:02.000000+00:00", "a,b"],
      ["1970-01-01T00:00:03.000000+00:00", "say \"hi\""],
      ["1970-01-01T00:00:04.000000+00:00", "two\nlines\r\nhere"]])"));
  EXPECT_EQ(files["nums.csv"][1][1], "1");
  EXPECT_EQ(files["nums.csv"][2][1], "2.5");
  EXPECT_EQ(json::parse(files["json.csv"][1][1].get<std::string>()), json::parse(R"({"a": [1, "x,y"]})"));
  EXPECT_EQ(files["json.csv"][2][1], "true");
  EXPECT_EQ(files["json.csv"][3][1], "null");
  EXPECT_TRUE(files.contains("a_b.csv"));
  EXPECT_TRUE(files.contains("a_b~2.csv"));  // "a/b" made safe, then told apart
  EXPECT_TRUE(files.contains("Ünï.csv"));

  // A selection and a time window.
  json some = read_zip_with_python(write_file("some.zip", store.csv_zip({"text"}, 2.0, 3.0)));
  ASSERT_TRUE(some.is_object());
  EXPECT_EQ(some.size(), 1u);
  EXPECT_EQ(some["text.csv"].size(), 3u);

  // The raw bytes use CRLF line ends.
  EXPECT_NE(zip.find("timestamp,value\r\n"), std::string::npos);
  EXPECT_NE(zip.find("\"say \"\"hi\"\"\"\r\n"), std::string::npos);
}

TEST_F(MonitorTest, BackupIsAConsistentStandaloneDatabase) {
  MonitorStore store(options());
  for (int i = 0; i < 500; ++i) store.record("x", i, 1.0 + i);
  store.record("y", "s", 1.0);
  std::string bytes = store.backup();
  ASSERT_GT(bytes.size(), 100u);
  EXPECT_EQ(bytes.substr(0, 16), std::string("SQLite format 3\0", 16));
  EXPECT_EQ(bytes[18], 1);  // rollback journal, not WAL: the copy is one self-contained file
  EXPECT_EQ(bytes[19], 1);

  std::string path = write_file("copy.db", bytes);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  auto count = [db](const char* sql) {
    sqlite3_stmt* s = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &s, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    std::int64_t n = -1;
    if (sqlite3_step(s) == SQLITE_ROW) n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
  };
  EXPECT_EQ(count("SELECT count(*) FROM monitor_samples"), 501);
  EXPECT_EQ(count("SELECT count(*) FROM monitor WHERE variable = 'x'"), 500);
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)), "ok");
  sqlite3_finalize(s);
  sqlite3_close(db);

  // No temporary file is left behind.
  for (const auto& entry : fs::directory_iterator(fs::temp_directory_path()))
    EXPECT_EQ(entry.path().filename().string().rfind("mvi-monitor-backup-", 0), std::string::npos) << entry.path();
}

TEST_F(MonitorTest, BackupWhileWritingStaysConsistent) {
  MonitorOptions o = options(Retention{20000, std::nullopt});
  o.flush_interval_s = 0.001;
  MonitorStore store(o);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      store.record("x", i, 1.0 + i);
      if (i % 100 == 99) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  for (int k = 0; k < 5; ++k) {
    std::string bytes = store.backup();
    std::string path = write_file("copy" + std::to_string(k) + ".db", bytes);
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* s = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
    EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)), "ok");
    sqlite3_finalize(s);
    sqlite3_close(db);
  }
  stop = true;
  writer.join();
}

TEST_F(MonitorTest, BadPathsThrowCoreErrorNamingThePath) {
  auto expect_error = [](const std::string& path) {
    MonitorOptions o;
    o.path = path;
    try {
      MonitorStore store(o);
      ADD_FAILURE() << "expected core::Error for " << path;
    } catch (const core::Error& e) {
      EXPECT_NE(std::string(e.what()).find(path.empty() ? "no path" : path), std::string::npos) << e.what();
    }
  };
  expect_error("");
  expect_error((dir_).string());                                     // a folder
  expect_error(write_file("plain.txt", "x") + "/under-a-file.db");   // its folder cannot be made
  expect_error(write_file("not-a-db.db", std::string(4096, 'x')));  // not a database
  if (geteuid() != 0) {
    fs::create_directories(dir_ / "ro");
    fs::permissions(dir_ / "ro", fs::perms::owner_read | fs::perms::owner_exec);
    expect_error((dir_ / "ro" / "m.db").string());
    fs::permissions(dir_ / "ro", fs::perms::owner_all);
  }
}

TEST(ParseRetention, AcceptsRowsAndAges) {
  auto rows = [](std::string_view t) { return parse_retention(t).value().max_rows.value(); };
  auto age = [](std::string_view t) { return parse_retention(t).value().max_age_s.value(); };
  EXPECT_EQ(rows("10000rows"), 10000u);
  EXPECT_EQ(rows("10000 rows"), 10000u);
  EXPECT_EQ(rows("  5 ROWS "), 5u);
  EXPECT_EQ(rows("1row"), 1u);
  EXPECT_FALSE(parse_retention("10000rows")->max_age_s);
  EXPECT_DOUBLE_EQ(age("90days"), 90 * 86400.0);
  EXPECT_DOUBLE_EQ(age("90Days"), 90 * 86400.0);
  EXPECT_DOUBLE_EQ(age("1d"), 86400.0);
  EXPECT_DOUBLE_EQ(age("12h"), 12 * 3600.0);
  EXPECT_DOUBLE_EQ(age("12 hours"), 12 * 3600.0);
  EXPECT_DOUBLE_EQ(age("30m"), 1800.0);
  EXPECT_DOUBLE_EQ(age("30minutes"), 1800.0);
  EXPECT_DOUBLE_EQ(age("45s"), 45.0);
  EXPECT_DOUBLE_EQ(age("45seconds"), 45.0);
  EXPECT_DOUBLE_EQ(age("2w"), 14 * 86400.0);
  EXPECT_DOUBLE_EQ(age("1.5h"), 5400.0);
  EXPECT_FALSE(parse_retention("90days")->max_rows);
  Retention unlimited = parse_retention("unlimited").value();
  EXPECT_FALSE(unlimited.max_rows);
  EXPECT_FALSE(unlimited.max_age_s);
}

TEST(ParseRetention, RejectsJunk) {
  for (std::string_view bad : {"", " ", "rows", "10", "10 10rows", "-5rows", "0rows", "0days", "1.5rows", "10parsecs",
                               "10 rows extra", "1e3rows", "0x10rows", ".5h", "5.h", "days90",
                               "99999999999999999999999rows"}) {
    EXPECT_FALSE(parse_retention(bad).has_value()) << "'" << bad << "'";
  }
}

TEST(ParseRetention, DefaultIsTenThousandRowsPerVariable) {
  MonitorOptions o;
  EXPECT_EQ(o.retention.max_rows, std::optional<std::size_t>(10000));
  EXPECT_FALSE(o.retention.max_age_s);
}

}  // namespace
}  // namespace mvi::monitor
