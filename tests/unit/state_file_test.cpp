// `--state file:PATH` (SPEC §10): the SQLite state file keeps parameters with their generation and the
// notifications across a reopen; a second daemon on the same file and a file of something else are
// refused; the stores restore from it (a stored value that no longer fits falls back to the code's, with a
// warning) and never apply a change the backend could not keep; changes from other replicas apply in
// generation order. Each test works in its own folder.
#include <gtest/gtest.h>

#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "mvi/core/error.hpp"
#include "mvi/schema/type_desc.hpp"
#include "mvi/state/file_state.hpp"
#include "mvi/state/parameter_store.hpp"

namespace mvi::state {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

class StateFile : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "mvi-state-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = (dir_ / "sub" / "state.db").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  std::string path_;
};

Parameter declared(const std::string& name, json value, const char* type) {
  Parameter p;
  p.name = name;
  p.value = std::move(value);
  p.type = schema::parse_type_desc(json{{"kind", type}}, name);
  return p;
}

TEST_F(StateFile, ParametersAndTheirGenerationSurviveAReopen) {
  {
    auto file = FileState::open(path_);
    EXPECT_EQ(file->describe(), "file:" + path_);
    EXPECT_TRUE(file->parameters().empty());
    EXPECT_EQ(file->generation(), 0u);
    file->store_parameter("limit", 42, 1);
    file->store_parameter("label", "x", 2);
    file->store_parameter("limit", 43, 3);
  }
  auto file = FileState::open(path_);
  auto stored = file->parameters();
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_EQ(stored["limit"].value, 43);
  EXPECT_EQ(stored["limit"].generation, 3u);
  EXPECT_EQ(stored["label"].value, "x");
  EXPECT_EQ(file->generation(), 3u);
}

TEST_F(StateFile, ASecondDaemonOnTheSameFileIsRefusedUntilTheFirstHasGone) {
  auto first = FileState::open(path_);
  try {
    FileState::open(path_);
    FAIL() << "a second open succeeded";
  } catch (const core::Error& e) {
    EXPECT_NE(std::string(e.what()).find("in use by another mvi-runtime"), std::string::npos) << e.what();
    EXPECT_EQ(e.exit_code(), core::kExitUsage);
  }
  first.reset();
  EXPECT_NO_THROW(FileState::open(path_));
}

TEST_F(StateFile, AFileOfSomethingElseIsRefusedAndLeftAlone) {
  fs::create_directories(fs::path(path_).parent_path());
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE orders(id INTEGER)", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  EXPECT_THROW(FileState::open(path_), core::Error);
  const std::string text = (dir_ / "notes.txt").string();
  std::ofstream(text) << "not a database at all, but long enough to have a header of sorts..........";
  EXPECT_THROW(FileState::open(text), core::Error);
  EXPECT_THROW(FileState::open(dir_.string()), core::Error) << "a folder";
}

TEST_F(StateFile, TheParameterStoreRestoresWhatFitsAndKeepsTheRest) {
  {
    ParameterStore params;
    params.attach(FileState::open(path_), nullptr);
    params.add(declared("limit", 10, "int"));
    params.add(declared("gone", "old", "str"));
    ASSERT_EQ(params.set("limit", 42).status, SetStatus::ok);
    ASSERT_EQ(params.set("gone", "kept").status, SetStatus::ok);
    EXPECT_EQ(params.generation(), 2u);
  }
  // The code changed: limit is a str now, gone is no longer declared.
  std::vector<std::string> warnings;
  {
    ParameterStore params;
    params.attach(FileState::open(path_), [&](const std::string& name, const std::string& message) {
      warnings.push_back(name + ": " + message);
    });
    EXPECT_EQ(params.generation(), 2u) << "generations go on from the stored one";
    params.add(declared("limit", "ten", "str"));
    EXPECT_EQ(params.get("limit"), json("ten")) << "the code's value";
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_NE(warnings[0].find("limit: the stored value 42"), std::string::npos) << warnings[0];
    EXPECT_FALSE(params.get("gone"));
    auto r = params.set("limit", "eleven");
    EXPECT_EQ(r.generation, 3u);
  }
  // Back to the first code: gone's value was kept although not served in between.
  ParameterStore params;
  params.attach(FileState::open(path_), nullptr);
  params.add(declared("gone", "old", "str"));
  params.add(declared("limit", 10, "int"));
  EXPECT_EQ(params.get("gone"), json("kept"));
  EXPECT_EQ(params.get("limit"), json(10)) << "\"eleven\" is not an int";
}

// A backend that cannot keep anything.
class Broken final : public StateBackend {
 public:
  std::string describe() const override { return "broken"; }
  std::map<std::string, StoredParameter> parameters() override { return {}; }
  std::uint64_t generation() override { return 7; }
  std::uint64_t store_parameter(const std::string&, const json&, std::uint64_t) override {
    throw StateUnavailable("disk full");
  }
  std::vector<Notification> notifications() override { return {}; }
  void store_notification(const Notification&, const std::vector<std::uint64_t>&) override {
    throw StateUnavailable("disk full");
  }
  void clear_notifications() override {}
};

