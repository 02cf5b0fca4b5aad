// Tests for mvi::state: ParameterStore (typed values, atomic validated changes, generations,
// listeners outside the lock) and NotificationStore (repeat semantics, order, filters, capacity).
#include "mvi/state/parameter_store.hpp"
#include "mvi/state/notification_store.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <thread>
#include <tuple>
#include <vector>

#include "mvi/core/error.hpp"

namespace mvi::state {
namespace {

using json = nlohmann::ordered_json;
using namespace std::chrono_literals;

schema::TypeDesc type_of(const char* kind) { return schema::parse_type_desc(json{{"kind", kind}}, "test"); }

Parameter param(std::string name, const char* kind, json value, bool expose = true) {
  Parameter p;
  p.name = std::move(name);
  p.type = type_of(kind);
  p.value = std::move(value);
  p.expose = expose;
  return p;
}

// Runs `body` on its own thread and returns "" when it finished within `limit`, else what went
// wrong. A deadlocked body is abandoned (its thread detached, with whatever it shares kept alive
// by shared_ptr), so a regression fails the test instead of hanging the whole binary; an
// exception (glibc may report a self-deadlock as EDEADLK) is reported instead of terminating.
std::string run_with_deadline(std::function<void()> body, std::chrono::milliseconds limit = 5000ms) {
  auto outcome = std::make_shared<std::promise<std::string>>();
  auto future = outcome->get_future();
  std::thread([body = std::move(body), outcome] {
    try {
      body();
      outcome->set_value("");
    } catch (const std::exception& e) {
      outcome->set_value(std::string("threw: ") + e.what());
    }
  }).detach();
  if (future.wait_for(limit) != std::future_status::ready) return "did not finish: deadlock?";
  return future.get();
}

// ---- ParameterStore ----

TEST(ParameterStore, AddAndGet) {
  ParameterStore s;
  s.add(param("threshold", "float", 0.5));
  s.add(param("mode", "str", "fast", false));
  EXPECT_EQ(s.get("threshold"), json(0.5));
  EXPECT_EQ(s.get("mode"), json("fast"));
  EXPECT_EQ(s.get("missing"), std::nullopt);
  EXPECT_EQ(s.values(), (json{{"threshold", 0.5}, {"mode", "fast"}}));
  auto d = s.describe("mode");
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->expose);
  EXPECT_EQ(d->type.kind, schema::Kind::str);
  EXPECT_FALSE(s.describe("missing"));
  EXPECT_EQ(s.generation(), 0u) << "adding is not a change";
}

TEST(ParameterStore, ListKeepsDeclarationOrder) {
  ParameterStore s;
  s.add(param("zeta", "int", 1));
  s.add(param("alpha", "int", 2));
  s.add(param("mid", "int", 3));
  auto all = s.list();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].name, "zeta");
  EXPECT_EQ(all[1].name, "alpha");
  EXPECT_EQ(all[2].name, "mid");
}

TEST(ParameterStore, InitialValueIsCoerced) {
  ParameterStore s;
  s.add(param("n", "int", "5"));
  EXPECT_EQ(s.get("n"), json(5));
  EXPECT_TRUE(s.get("n")->is_number_integer());
}

TEST(ParameterStore, DuplicateIsRejected) {
  ParameterStore s;
  s.add(param("n", "int", 1));
  try {
    s.add(param("n", "int", 2));
    FAIL() << "duplicate accepted";
  } catch (const core::Error& e) {
    EXPECT_EQ(e.code(), core::ErrorCode::validation);
    EXPECT_NE(std::string(e.what()).find("'n'"), std::string::npos) << e.what();
  }
  EXPECT_EQ(s.get("n"), json(1));
  EXPECT_EQ(s.list().size(), 1u);
}

TEST(ParameterStore, BadInitialValueIsRejected) {
  ParameterStore s;
  try {
    s.add(param("n", "int", "abc"));
    FAIL() << "bad initial value accepted";
  } catch (const core::Error& e) {
    EXPECT_EQ(e.code(), core::ErrorCode::validation);
    std::string what = e.what();
    EXPECT_NE(what.find("'n'"), std::string::npos) << what;
    EXPECT_NE(what.find("int"), std::string::npos) << what;
  }
  EXPECT_FALSE(s.get("n"));
}

TEST(ParameterStore, SetOkCoercesAndBumpsGeneration) {
  ParameterStore s;
  s.add(param("n", "int", 1));
  auto r = s.set("n", "7");
  EXPECT_EQ(r.status, SetStatus::ok);
  EXPECT_EQ(r.value, json(7));
  EXPECT_TRUE(r.value.is_number_integer());
  EXPECT_EQ(r.generation, 1u);
  EXPECT_TRUE(r.errors.empty());
  EXPECT_EQ(s.get("n"), json(7));
  EXPECT_EQ(s.generation(), 1u);

  r = s.set("n", 8);
  EXPECT_EQ(r.generation, 2u);
  EXPECT_EQ(s.generation(), 2u);
}

