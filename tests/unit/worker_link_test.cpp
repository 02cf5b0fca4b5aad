// The front's Link over a real socketpair and an io_context on its own thread, the worker's blocking
// Channel on the other end: frames both ways arrive whole and in order (a large one split over many
// reads), sends from several threads never interleave, and the end is reported exactly once, for a
// peer that leaves, a corrupt length prefix and close(), with nothing delivered after it; a write to a
// peer that stopped reading does not raise SIGPIPE; large arrays of a call pass as memfds with their
// frame, in order among frames without any, also when one frame is sent twice or many wait at once.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <cstring>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "mvi/workers/channel.hpp"
#include "mvi/workers/codec.hpp"
#include "mvi/workers/link.hpp"
#include "mvi/workers/shared_blob.hpp"

namespace mvi::workers {
namespace {

using Json = nlohmann::ordered_json;
using namespace std::chrono_literals;

// An io_context run by one thread, the Link on one end of a socketpair and a Channel on the other.
struct Fixture {
  Fixture() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    peer = std::make_unique<Channel>(fds[1]);
    link = Link::open(
        io, fds[0],
        [this](Frame& f) {
          std::lock_guard lock(mutex);
          EXPECT_FALSE(ended) << "a frame after the end";
          received.push_back(std::move(f));
          cv.notify_all();
        },
        [this] {
          std::lock_guard lock(mutex);
          ++ends;
          ended = true;
          cv.notify_all();
        });
    thread = std::thread([this] { io.run(); });
  }
  ~Fixture() {
    link->close();
    link.reset();
    work.reset();
    io.stop();
    thread.join();
  }
  bool wait_frames(std::size_t n) {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, 10s, [&] { return received.size() >= n; });
  }
  bool wait_end() {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, 10s, [&] { return ended; });
  }

  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  std::unique_ptr<Channel> peer;
  std::shared_ptr<Link> link;
  std::thread thread;
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<Frame> received;
  int ends = 0;
  bool ended = false;
};

TEST(WorkerLink, FramesFromThePeerArriveInOrderWholeAndLarge) {
  Fixture fx;
  ASSERT_TRUE(fx.peer->send(FrameType::log, Json{{"i", 0}}));
  ASSERT_TRUE(fx.peer->send(FrameType::result, Json{{"i", 1}}, {std::string(3 << 20, 'x')}));  // many reads
  for (int i = 2; i < 200; ++i) ASSERT_TRUE(fx.peer->send(FrameType::notify, Json{{"i", i}}));
  ASSERT_TRUE(fx.wait_frames(200));
  std::lock_guard lock(fx.mutex);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(fx.received[i].header.at("i"), i);
  EXPECT_EQ(fx.received[1].type, FrameType::result);
  ASSERT_EQ(fx.received[1].blobs.size(), 1u);
  EXPECT_EQ(fx.received[1].blobs[0], std::string(3 << 20, 'x'));
  EXPECT_EQ(fx.ends, 0);
}

TEST(WorkerLink, SendsFromSeveralThreadsArriveWholeAndInEachThreadsOrder) {
  Fixture fx;
  std::vector<std::thread> senders;
  for (int t = 0; t < 4; ++t)
    senders.emplace_back([&, t] {
      for (int i = 0; i < 300; ++i) fx.link->send(FrameType::call, Json{{"t", t}, {"i", i}, {"pad", std::string(2000 + i, 'p')}});
    });
  std::vector<int> next(4, 0);
  Frame f;
  for (int n = 0; n < 1200; ++n) {
    ASSERT_TRUE(fx.peer->receive(f));
    const int t = f.header.at("t").get<int>();
    EXPECT_EQ(f.header.at("i").get<int>(), next[t]++);
    EXPECT_EQ(f.header.at("pad").get<std::string>().size(), 2000u + f.header.at("i").get<std::size_t>());
  }
  for (auto& s : senders) s.join();
}

