// The worker channel's frames and the codec of what crosses it: round trips over a real socketpair
// (calls with union choices and packed ndarray buffers as blobs, every result outcome, log records,
// notifications), frames split across reads, and malformed frames refused without a crash: also one that
// announces descriptors it did not bring, and a shared blob smaller than its frame says.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "mvi/workers/channel.hpp"
#include "mvi/workers/codec.hpp"
#include "mvi/workers/shared_blob.hpp"

namespace mvi::workers {
namespace {

using Json = nlohmann::ordered_json;

struct Pair {
  Pair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    a = std::make_unique<Channel>(fds[0]);
    b = std::make_unique<Channel>(fds[1]);
  }
  std::unique_ptr<Channel> a, b;
};

TEST(WorkerChannel, AFrameArrivesWholeWithItsHeaderAndBlobs) {
  Pair p;
  ASSERT_TRUE(p.a->send(FrameType::store, Json{{"name", "x"}, {"value", {1, 2}}}, {"raw\0bytes", std::string(100000, 'z')}));
  Frame f;
  ASSERT_TRUE(p.b->receive(f));
  EXPECT_EQ(f.type, FrameType::store);
  EXPECT_EQ(f.header, (Json{{"name", "x"}, {"value", {1, 2}}}));
  ASSERT_EQ(f.blobs.size(), 2u);
  EXPECT_EQ(f.blobs[0], "raw");  // a string_view from a literal stops at the NUL
  EXPECT_EQ(f.blobs[1], std::string(100000, 'z'));
}

TEST(WorkerChannel, FramesFromSeveralThreadsNeverInterleave) {
  Pair p;
  std::vector<std::thread> senders;
  for (int t = 0; t < 4; ++t)
    senders.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) p.a->send(FrameType::log, Json{{"t", t}, {"i", i}, {"pad", std::string(3000, 'p')}});
    });
  std::vector<int> next(4, 0);
  Frame f;
  for (int n = 0; n < 800; ++n) {
    ASSERT_TRUE(p.b->receive(f));
    const int t = f.header["t"].get<int>();
    EXPECT_EQ(f.header["i"].get<int>(), next[t]++) << "frames of one thread stay in order";
  }
  for (auto& s : senders) s.join();
}

TEST(WorkerChannel, EndOfStreamAndMalformedFramesAreRefused) {
  {
    Pair p;
    p.a.reset();  // the peer went away
    Frame f;
    EXPECT_FALSE(p.b->receive(f));
  }
  for (std::string bad : {std::string("\x02\x00\x00\x00\x01\x00", 6),                   // shorter than a frame
                          std::string("\xff\xff\xff\x7f\x01", 5),                       // over the size limit
                          std::string("\x09\x00\x00\x00\x01\x09\x00\x00\x00{}", 11),    // header longer than frame
                          std::string("\x07\x00\x00\x00\x01\x02\x00\x00\x00{x", 11),    // header not JSON
                          std::string("\x0b\x00\x00\x00\x01\x02\x00\x00\x00{}\x05\x00", 13)}) {  // blob cut short
    Pair p;
    ASSERT_TRUE(p.a->send(bad));
    p.a->shut();
    Frame f;
    EXPECT_FALSE(p.b->receive(f)) << "frame of " << bad.size() << " bytes";
  }
}

TEST(WorkerCodec, ACallRoundTripsWithItsNotesAndPackedArrays) {
  exec::Call call;
  call.entrypoint = 3;
  call.entrypoint_name = "predict";
  call.request_id = "rid-7";
  call.args = Json::parse(R"({"z": {"b": 1, "a": 2}, "arr": null, "u": "2026-01-01T00:00:00"})", nullptr, true, false);
  schema::BuildNote z, arr, u;
  auto packed = std::make_shared<schema::PackedArray>();
  packed->dtype = "float64";
  packed->shape = {2, 2};
  packed->data = {1, 2, 3, 4, 0, 255, 7, 8};
  arr.array = packed;
  u.choice = 2;
  u.children.resize(1);
  call.notes = {z, arr, u};

  Pair p;
  ASSERT_TRUE(p.a->send(encode_call(99, call).bytes));
  Frame f;
  ASSERT_TRUE(p.b->receive(f));
  EXPECT_EQ(f.type, FrameType::call);
  ASSERT_EQ(f.blobs.size(), 1u) << "the array travels as a blob, not as JSON";
  std::uint64_t id = 0;
  exec::Call back = decode_call(f, id);
  EXPECT_EQ(id, 99u);
  EXPECT_EQ(back.entrypoint, 3u);
  EXPECT_EQ(back.entrypoint_name, "predict");
  EXPECT_EQ(back.request_id, "rid-7");
  EXPECT_EQ(back.args.dump(), call.args.dump()) << "key order kept";
  ASSERT_EQ(back.notes.size(), 3u);
  EXPECT_FALSE(back.notes[0].array);
  ASSERT_TRUE(back.notes[1].array);
  EXPECT_EQ(back.notes[1].array->dtype, "float64");
  EXPECT_EQ(back.notes[1].array->shape, (std::vector<std::int64_t>{2, 2}));
  EXPECT_EQ(back.notes[1].array->data, packed->data);
  EXPECT_EQ(back.notes[2].choice, 2u);
  EXPECT_EQ(back.notes[2].children.size(), 1u);
}

