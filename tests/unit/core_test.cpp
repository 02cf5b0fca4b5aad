// src/core: the cancel token, request ids, UTC ISO 8601 times, exit codes.
#include "mvi/core/cancel.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <thread>

#include "mvi/core/error.hpp"
#include "mvi/core/request_id.hpp"
#include "mvi/core/time.hpp"
#include "mvi/exec/blocked.hpp"

namespace mvi::core {
namespace {

TEST(CancelToken, RunsItsHookOnceOnCancel) {
  CancelToken t;
  int runs = 0;
  t.on_cancel([&] { ++runs; });
  EXPECT_FALSE(t.cancelled());
  t.cancel();
  t.cancel();
  EXPECT_TRUE(t.cancelled());
  EXPECT_EQ(runs, 1);
}

TEST(CancelToken, AHookSetAfterCancelRunsAtOnce) {
  CancelToken t;
  t.cancel();
  int runs = 0;
  t.on_cancel([&] { ++runs; });
  EXPECT_EQ(runs, 1);
}

TEST(CancelToken, AClearedHookNeverRuns) {
  CancelToken t;
  int runs = 0;
  t.on_cancel([&] { ++runs; });
  t.clear_hook();
  t.cancel();
  EXPECT_EQ(runs, 0);
  EXPECT_TRUE(t.cancelled());
}

TEST(CancelToken, CancelFromManyThreadsRunsTheHookOnce) {
  CancelToken t;
  std::atomic<int> runs{0};
  t.on_cancel([&] { runs.fetch_add(1); });
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) threads.emplace_back([&] { t.cancel(); });
  for (auto& th : threads) th.join();
  EXPECT_EQ(runs.load(), 1);
}

TEST(CancelToken, WatchIsAskedFor) {
  CancelToken t;
  EXPECT_FALSE(t.watch_requested());
  t.request_watch();
  EXPECT_TRUE(t.watch_requested());
}

TEST(CancelToken, AsksItsProbeWhetherTheClientIsGone) {
  CancelToken t;
  EXPECT_FALSE(t.client_gone()) << "no probe: never gone";
  bool gone = false;
  t.set_probe([&] { return gone; });
  EXPECT_FALSE(t.client_gone());
  gone = true;
  EXPECT_TRUE(t.client_gone());
}

TEST(RequestId, KeepsAValidIncomingOneElseMakesOne) {
  EXPECT_EQ(request_id_for(std::string_view("abc-1.2_3")), "abc-1.2_3");
  EXPECT_EQ(request_id_for(std::nullopt).size(), 32u);
  EXPECT_EQ(request_id_for(std::string_view("bad id")).size(), 32u);
  EXPECT_EQ(request_id_for(std::string_view(std::string(129, 'a'))).size(), 32u);
  EXPECT_NE(new_request_id(), new_request_id());
}

TEST(RequestId, ACallerNameIsLoggedOnlyWhenItCannotForgeALine) {
  EXPECT_TRUE(is_valid_caller("upstream/0.1.0 call_downstream_method"));
  EXPECT_FALSE(is_valid_caller(""));
  EXPECT_FALSE(is_valid_caller("a\nINFO forged"));
  EXPECT_FALSE(is_valid_caller(" leading"));
  EXPECT_FALSE(is_valid_caller("x=\"1\""));
  EXPECT_FALSE(is_valid_caller(std::string(161, 'a')));
}

TEST(IsoTime, Formats) {
  EXPECT_EQ(format_iso_utc(0, Fraction::millis, "Z"), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_iso_utc(1.5, Fraction::micros, "+00:00"), "1970-01-01T00:00:01.500000+00:00");
  EXPECT_EQ(format_iso_utc(86400, Fraction::micros_if_any, ""), "1970-01-02T00:00:00");
  EXPECT_EQ(format_iso_utc(0.25, Fraction::micros_if_any, ""), "1970-01-01T00:00:00.250000");
  EXPECT_EQ(format_iso_utc(-0.5, Fraction::millis, "Z"), "1969-12-31T23:59:59.500Z");  // floor before 1970
  EXPECT_EQ(format_iso_utc(59.9999999, Fraction::millis, "Z"), "1970-01-01T00:01:00.000Z");  // rounding carries
  EXPECT_EQ(format_iso_utc(1.9, Fraction::none, ""), "1970-01-01T00:00:01");
  EXPECT_FALSE(format_iso_utc(1e300, Fraction::none, ""));
  EXPECT_FALSE(format_iso_utc(std::nan(""), Fraction::none, ""));
}

TEST(IsoTime, ParsesWhatFormatWrites) {
  for (double t : {0.0, 1.5, 1714564800.25, -86400.0})
    EXPECT_DOUBLE_EQ(*parse_iso_seconds(*format_iso_utc(t, Fraction::micros, "+00:00")), t);
  EXPECT_DOUBLE_EQ(*parse_iso_seconds("2024-05-01T12:00:00Z"), 1714564800.0);
  EXPECT_DOUBLE_EQ(*parse_iso_seconds("2024-05-01T14:00:00+02:00"), 1714564800.0);
  EXPECT_DOUBLE_EQ(*parse_iso_seconds("2024-05-01 12:00:00.5"), 1714564800.5);  // naive = UTC
  EXPECT_DOUBLE_EQ(*parse_iso_seconds("2024-05-01T07:00:00-0500"), 1714564800.0);
}

TEST(IsoTime, RefusesOtherShapes) {
  for (const char* bad : {"", "2024-05-01", "2024-05-01T12:00", "2024-13-01T12:00:00", "2024-05-01T12:00:00.",
                          "2024-05-01T12:00:00+2", "2024-05-01T12:00:00 junk", "yesterday"})
    EXPECT_FALSE(parse_iso_seconds(bad)) << bad;
}

TEST(Error, ExitCodes) {
  EXPECT_EQ(Error::usage("x").exit_code(), kExitUsage);
  EXPECT_EQ(Error::load_failed("x").exit_code(), kExitLoadFailed);
  EXPECT_EQ(Error::listen_failed("x").exit_code(), kExitListenFailed);
  EXPECT_EQ(Error::internal("x").exit_code(), kExitFailure);
}

}  // namespace
}  // namespace mvi::core

TEST(ExecutorWaking, OnlyExecutorsThatUseLittleCpuTogetherCountAsBlocked) {
  using std::chrono::microseconds;
  using std::chrono::milliseconds;
  EXPECT_TRUE(mvi::exec::blocked(milliseconds(2), microseconds(100)));  // asleep in time.sleep
  EXPECT_FALSE(mvi::exec::blocked(milliseconds(2), microseconds(1900)));  // computing
  // Two threads taking turns at the GIL use one CPU between them: not blocked, no third thread.
  EXPECT_FALSE(mvi::exec::blocked(milliseconds(2), microseconds(1000)));
  EXPECT_FALSE(mvi::exec::blocked(milliseconds(0), microseconds(0)));
}