TEST(WorkerLink, APeerThatLeavesEndsTheLinkOnceAfterItsLastFrame) {
  Fixture fx;
  ASSERT_TRUE(fx.peer->send(FrameType::result, Json{{"i", 7}}));
  fx.peer.reset();  // closes its end
  ASSERT_TRUE(fx.wait_end());
  std::this_thread::sleep_for(50ms);
  std::lock_guard lock(fx.mutex);
  EXPECT_EQ(fx.ends, 1);
  ASSERT_EQ(fx.received.size(), 1u);  // the frame written before the close is delivered first
  EXPECT_EQ(fx.received[0].header.at("i"), 7);
}

TEST(WorkerLink, AWriteToAPeerThatStoppedReadingIsNoSignal) {
  Fixture fx;
  ::shutdown(fx.peer->fd(), SHUT_RD);  // writes to it now fail with EPIPE, which a plain write() signals
  for (int i = 0; i < 10; ++i) fx.link->send(FrameType::call, Json{{"i", i}});
  std::this_thread::sleep_for(50ms);  // this process is still alive, and the link still reads
  ASSERT_TRUE(fx.peer->send(FrameType::result, Json{{"i", 1}}));
  ASSERT_TRUE(fx.wait_frames(1));
}

TEST(WorkerLink, ACorruptLengthEndsTheLink) {
  Fixture fx;
  const char bogus[] = {'\x02', '\0', '\0', '\0', '\x03', 'x'};  // length 2: shorter than any frame
  ASSERT_TRUE(fx.peer->send(std::string_view(bogus, sizeof bogus)));
  ASSERT_TRUE(fx.wait_end());
  std::lock_guard lock(fx.mutex);
  EXPECT_TRUE(fx.received.empty());
}

TEST(WorkerLink, CloseEndsItAndLaterSendsAreDropped) {
  Fixture fx;
  fx.link->close();
  ASSERT_TRUE(fx.wait_end());
  fx.link->send(FrameType::stop, Json::object());  // no crash, nothing written
  Frame f;
  EXPECT_FALSE(fx.peer->receive(f));  // the front's end is closed
  std::lock_guard lock(fx.mutex);
  EXPECT_EQ(fx.ends, 1);
}

std::shared_ptr<schema::PackedArray> doubles(std::size_t n, double scale) {
  auto packed = std::make_shared<schema::PackedArray>();
  packed->dtype = "float64";
  packed->shape = {static_cast<std::int64_t>(n)};
  packed->data.resize(n * sizeof(double));
  for (std::size_t i = 0; i < n; ++i) {
    const double v = static_cast<double>(i) * scale;
    std::memcpy(packed->data.data() + i * sizeof v, &v, sizeof v);
  }
  return packed;
}

exec::Call call_with(std::vector<std::shared_ptr<schema::PackedArray>> arrays) {
  exec::Call call;
  call.entrypoint_name = "f";
  call.request_id = "r";
  call.args = Json::object();
  for (auto& a : arrays) {
    schema::BuildNote note;
    note.array = std::move(a);
    call.notes.push_back(std::move(note));
  }
  return call;
}

bool same_bytes(const schema::PackedArray& got, const schema::PackedArray& want) { return got.data == want.data; }

