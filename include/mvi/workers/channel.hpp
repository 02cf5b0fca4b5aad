// The wire between the front and one worker process (isolated mode, SPEC §9): length-prefixed frames
// over a Unix stream socket (docs/architecture.md, "Worker frames"). A frame is a type byte, a JSON
// header and zero or more binary blobs (packed ndarray buffers travel as blobs, never as JSON text), and
// descriptors passed beside it (large blobs in shared memory, shared_blob.hpp).
// Thread-safety: send(), hold() and flush() may be called from any thread (one mutex keeps frames whole
// and in order); receive() from one reader thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

#include <nlohmann/json.hpp>

#include "mvi/core/fd.hpp"

namespace mvi::workers {

enum class FrameType : std::uint8_t {
  // worker → front
  hello = 1,        // loaded: {pid, registry, parameters}
  load_failed = 2,  // {traceback}
  result = 3,       // {id, outcome, ...}
  log = 4,          // a log record
  notify = 5,       // a notification
  store = 6,        // service.store(): {name, value}
  set_parameter = 7,  // service.set_parameter() in user code: {name, value}
  // front → worker
  init = 20,        // {values, generation}: the current parameters, before any call
  call = 21,        // {id, entrypoint, args, notes, request_id}
  parameter = 22,   // {name, value, generation}
  start_jobs = 23,  // this worker runs the service's call_every jobs
  stop = 24,        // finish running calls, run shutdown functions, exit 0
  cancel = 25,      // {id}: the call's client left or was answered 504: drop it, or cancel its coroutine
};

struct Frame {
  FrameType type{};
  nlohmann::ordered_json header;
  std::vector<std::string> blobs;
  std::vector<core::Fd> fds;  // passed with it (SCM_RIGHTS): as many as its header's `fds` says
};

// A frame to send and the descriptors that go with it. They stay open as long as the frame: the kernel
// passes copies, so a frame sent again (a call moved to another worker) passes them again. Shared: a
// pooled memfd returns to its pool when the last frame that holds it goes.
struct OutFrame {
  std::string bytes;
  std::vector<std::shared_ptr<const core::Fd>> fds;
};

// At most this many descriptors go with one frame (the kernel's SCM_MAX_FD is 253 per message).
inline constexpr std::size_t kMaxFrameFds = 64;

// A frame's bytes: u32 length of what follows, u8 type, u32 header length, the header (JSON text),
// then per blob u32 length and its bytes. Integers little-endian.
std::string encode_frame(FrameType type, const nlohmann::ordered_json& header,
                         const std::vector<std::string_view>& blobs = {});

// A frame's body (the bytes after its u32 length) into `frame`; false if it is malformed.
bool decode_frame(const char* body, std::size_t size, Frame& frame);
// The u32 length prefix at `prefix` (4 bytes).
std::uint32_t frame_length(const char* prefix);

// Frames larger than this are refused as corrupt (the body limit keeps real ones far below it).
inline constexpr std::uint32_t kMaxFrameBytes = 1u << 30;

class Channel {
 public:
  explicit Channel(int fd) : fd_(fd) {}
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // Writes the whole frame (after any held ones); false when the peer is gone (the frame is then lost).
  bool send(std::string_view bytes);
  // Keeps a whole frame to be written with the next send() or flush(): several frames, one write.
  void hold(std::string_view bytes);
  // Writes the held frames, if any; false when the peer is gone.
  bool flush();
  bool send(FrameType type, const nlohmann::ordered_json& header, const std::vector<std::string_view>& blobs = {}) {
    return send(encode_frame(type, header, blobs));
  }
  // Blocks for the next frame; false at end of stream or on a malformed frame (the peer is gone or broken),
  // or when the descriptors its header announces did not come with it.
  bool receive(Frame& frame);
  // A whole frame is already read ahead: receive() returns it without a system call. Reader only.
  bool frame_ready() const;
  // Wakes a blocked receive() and makes later sends fail (shutdown both ways); the fd stays open.
  void shut();
  int fd() const { return fd_; }

 private:
  bool read_exact(char* data, std::size_t n);
  ssize_t receive_some(char* data, std::size_t n);  // one recvmsg; descriptors go to passed_

  static constexpr std::size_t kReadAhead = 64 * 1024;

  bool write_all(std::string_view bytes);  // send_mutex_ held

  int fd_;
  std::mutex send_mutex_;
  std::string held_;  // frames hold() kept; guarded by send_mutex_
  // Descriptors received and not yet given to a frame, in order. The sender passes a frame's descriptors
  // with the first bytes of the write that holds it, so they are here by the time the frame is whole.
  // Reader thread only.
  std::deque<core::Fd> passed_;
  // Read-ahead, allocated once and never cleared (a per-read resize would zero 64 KiB per frame):
  // bytes [begin_, end_) are received and not yet consumed. Reader thread only.
  std::unique_ptr<char[]> buffer_{new char[kReadAhead]};
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

}  // namespace mvi::workers
