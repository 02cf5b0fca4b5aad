// Link over asio: a Unix stream socket on a strand (a socket, not a posix::stream_descriptor: its writes
// use MSG_NOSIGNAL, so a worker that died answers EPIPE rather than SIGPIPE). Reads go into one growing
// buffer and every whole frame in it is handed on before the next read. A frame queued while no write is in progress is written
// at once (dispatched: on an I/O thread, inline); those queued meanwhile share the next write. Measured:
// posting the flush to gather the frames of one reactor round cost a round of its own and was slower.
#include "mvi/workers/link.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>

#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <mutex>
#include <vector>

namespace mvi::workers {
namespace {

namespace net = boost::asio;
using Strand = net::strand<net::io_context::executor_type>;

class AsioLink final : public Link, public std::enable_shared_from_this<AsioLink> {
 public:
  AsioLink(net::io_context& io, int fd, OnFrame on_frame, OnEnd on_end)
      : strand_(net::make_strand(io)), stream_(strand_, net::local::stream_protocol(), fd), on_frame_(std::move(on_frame)), on_end_(std::move(on_end)) {}

  void start() {
    net::dispatch(strand_, [self = shared_from_this()] { self->read(); });
  }

  void close() override {
    net::post(strand_, [self = shared_from_this()] { self->end(); });
  }

 private:
  static constexpr std::size_t kReadSize = 64 * 1024;

  void queue(std::shared_ptr<const OutFrame> frame) override {
    {
      std::lock_guard lock(mutex_);
      if (closed_) return;
      queued_.push_back(std::move(frame));
      if (flush_pending_) return;
      flush_pending_ = true;
    }
    net::dispatch(strand_, [self = shared_from_this()] { self->flush(); });
  }

  // Strand only, as is everything below.
  void flush() {
    if (writing_) return;  // the write in progress flushes again when it completes
    {
      std::lock_guard lock(mutex_);
      flush_pending_ = false;
      if (queued_.empty() || closed_) return;
      // One write passes at most kMaxFrameFds descriptors: the frames after that wait for the next one.
      std::size_t fds = 0;
      std::size_t take = 0;
      while (take < queued_.size() && (take == 0 || fds + queued_[take]->fds.size() <= kMaxFrameFds))
        fds += queued_[take++]->fds.size();
      in_write_.assign(std::make_move_iterator(queued_.begin()), std::make_move_iterator(queued_.begin() + take));
      queued_.erase(queued_.begin(), queued_.begin() + take);
    }
    writing_ = true;
    buffers_.clear();
    descriptors_.clear();
    for (const auto& f : in_write_) {
      buffers_.emplace_back(f->bytes.data(), f->bytes.size());
      for (const auto& fd : f->fds) descriptors_.push_back(fd->get());
    }
    if (descriptors_.empty()) return write_rest();
    pass_descriptors();
  }