TEST(WorkerCodec, ACallFrameThatNamesAMissingBlobIsRefused) {
  Frame f;
  f.type = FrameType::call;
  f.header = {{"id", 1}, {"entrypoint", 0}, {"name", "f"}, {"request_id", "r"}, {"args", Json::object()},
              {"notes", Json::array({{{"a", 0}, {"d", "float64"}, {"s", {1}}}})}};
  std::uint64_t id = 0;
  EXPECT_THROW(decode_call(f, id), std::runtime_error);
  f.header.erase("args");
  EXPECT_THROW(decode_call(f, id), std::runtime_error);
}

TEST(WorkerCodec, EveryResultOutcomeRoundTrips) {
  const std::vector<exec::CallResult> results = {
      exec::CallResult::ok(Json{{"b", 1}, {"a", 2}}),
      exec::CallResult::http_error({418, {{"X-A", "1"}}}, "teapot"),
      exec::CallResult::invalid(Json::array({{{"loc", {"body", "x"}}}})),
      exec::CallResult::exception("ValueError: boom"),
      exec::CallResult::unavailable(),
      exec::CallResult::cancelled(),
  };
  for (const auto& r : results) {
    Pair p;
    ASSERT_TRUE(p.a->send(encode_result({5, 12, 0.25}, r)));
    Frame f;
    ASSERT_TRUE(p.b->receive(f));
    ResultInfo info;
    exec::CallResult back = decode_result(f, info);
    EXPECT_EQ(info.id, 5u);
    EXPECT_EQ(info.generation, 12u);
    EXPECT_DOUBLE_EQ(info.worker_seconds, 0.25);
    EXPECT_EQ(back.outcome, r.outcome);
    EXPECT_EQ(back.value.dump(), r.value.dump());
    EXPECT_EQ(back.error, r.error);
    EXPECT_EQ(back.raised.status, r.raised.status);
    EXPECT_EQ(back.raised.headers, r.raised.headers);
  }
}

TEST(WorkerCodec, RecordsAndNotificationsRoundTrip) {
  logs::Record r;
  r.level = logs::Level::warning;
  r.logger = "svc";
  r.message = "spoken ü";
  r.entrypoint = "speak";
  r.request_id = "rid";
  r.traceback = "Traceback ...";
  logs::Record back = decode_record(encode_record(r));
  EXPECT_EQ(back.level, r.level);
  EXPECT_EQ(back.logger, r.logger);
  EXPECT_EQ(back.message, r.message);
  EXPECT_EQ(back.entrypoint, r.entrypoint);
  EXPECT_EQ(back.request_id, r.request_id);
  EXPECT_EQ(back.traceback, r.traceback);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::microseconds>(back.time - r.time).count(), 0);
  Json bad = encode_record(r);
  bad["level"] = 99;
  EXPECT_THROW(decode_record(bad), std::runtime_error);

  state::NotificationInput n{"careful", 1, false, {"a@b.c"}, 2.5, "speak", "rid"};
  auto nb = decode_notification(encode_notification(n));
  EXPECT_EQ(nb.msg, n.msg);
  EXPECT_EQ(nb.severity, 1);
  EXPECT_FALSE(nb.dashboard);
  EXPECT_EQ(nb.emails, n.emails);
  EXPECT_DOUBLE_EQ(nb.timer, 2.5);
  EXPECT_EQ(nb.request_id, "rid");
}

TEST(WorkerChannel, AFrameThatAnnouncesDescriptorsItDidNotBringIsRefused) {
  Pair p;
  ASSERT_TRUE(p.a->send(FrameType::call, Json{{"id", 1}, {"fds", 1}}));
  Frame f;
  EXPECT_FALSE(p.b->receive(f));
}

TEST(WorkerSharedBlob, APooledMemfdHoldsTheBytesAndAMappingNeverReachesPastIt) {
  BlobPool pool;
  BlobMappings mappings;
  const std::string bytes(100000, 'x');
  auto blob = pool.put(bytes);
  ASSERT_TRUE(blob);
  EXPECT_EQ(blob->capacity, 131072u) << "a power of two";
  EXPECT_EQ(mappings.view(blob->id, blob->fd.get(), bytes.size()), bytes);
  EXPECT_THROW(mappings.view(blob->id, blob->fd.get(), blob->capacity + 1), std::runtime_error)
      << "would read past the memfd";
  EXPECT_THROW(mappings.view(blob->id + 1, blob->fd.get(), blob->capacity + 1), std::runtime_error)
      << "would fault with SIGBUS";
  EXPECT_THROW(mappings.view(99, -1, 8), std::runtime_error);
}

TEST(WorkerSharedBlob, ThePoolKeepsFreeMemfdsUpToItsBound) {
  BlobPool pool(2 * kSharedBlobMin);
  {
    auto a = pool.put(std::string(kSharedBlobMin, 'a'));
    auto b = pool.put(std::string(kSharedBlobMin, 'b'));
    auto c = pool.put(std::string(kSharedBlobMin, 'c'));
    ASSERT_TRUE(a && b && c);
    EXPECT_NE(a->id, b->id);
    EXPECT_EQ(pool.free_count(), 0u);
  }
  EXPECT_EQ(pool.free_count(), 2u) << "the third is closed";
  auto again = pool.put(std::string(1000, 'd'));  // a small one still takes a free memfd
  ASSERT_TRUE(again);
  EXPECT_EQ(pool.free_count(), 1u);
}

}  // namespace
}  // namespace mvi::workers