TEST(ParameterStore, SetUnknownIsNotFound) {
  ParameterStore s;
  s.add(param("n", "int", 1));
  auto r = s.set("nope", 1);
  EXPECT_EQ(r.status, SetStatus::not_found);
  EXPECT_EQ(s.generation(), 0u);
  EXPECT_EQ(s.values(), (json{{"n", 1}}));
}

TEST(ParameterStore, SetInvalidLeavesValueAndGenerationUnchanged) {
  ParameterStore s;
  s.add(param("n", "int", 1));
  ASSERT_EQ(s.set("n", 2).status, SetStatus::ok);
  auto r = s.set("n", "abc");
  EXPECT_EQ(r.status, SetStatus::invalid);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].type, "int_parsing");
  EXPECT_EQ(r.errors[0].loc, json::array({"body", "n"}));
  EXPECT_EQ(s.get("n"), json(2));
  EXPECT_EQ(s.generation(), 1u);
}

TEST(ParameterStore, SetInvalidNestedValueLeavesTheWholeValueUnchanged) {
  ParameterStore s;
  Parameter p;
  p.name = "xs";
  p.type = schema::parse_type_desc(json{{"kind", "list"}, {"items", {{"kind", "int"}}}}, "t");
  p.value = json::array({1, 2});
  s.add(p);
  // The first item would coerce, the second fails: nothing may be half-applied.
  auto r = s.set("xs", json::array({"9", "x"}));
  EXPECT_EQ(r.status, SetStatus::invalid);
  EXPECT_EQ(r.errors.at(0).loc, json::array({"body", "xs", 1}));
  EXPECT_EQ(s.get("xs"), json::array({1, 2}));
}

TEST(ParameterStore, ListenersSeeEverySuccessfulChange) {
  ParameterStore s;
  s.add(param("n", "int", 1));
  std::vector<std::tuple<std::string, json, std::uint64_t>> seen;
  s.add_listener([&](const std::string& name, const json& value, std::uint64_t gen) {
    seen.emplace_back(name, value, gen);
  });
  s.set("n", "5");
  s.set("n", "bad");
  s.set("missing", 1);
  s.set("n", 6);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(std::get<0>(seen[0]), "n");
  EXPECT_EQ(std::get<1>(seen[0]), json(5));
  EXPECT_EQ(std::get<2>(seen[0]), 1u);
  EXPECT_EQ(std::get<1>(seen[1]), json(6));
  EXPECT_EQ(std::get<2>(seen[1]), 2u);
}

TEST(ParameterStore, ListenerMayReadTheStoreWithoutDeadlock) {
  auto s = std::make_shared<ParameterStore>();
  s->add(param("n", "int", 1));
  auto observed = std::make_shared<std::atomic<int>>(-1);
  auto observed_gen = std::make_shared<std::atomic<std::uint64_t>>(0);
  s->add_listener([s_raw = s.get(), observed, observed_gen](const std::string& name, const json&, std::uint64_t) {
    // Each of these takes the store's lock: they would deadlock if listeners ran under it.
    observed->store(s_raw->get(name)->get<int>());
    observed_gen->store(s_raw->generation());
    (void)s_raw->values();
    (void)s_raw->describe(name);
  });
  ASSERT_EQ(run_with_deadline([s] { s->set("n", 42); }), "") << "a listener called under the lock deadlocks";
  EXPECT_EQ(observed->load(), 42) << "the listener sees the new value";
  EXPECT_EQ(observed_gen->load(), 1u);
}

TEST(ParameterStore, ListenerMayChangeAnotherParameter) {
  auto s = std::make_shared<ParameterStore>();
  s->add(param("a", "int", 0));
  s->add(param("b", "int", 0));
  s->add_listener([s_raw = s.get()](const std::string& name, const json& value, std::uint64_t) {
    if (name == "a") s_raw->set("b", value.get<int>() * 10);
  });
  ASSERT_EQ(run_with_deadline([s] { s->set("a", 3); }), "") << "a re-entrant set deadlocks";
  EXPECT_EQ(s->get("b"), json(30));
  EXPECT_EQ(s->generation(), 2u);
}

TEST(ParameterStore, ConcurrentSetsEachGetAGeneration) {
  ParameterStore s;
  s.add(param("n", "int", 0));
  std::atomic<std::uint64_t> max_seen{0};
  std::vector<std::thread> threads;
  constexpr int kThreads = 4, kEach = 200;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto r = s.set("n", (i % 2) ? json(t) : json("bad"));
        if (r.status == SetStatus::ok) {
          auto prev = max_seen.load();
          while (r.generation > prev && !max_seen.compare_exchange_weak(prev, r.generation)) {
          }
        }
        (void)s.get("n");
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(s.generation(), static_cast<std::uint64_t>(kThreads * kEach / 2));
  EXPECT_EQ(max_seen.load(), s.generation());
}

