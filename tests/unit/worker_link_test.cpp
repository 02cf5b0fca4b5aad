// The front's Link over a real socketpair and an io_context on its own thread, the worker's blocking
// Channel on the other end: frames both ways arrive whole and in order (a large one split over many
// reads), sends from several threads never interleave, and the end is reported exactly once, for a
// peer that leaves, a corrupt length prefix and close(), with nothing delivered after it; a write to a
// peer that stopped reading does not raise SIGPIPE.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "mvi/workers/channel.hpp"
#include "mvi/workers/link.hpp"

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
          received.push_back(f);
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

}  // namespace
}  // namespace mvi::workers
