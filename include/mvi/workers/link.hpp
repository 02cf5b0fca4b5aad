// The front's end of one worker's channel (isolated mode, SPEC §9), driven by the HTTP server's
// io_context: a worker's results are read, and their answers written, on the I/O thread with no hand-off
// to another thread; frames queued from any thread are written at once, or, while a write is in progress,
// together in the next one; their descriptors pass with the first bytes of that write (SCM_RIGHTS). Thread-safety: send() and close() from any thread; on_frame
// and on_end run on the link's strand, one at a time.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "mvi/workers/channel.hpp"

namespace boost::asio {
class io_context;
}

namespace mvi::workers {

class Link {
 public:
  using OnFrame = std::function<void(Frame&)>;
  using OnEnd = std::function<void()>;

  // Takes ownership of `fd` (a connected stream socket) and starts reading it. on_end runs once: when the
  // peer closed its end, the stream broke, a malformed frame arrived, or close() was called; no on_frame
  // follows it. The io_context must run until on_end has run.
  static std::shared_ptr<Link> open(boost::asio::io_context& io, int fd, OnFrame on_frame, OnEnd on_end);
  virtual ~Link() = default;

  // Queues a whole frame, with its descriptors; frames leave in the order they were queued. Dropped once
  // the link has ended. The link keeps `frame` (and its descriptors open) until it is written.
  void send(std::shared_ptr<const OutFrame> frame) { queue(std::move(frame)); }
  void send(std::string frame) { queue(std::make_shared<const OutFrame>(OutFrame{std::move(frame), {}})); }
  void send(FrameType type, const nlohmann::ordered_json& header) { send(encode_frame(type, header)); }
  // Ends the link (the descriptor is closed, frames not yet written are dropped).
  virtual void close() = 0;

 private:
  virtual void queue(std::shared_ptr<const OutFrame> frame) = 0;
};

}  // namespace mvi::workers