TEST(StateBackendFailure, AChangeTheBackendCouldNotKeepIsNotAppliedNorAnnounced) {
  ParameterStore params;
  params.attach(std::make_shared<Broken>(), nullptr);
  params.add(declared("limit", 10, "int"));
  int announced = 0;
  params.add_listener([&](const std::string&, const json&, std::uint64_t) { ++announced; });
  auto r = params.set("limit", 11);
  EXPECT_EQ(r.status, SetStatus::unavailable);
  EXPECT_NE(r.message.find("disk full"), std::string::npos);
  EXPECT_EQ(params.get("limit"), json(10));
  EXPECT_EQ(params.generation(), 7u);
  EXPECT_EQ(announced, 0);
  // Notifications go on in memory.
  NotificationStore notes("svc", "1");
  notes.attach(std::make_shared<Broken>());
  notes.record({"still here", 0, true, {}, 0, {}, {}});
  EXPECT_EQ(notes.list({}).size(), 1u);
}

TEST_F(StateFile, NotificationsSurviveAReopenWithTheirCountersAndIds) {
  {
    NotificationStore notes("svc", "1", 3);
    notes.attach(FileState::open(path_));
    notes.record({"disk almost full", 1, true, {"ops@example.com"}, 0, "predict", "rid-1"});
    notes.record({"disk almost full", 1, true, {}, 0, "predict", "rid-2"});
    notes.record({"a", 0, true, {}, 0, {}, {}});
    notes.record({"b", 0, true, {}, 0, {}, {}});
    notes.record({"c", 0, true, {}, 0, {}, {}});  // the bound drops the oldest, in the file too
  }
  NotificationStore notes("svc", "1", 3);
  notes.attach(FileState::open(path_));
  json listed = notes.list({});
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_EQ(listed[0]["msg"], "c");
  EXPECT_EQ(listed[2]["msg"], "a");
  notes.record({"a", 0, true, {}, 0, {}, {}});
  listed = notes.list({});
  EXPECT_EQ(listed[0]["msg"], "a");
  EXPECT_EQ(listed[0]["counter"], 2) << "a repeat of a kept one counts on";
  const auto fresh = notes.record({"d", 0, true, {}, 0, {}, {}});
  EXPECT_GT(fresh.id, 4u) << "ids go on after the kept ones";
}

TEST_F(StateFile, ClearedNotificationsStayCleared) {
  {
    NotificationStore notes("svc", "1");
    notes.attach(FileState::open(path_));
    notes.record({"a", 0, true, {}, 0, {}, {}});
    notes.clear();
  }
  NotificationStore notes("svc", "1");
  notes.attach(FileState::open(path_));
  EXPECT_EQ(notes.list({}).size(), 0u);
}

// Changes from other replicas (a shared backend's subscriber): applied in generation order only.
TEST(ParameterStoreRemote, ChangesFromElsewhereApplyInGenerationOrderAndAreNotAnnouncedAgain) {
  ParameterStore params;
  params.add(declared("limit", 10, "int"));
  params.add(declared("label", "a", "str"));
  int heard = 0, heard_local = 0;
  params.add_listener([&](const std::string&, const json&, std::uint64_t) { ++heard; });
  params.add_listener([&](const std::string&, const json&, std::uint64_t) { ++heard_local; },
                      ParameterStore::Changes::local);
  EXPECT_TRUE(params.apply_remote("limit", 5, 4));
  EXPECT_EQ(params.get("limit"), json(5));
  EXPECT_EQ(params.generation(), 4u);
  EXPECT_FALSE(params.apply_remote("limit", 6, 4)) << "the same generation again (this replica's own, echoed)";
  EXPECT_FALSE(params.apply_remote("limit", 7, 3)) << "an older change arriving late";
  EXPECT_EQ(params.get("limit"), json(5));
  EXPECT_FALSE(params.apply_remote("gone", 1, 9)) << "not declared here";
  EXPECT_FALSE(params.apply_remote("label", 1, 9)) << "does not fit";
  EXPECT_EQ(params.generation(), 4u);
  EXPECT_EQ(heard, 1);
  EXPECT_EQ(heard_local, 0) << "announced (logged, notified) where it was made";
  auto r = params.set("label", "b");
  EXPECT_EQ(r.generation, 5u);
  EXPECT_EQ(heard_local, 1);
  auto [known, generation] = params.known();
  EXPECT_EQ(generation, 5u);
  ASSERT_EQ(known.size(), 2u);
  EXPECT_EQ(known["limit"].generation, 4u);
  EXPECT_EQ(known["label"].value, json("b"));
}

TEST(NotificationStoreRemote, AMergedNotificationTakesTheSharedCounterAndOnlyAllListenersHearIt) {
  NotificationStore notes("svc", "1");
  int all = 0, here = 0;
  notes.add_listener([&](const Notification&) { ++all; });
  notes.add_listener([&](const Notification&) { ++here; }, NotificationStore::Raised::here);
  notes.record({"disk almost full", 1, true, {}, 0, {}, {}});
  Notification merged;
  merged.input = {"disk almost full", 1, true, {}, 0, {}, {}};
  merged.counter = 3;  // two more on other replicas
  merged.timestamp = 4102444800.0;
  notes.merge_remote(merged);
  merged.input.msg = "from elsewhere";
  merged.counter = 1;
  notes.merge_remote(merged);
  json listed = notes.list({});
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[1]["msg"], "disk almost full");
  EXPECT_EQ(listed[1]["counter"], 3);
  EXPECT_EQ(listed[0]["msg"], "from elsewhere");
  EXPECT_EQ(all, 3);
  EXPECT_EQ(here, 1);
}

}  // namespace
}  // namespace mvi::state
