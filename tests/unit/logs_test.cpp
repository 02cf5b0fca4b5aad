// Tests for mvi::logs formatting and the ring: the text line's exact shape (time with milliseconds,
// escaping, call context, traceback indentation) and ring order, capacity and followers.
#include "mvi/logs/log_ring.hpp"
#include "mvi/logs/record.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace mvi::logs {
namespace {

using namespace std::chrono;

system_clock::time_point at_ms(std::int64_t ms) { return system_clock::time_point(milliseconds(ms)); }

TEST(IsoTime, MillisecondsAndUtc) {
  EXPECT_EQ(iso_time(at_ms(0)), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(iso_time(at_ms(1767323045678)), "2026-01-02T03:04:05.678Z");
  EXPECT_EQ(iso_time(at_ms(1767323045009)), "2026-01-02T03:04:05.009Z");
}

TEST(IsoTime, TheCachedSecondNeverLeaksIntoTheNextOne) {
  // Same second twice, then the next second, then back: the per-thread cache must follow.
  EXPECT_EQ(iso_time(at_ms(1767323045001)), "2026-01-02T03:04:05.001Z");
  EXPECT_EQ(iso_time(at_ms(1767323045999)), "2026-01-02T03:04:05.999Z");
  EXPECT_EQ(iso_time(at_ms(1767323046000)), "2026-01-02T03:04:06.000Z");
  EXPECT_EQ(iso_time(at_ms(1767323045500)), "2026-01-02T03:04:05.500Z");
}

TEST(IsoTime, BeforeTheEpochFloorsTheSecond) { EXPECT_EQ(iso_time(at_ms(-1)), "1969-12-31T23:59:59.999Z"); }

Record record(std::string message) {
  Record r;
  r.time = at_ms(1767323045678);
  r.level = Level::warning;
  r.logger = "mvi.test";
  r.message = std::move(message);
  return r;
}

TEST(FormatText, PlainLine) {
  EXPECT_EQ(format_text(record("hello"), "svc"), "2026-01-02T03:04:05.678Z WARNING mvi.test: hello\n");
  Record info = record("x");
  info.level = Level::info;
  EXPECT_EQ(format_text(info, "svc"), "2026-01-02T03:04:05.678Z INFO    mvi.test: x\n");
}

TEST(FormatText, LineBreaksInTheMessageAndLoggerAreEscaped) {
  Record r = record("a\nb\r\nc\n");
  r.logger = "evil\nlogger";
  EXPECT_EQ(format_text(r, "svc"), "2026-01-02T03:04:05.678Z WARNING evil\\nlogger: a\\nb\\r\\nc\\n\n");
}

TEST(FormatText, CallContext) {
  Record r = record("m");
  r.request_id = "abc";
  EXPECT_EQ(format_text(r, "svc"), "2026-01-02T03:04:05.678Z WARNING mvi.test: m [request_id=abc]\n");
  r.entrypoint = "hello";
  EXPECT_EQ(format_text(r, "svc"), "2026-01-02T03:04:05.678Z WARNING mvi.test: m [entrypoint=hello request_id=abc]\n");
}

TEST(FormatText, TracebackLinesAreIndented) {
  Record r = record("failed");
  r.traceback = "Traceback (most recent call last):\r\n  File \"x\"\nValueError: boom\n";
  EXPECT_EQ(format_text(r, "svc"),
            "2026-01-02T03:04:05.678Z WARNING mvi.test: failed\n"
            "    Traceback (most recent call last):\n"
            "      File \"x\"\n"
            "    ValueError: boom\n");
}

TEST(LogRing, KeepsTheNewestInOrderWithSequenceNumbers) {
  LogRing ring(3);
  for (int i = 0; i < 5; ++i) ring.push(record("m" + std::to_string(i)));
  auto all = ring.query({});
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].message, "m2");
  EXPECT_EQ(all[2].message, "m4");
  EXPECT_EQ(all[2].seq, 5u);
}

TEST(LogRing, FollowersGetEveryRecordAndTheRingKeepsItToo) {
  LogRing ring(10);
  std::vector<std::string> seen;
  auto handle = ring.subscribe([&](const Record& r) { seen.push_back(r.message); });
  ring.push(record("one"));
  ring.push(record("two"));
  handle.reset();  // unsubscribed: the next record reaches only the ring
  ring.push(record("three"));
  EXPECT_EQ(seen, (std::vector<std::string>{"one", "two"}));
  auto all = ring.query({});
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].message, "one");
  EXPECT_EQ(all[1].message, "two");
  EXPECT_EQ(all[2].message, "three");
}

}  // namespace
}  // namespace mvi::logs
