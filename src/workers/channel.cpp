// Frame encoding and the blocking socket I/O of a Channel. send() holds one mutex per channel, so frames
// written from several threads never interleave, and writes held frames first; receive() reads ahead
// in 64 KiB pieces and keeps the descriptors that arrive with the bytes.
#include "mvi/workers/channel.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "mvi/core/json.hpp"

namespace mvi::workers {
namespace {

void put_u32(std::string& out, std::uint32_t v) {
  char b[4] = {static_cast<char>(v & 0xff), static_cast<char>((v >> 8) & 0xff), static_cast<char>((v >> 16) & 0xff),
               static_cast<char>((v >> 24) & 0xff)};
  out.append(b, 4);
}

std::uint32_t get_u32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<std::uint32_t>(u[0]) | static_cast<std::uint32_t>(u[1]) << 8 |
         static_cast<std::uint32_t>(u[2]) << 16 | static_cast<std::uint32_t>(u[3]) << 24;
}

}  // namespace

std::string encode_frame(FrameType type, const nlohmann::ordered_json& header, const std::vector<std::string_view>& blobs) {
  const std::string text = dump_json(header);
  std::size_t size = 1 + 4 + text.size();
  for (auto b : blobs) size += 4 + b.size();
  std::string out;
  out.reserve(4 + size);
  put_u32(out, static_cast<std::uint32_t>(size));
  out.push_back(static_cast<char>(type));
  put_u32(out, static_cast<std::uint32_t>(text.size()));
  out += text;
  for (auto b : blobs) {
    put_u32(out, static_cast<std::uint32_t>(b.size()));
    out.append(b.data(), b.size());
  }
  return out;
}

Channel::~Channel() {
  if (fd_ >= 0) ::close(fd_);
}

bool Channel::send(std::string_view bytes) {
  std::lock_guard lock(send_mutex_);
  if (held_.empty()) return write_all(bytes);
  held_.append(bytes);
  const bool ok = write_all(held_);
  held_.clear();
  return ok;
}

void Channel::hold(std::string_view bytes) {
  std::lock_guard lock(send_mutex_);
  held_.append(bytes);
}

bool Channel::flush() {
  std::lock_guard lock(send_mutex_);
  if (held_.empty()) return true;
  const bool ok = write_all(held_);
  held_.clear();
  return ok;
}

bool Channel::write_all(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

ssize_t Channel::receive_some(char* data, std::size_t n) {
  // recvmsg rather than recv, the same one system call: descriptors passed with these bytes are kept.
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFrameFds)];
  iovec iov{data, n};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t got;
  do got = ::recvmsg(fd_, &msg, MSG_CMSG_CLOEXEC);
  while (got < 0 && errno == EINTR);
  if (got < 0) return got;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      passed_.emplace_back(fd);
    }
  }
  // Descriptors the control buffer could not hold are lost: the frames that needed them cannot be read.
  if (msg.msg_flags & MSG_CTRUNC) return -1;
  return got;
}

bool Channel::read_exact(char* data, std::size_t n) {
  while (n > 0) {
    if (begin_ == end_) {
      // A large remainder goes straight into its destination; small frames are read ahead, many per recv.
      const bool direct = n >= kReadAhead;
      const ssize_t got = receive_some(direct ? data : buffer_.get(), direct ? n : kReadAhead);
      if (got <= 0) return false;
      if (direct) {
        data += got;
        n -= static_cast<std::size_t>(got);
        continue;
      }
      begin_ = 0;
      end_ = static_cast<std::size_t>(got);
    }
    const std::size_t take = std::min(n, end_ - begin_);
    std::memcpy(data, buffer_.get() + begin_, take);
    begin_ += take;
    data += take;
    n -= take;
  }
  return true;
}

bool decode_frame(const char* body, std::size_t size, Frame& frame) {
  if (size < 5) return false;
  frame.type = static_cast<FrameType>(static_cast<unsigned char>(body[0]));
  const std::uint32_t text_size = get_u32(body + 1);
  if (text_size > size - 5) return false;
  frame.blobs.clear();
  // Our own peer wrote it; the depth bound only has to keep a corrupt frame from recursing deeply.
  auto parsed = parse_json(std::string_view(body + 5, text_size), 100000);
  if (!parsed.value) return false;
  frame.header = std::move(*parsed.value);
  for (std::size_t at = 5 + text_size; at < size;) {
    if (size - at < 4) return false;
    const std::uint32_t n = get_u32(body + at);
    at += 4;
    if (n > size - at) return false;
    frame.blobs.emplace_back(body + at, n);
    at += n;
  }
  return true;
}

std::uint32_t frame_length(const char* prefix) { return get_u32(prefix); }

bool Channel::receive(Frame& frame) {
  char len[4];
  if (!read_exact(len, 4)) return false;
  const std::uint32_t size = get_u32(len);
  if (size < 5 || size > kMaxFrameBytes) return false;
  std::unique_ptr<char[]> body(new char[size]);  // not zeroed: every byte is read into it
  if (!read_exact(body.get(), size)) return false;
  frame.fds.clear();
  if (!decode_frame(body.get(), size, frame)) return false;
  std::size_t wanted = 0;
  if (frame.header.is_object())
    if (auto it = frame.header.find("fds"); it != frame.header.end()) {
      if (!it->is_number_unsigned()) return false;
      wanted = it->get<std::size_t>();
    }
  if (wanted > passed_.size()) return false;
  for (std::size_t i = 0; i < wanted; ++i) {
    frame.fds.push_back(std::move(passed_.front()));
    passed_.pop_front();
  }
  return true;
}

bool Channel::frame_ready() const {
  const std::size_t buffered = end_ - begin_;
  return buffered >= 4 && buffered - 4 >= get_u32(buffer_.get() + begin_);
}

void Channel::shut() { ::shutdown(fd_, SHUT_RDWR); }

}  // namespace mvi::workers