TEST(WorkerLink, LargeArraysPassAsPooledSharedMemoryWithTheirFrameEvenWhenSentTwice) {
  Fixture fx;
  BlobPool pool;
  BlobMappings mappings;
  auto big = doubles(100000, 0.5);
  auto small = doubles(4, 2.0);
  auto frame = std::make_shared<const OutFrame>(encode_call(7, call_with({big, small}), &pool));
  ASSERT_EQ(frame->fds.size(), 1u) << "800 KB goes as a memfd";
  EXPECT_LT(frame->bytes.size(), 4096u) << "and not inside the frame";
  // Among frames without descriptors; twice, as a call moved to another worker is sent again.
  fx.link->send(FrameType::log, Json{{"i", -1}});
  fx.link->send(frame);
  for (int i = 0; i < 50; ++i) fx.link->send(FrameType::log, Json{{"i", i}, {"pad", std::string(3000, 'p')}});
  fx.link->send(frame);

  std::vector<exec::Call> calls;
  for (int i = 0; i < 53; ++i) {
    Frame f;
    ASSERT_TRUE(fx.peer->receive(f)) << "frame " << i;
    const bool call = i == 1 || i == 52;
    ASSERT_EQ(f.type, call ? FrameType::call : FrameType::log) << "frame " << i;
    if (!call) {
      EXPECT_TRUE(f.fds.empty());
      EXPECT_EQ(f.header.at("i").get<int>(), i == 0 ? -1 : i - 2);
      continue;
    }
    ASSERT_EQ(f.fds.size(), 1u);
    std::uint64_t id = 0;
    calls.push_back(decode_call(f, id, &mappings));
    EXPECT_EQ(id, 7u);
  }
  EXPECT_EQ(mappings.mapped_count(), 1u) << "one memfd, mapped once";
  for (auto& c : calls) {
    ASSERT_EQ(c.notes.size(), 2u);
    ASSERT_TRUE(c.notes[0].array && c.notes[1].array);
    EXPECT_TRUE(same_bytes(*c.notes[0].array, *big));
    EXPECT_TRUE(same_bytes(*c.notes[1].array, *small));
  }

  // Once the call is answered its memfd is reused for the next one: what the first call got is its own.
  frame.reset();
  // The link lets the frame go when its write completes, which the peer may see a moment before.
  for (int i = 0; i < 500 && pool.free_count() == 0; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(pool.free_count(), 1u);
  auto other = doubles(90000, -3.0);
  auto next = std::make_shared<const OutFrame>(encode_call(8, call_with({other}), &pool));
  fx.link->send(next);
  Frame f;
  ASSERT_TRUE(fx.peer->receive(f));
  std::uint64_t id = 0;
  exec::Call again = decode_call(f, id, &mappings);
  EXPECT_EQ(f.header.at("notes")[0].at("g"), 1) << "the pooled memfd again";
  EXPECT_EQ(mappings.mapped_count(), 1u) << "and its mapping";
  EXPECT_TRUE(same_bytes(*again.notes.at(0).array, *other));
  EXPECT_TRUE(same_bytes(*calls[0].notes[0].array, *big));
}

TEST(WorkerLink, ManyFramesWithDescriptorsQueuedAtOnceAllArriveWithTheirOwn) {
  Fixture fx;
  BlobPool pool;
  BlobMappings mappings(1u << 20, 8);  // fewer than the frames: mappings are dropped and made again
  // More than one write's worth of descriptors (kMaxFrameFds), from two threads at once. The frames are
  // kept until read, as the pool keeps a call's frame until it is answered.
  constexpr int kPerThread = 60;
  std::mutex kept_mutex;
  std::vector<std::shared_ptr<const OutFrame>> kept;
  std::vector<std::thread> senders;
  for (int t = 0; t < 2; ++t)
    senders.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto call = call_with({doubles(kSharedBlobMin / sizeof(double), t * 1000.0 + i)});
        auto frame = std::make_shared<const OutFrame>(encode_call(static_cast<std::uint64_t>(t * 1000 + i), call, &pool));
        {
          std::lock_guard lock(kept_mutex);
          kept.push_back(frame);
        }
        fx.link->send(frame);
      }
    });
  for (auto& s : senders) s.join();
  int next[2] = {0, 0};
  for (int n = 0; n < 2 * kPerThread; ++n) {
    Frame f;
    ASSERT_TRUE(fx.peer->receive(f)) << "frame " << n;
    ASSERT_EQ(f.fds.size(), 1u);
    std::uint64_t id = 0;
    exec::Call call = decode_call(f, id, &mappings);
    const int t = static_cast<int>(id / 1000);
    const int i = static_cast<int>(id % 1000);
    ASSERT_LT(t, 2);
    EXPECT_EQ(i, next[t]++) << "each thread's frames in its order";
    ASSERT_TRUE(call.notes.at(0).array);
    EXPECT_TRUE(same_bytes(*call.notes[0].array, *doubles(kSharedBlobMin / sizeof(double), t * 1000.0 + i)))
        << "frame " << id << " got another frame's bytes";
  }
  EXPECT_LE(mappings.mapped_count(), 8u);
}

}  // namespace
}  // namespace mvi::workers