// ---- NotificationStore ----

NotificationInput note(std::string msg, int severity = 0) {
  NotificationInput in;
  in.msg = std::move(msg);
  in.severity = severity;
  return in;
}

std::vector<std::string> msgs(const json& list) {
  std::vector<std::string> out;
  for (const auto& n : list) out.push_back(n["msg"].get<std::string>());
  return out;
}

// Waits until the wall clock has moved on, so consecutive timestamps are distinct.
void tick() { std::this_thread::sleep_for(2ms); }

TEST(NotificationStore, RecordReturnsTheStoredNotification) {
  NotificationStore s("svc", "1.2.3");
  NotificationInput in = note("disk full", 2);
  in.emails = {"ops@example.com"};
  in.timer = 60;
  in.entrypoint = "predict";
  in.request_id = "rid-1";
  in.dashboard = false;
  auto n = s.record(in);
  EXPECT_EQ(n.id, 1u);
  EXPECT_EQ(n.counter, 1u);
  EXPECT_GT(n.timestamp, 1.6e9) << "seconds since the epoch";

  auto list = s.list({});
  ASSERT_EQ(list.size(), 1u);
  const json& j = list[0];
  EXPECT_EQ(j["id"], 1);
  EXPECT_EQ(j["service_name"], "svc");
  EXPECT_EQ(j["service_version"], "1.2.3");
  EXPECT_EQ(j["msg"], "disk full");
  EXPECT_EQ(j["severity"], 2);
  EXPECT_EQ(j["severity_name"], "CRITICAL");
  EXPECT_EQ(j["dashboard"], false);
  EXPECT_EQ(j["emails"], json::array({"ops@example.com"}));
  EXPECT_EQ(j["timer"], 60.0);
  EXPECT_EQ(j["counter"], 1);
  EXPECT_EQ(j["entrypoint"], "predict");
  EXPECT_EQ(j["request_id"], "rid-1");
  EXPECT_DOUBLE_EQ(j["timestamp"].get<double>(), n.timestamp);
}

TEST(NotificationStore, EmptyContextIsNull) {
  NotificationStore s("svc", "1");
  s.record(note("x"));
  auto j = s.list({})[0];
  EXPECT_TRUE(j["entrypoint"].is_null());
  EXPECT_TRUE(j["request_id"].is_null());
  EXPECT_EQ(j["emails"], json::array());
}

TEST(NotificationStore, RepeatIncrementsCounterAndRefreshesTimestamp) {
  NotificationStore s("svc", "1");
  auto first = s.record(note("same", 1));
  tick();
  auto second = s.record(note("same", 1));
  EXPECT_EQ(second.id, first.id);
  EXPECT_EQ(second.counter, 2u);
  EXPECT_GT(second.timestamp, first.timestamp);
  auto list = s.list({});
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["counter"], 2);
  EXPECT_EQ(s.record(note("same", 1)).counter, 3u);
}

TEST(NotificationStore, SameMessageOtherSeverityIsNew) {
  NotificationStore s("svc", "1");
  auto a = s.record(note("same", 0));
  auto b = s.record(note("same", 1));
  EXPECT_NE(a.id, b.id);
  EXPECT_EQ(b.counter, 1u);
  EXPECT_EQ(s.list({}).size(), 2u);
}

TEST(NotificationStore, ListIsNewestFirstAndARepeatMovesToTheFront) {
  NotificationStore s("svc", "1");
  s.record(note("a"));
  tick();
  s.record(note("b"));
  tick();
  s.record(note("c"));
  EXPECT_EQ(msgs(s.list({})), (std::vector<std::string>{"c", "b", "a"}));
  tick();
  s.record(note("a"));
  EXPECT_EQ(msgs(s.list({})), (std::vector<std::string>{"a", "c", "b"}));
}

TEST(NotificationStore, SeverityFilterIsAtLeast) {
  NotificationStore s("svc", "1");
  s.record(note("info", 0));
  s.record(note("warn", 1));
  s.record(note("crit", 2));
  NotificationQuery q;
  q.severity = 1;
  EXPECT_EQ(msgs(s.list(q)), (std::vector<std::string>{"crit", "warn"}));
  q.severity = 2;
  EXPECT_EQ(msgs(s.list(q)), (std::vector<std::string>{"crit"}));
  q.severity = 0;
  EXPECT_EQ(s.list(q).size(), 3u);
}