  // The write's first bytes with every descriptor of its frames, by hand: asio has no ancillary data. The
  // worker keeps descriptors in arrival order, and a frame's are all there by the time it is whole.
  void pass_descriptors() {
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFrameFds)];
    std::array<iovec, 64> iov;
    std::size_t count = 0;
    for (; count < iov.size() && count < buffers_.size(); ++count)
      iov[count] = {const_cast<void*>(buffers_[count].data()), buffers_[count].size()};
    msghdr msg{};
    msg.msg_iov = iov.data();
    msg.msg_iovlen = count;
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * descriptors_.size());
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * descriptors_.size());
    std::memcpy(CMSG_DATA(c), descriptors_.data(), sizeof(int) * descriptors_.size());
    const ssize_t n = ::sendmsg(stream_.native_handle(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      stream_.async_wait(net::socket_base::wait_write,
                         net::bind_executor(strand_, [self = shared_from_this()](boost::system::error_code ec) {
                           if (ec) return self->written(ec);
                           self->pass_descriptors();
                         }));
      return;
    }
    // A broken stream: the read side sees the end too, and on_end reports it.
    if (n < 0) return written(boost::system::error_code(errno, boost::system::system_category()));
    consume(static_cast<std::size_t>(n));
    write_rest();
  }

  // Drops the first `n` bytes of buffers_.
  void consume(std::size_t n) {
    std::size_t whole = 0;
    while (whole < buffers_.size() && n >= buffers_[whole].size()) n -= buffers_[whole++].size();
    buffers_.erase(buffers_.begin(), buffers_.begin() + static_cast<std::ptrdiff_t>(whole));
    if (!buffers_.empty()) buffers_.front() += n;
  }

  void write_rest() {
    if (buffers_.empty()) return written({});
    net::async_write(stream_, buffers_,
                     net::bind_executor(strand_, [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                       self->written(ec);
                     }));
  }

  void written(boost::system::error_code ec) {
    writing_ = false;
    in_write_.clear();
    // A broken stream: the read side sees the end too, and on_end reports it.
    if (!ec) flush();
  }

  void read() {
    if (ended_) return;
    reserve(kReadSize);
    stream_.async_read_some(net::buffer(buffer_.get() + end_, capacity_ - end_),
                            net::bind_executor(strand_, [self = shared_from_this()](boost::system::error_code ec,
                                                                                   std::size_t n) {
                              if (ec) return self->end();
                              self->end_ += n;
                              self->deliver();
                            }));
  }

  // Every whole frame in the buffer, in order; then the next read.
  void deliver() {
    while (end_ - begin_ >= 4) {
      const std::uint32_t size = frame_length(buffer_.get() + begin_);
      if (size < 5 || size > kMaxFrameBytes) return end();
      if (end_ - begin_ - 4 < size) {
        reserve(4 + size - (end_ - begin_));  // room for the rest of this frame in one read
        break;
      }
      if (!decode_frame(buffer_.get() + begin_ + 4, size, frame_)) return end();
      begin_ += 4 + size;
      on_frame_(frame_);
      if (ended_) return;
    }
    if (begin_ == end_) begin_ = end_ = 0;
    read();
  }

  // At least `n` free bytes after end_: unread bytes move to the front, the buffer grows if it must.
  // Never zeroed: every byte handed on was read into it.
  void reserve(std::size_t n) {
    if (capacity_ - end_ >= n) return;
    const std::size_t unread = end_ - begin_;
    if (capacity_ >= unread + n && begin_ > 0) {
      std::memmove(buffer_.get(), buffer_.get() + begin_, unread);
    } else {
      const std::size_t grown = std::max(unread + n, std::max(capacity_ * 2, kReadSize));
      std::unique_ptr<char[]> next(new char[grown]);
      if (unread) std::memcpy(next.get(), buffer_.get() + begin_, unread);
      buffer_ = std::move(next);
      capacity_ = grown;
    }
    begin_ = 0;
    end_ = unread;
  }

  void end() {
    if (ended_) return;
    ended_ = true;
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
      queued_.clear();
    }
    boost::system::error_code ignored;
    stream_.close(ignored);
    auto on_end = std::move(on_end_);
    on_frame_ = nullptr;  // the callbacks may refer to their owner: nothing calls them from now on
    on_end_ = nullptr;
    if (on_end) on_end();
  }

  Strand strand_;
  net::local::stream_protocol::socket stream_;
  OnFrame on_frame_;
  OnEnd on_end_;

  std::mutex mutex_;  // guards the three below
  std::vector<std::shared_ptr<const OutFrame>> queued_;
  bool flush_pending_ = false;
  bool closed_ = false;

  bool writing_ = false;
  std::vector<std::shared_ptr<const OutFrame>> in_write_;  // kept alive (descriptors open) until written
  std::vector<net::const_buffer> buffers_;                 // what is left to write of them
  std::vector<int> descriptors_;
  bool ended_ = false;
  std::unique_ptr<char[]> buffer_;
  std::size_t capacity_ = 0;
  std::size_t begin_ = 0;  // bytes [begin_, end_) are read and not yet delivered
  std::size_t end_ = 0;
  Frame frame_;
};

}  // namespace

std::shared_ptr<Link> Link::open(net::io_context& io, int fd, OnFrame on_frame, OnEnd on_end) {
  auto link = std::make_shared<AsioLink>(io, fd, std::move(on_frame), std::move(on_end));
  link->start();
  return link;
}

}  // namespace mvi::workers