TEST(NotificationStore, SinceFilterIsStrictlyAfter) {
  NotificationStore s("svc", "1");
  auto a = s.record(note("a"));
  tick();
  auto b = s.record(note("b"));
  tick();
  s.record(note("c"));
  NotificationQuery q;
  q.since = a.timestamp;
  EXPECT_EQ(msgs(s.list(q)), (std::vector<std::string>{"c", "b"}));
  q.since = b.timestamp;
  EXPECT_EQ(msgs(s.list(q)), (std::vector<std::string>{"c"}));
  q.since = 0.0;
  EXPECT_EQ(s.list(q).size(), 3u);
}

TEST(NotificationStore, LimitKeepsTheNewest) {
  NotificationStore s("svc", "1");
  for (const char* m : {"a", "b", "c", "d"}) {
    s.record(note(m));
    tick();
  }
  NotificationQuery q;
  q.limit = 2;
  EXPECT_EQ(msgs(s.list(q)), (std::vector<std::string>{"d", "c"}));
  q.limit = 0;
  EXPECT_EQ(s.list(q).size(), 4u) << "0 means all";
  q.limit = 100;
  EXPECT_EQ(s.list(q).size(), 4u);
}

TEST(NotificationStore, FiltersCombine) {
  NotificationStore s("svc", "1");
  s.record(note("w1", 1));
  s.record(note("i1", 0));
  s.record(note("w2", 1));
  s.record(note("c1", 2));
  NotificationQuery q;
  q.severity = 1;
  q.limit = 2;
  EXPECT_EQ(msgs(s.list(q)), (std::vector<std::string>{"c1", "w2"}));
}

TEST(NotificationStore, CapacityDropsTheOldestAndCountsDrops) {
  NotificationStore s("svc", "1", 3);
  for (const char* m : {"a", "b", "c", "d", "e"}) s.record(note(m));
  EXPECT_EQ(msgs(s.list({})), (std::vector<std::string>{"e", "d", "c"}));
  EXPECT_EQ(s.dropped(), 2u);
  // Repeats do not grow the store.
  s.record(note("e"));
  EXPECT_EQ(s.list({}).size(), 3u);
  EXPECT_EQ(s.dropped(), 2u);
}

TEST(NotificationStore, ZeroCapacityKeepsOne) {
  NotificationStore s("svc", "1", 0);
  s.record(note("a"));
  s.record(note("b"));
  EXPECT_EQ(msgs(s.list({})), (std::vector<std::string>{"b"}));
  EXPECT_EQ(s.dropped(), 1u);
}

TEST(NotificationStore, ClearEmptiesTheListButIdsKeepGrowing) {
  NotificationStore s("svc", "1");
  s.record(note("a"));
  s.record(note("b"));
  s.clear();
  EXPECT_TRUE(s.list({}).empty());
  auto n = s.record(note("a"));
  EXPECT_EQ(n.id, 3u);
  EXPECT_EQ(n.counter, 1u) << "a cleared notification starts counting again";
}

TEST(NotificationStore, ListenersAreCalledForEveryRecord) {
  NotificationStore s("svc", "1");
  std::vector<std::pair<std::string, std::uint64_t>> seen;
  s.add_listener([&](const Notification& n) { seen.emplace_back(n.input.msg, n.counter); });
  s.record(note("a"));
  s.record(note("a"));
  s.record(note("b"));
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[1], (std::pair<std::string, std::uint64_t>{"a", 2}));
  EXPECT_EQ(seen[2].first, "b");
}

TEST(NotificationStore, ListenerMayUseTheStoreWithoutDeadlock) {
  auto s = std::make_shared<NotificationStore>("svc", "1");
  auto listed = std::make_shared<std::atomic<int>>(-1);
  s->add_listener([s_raw = s.get(), listed](const Notification& n) {
    listed->store(static_cast<int>(s_raw->list({}).size()));
    (void)s_raw->dropped();
    if (n.input.msg == "first") s_raw->record(note("follow-up"));
  });
  ASSERT_EQ(run_with_deadline([s] { s->record(note("first")); }), "") << "a listener called under the lock deadlocks";
  EXPECT_EQ(s->list({}).size(), 2u);
  EXPECT_EQ(listed->load(), 2) << "the last listener call saw both";
}

TEST(NotificationStore, ConcurrentRecordsAreAllCounted) {
  NotificationStore s("svc", "1", 10000);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&s] {
      for (int i = 0; i < 250; ++i) s.record(note("shared"));
    });
  for (auto& th : threads) th.join();
  auto list = s.list({});
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["counter"], 1000);
}

TEST(NotificationStore, SeverityNames) {
  EXPECT_EQ(NotificationStore::severity_name(0), "INFO");
  EXPECT_EQ(NotificationStore::severity_name(1), "WARNING");
  EXPECT_EQ(NotificationStore::severity_name(2), "CRITICAL");
  EXPECT_EQ(NotificationStore::severity_name(7), "UNKNOWN");
}

}  // namespace
}  // namespace mvi::state
