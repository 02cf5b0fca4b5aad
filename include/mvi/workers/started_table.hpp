// Which calls a worker process has started, in memory shared with the front (a memfd mapped by both),
// so that when the worker dies the front knows which of the calls it had sent were never started and
// can give them to another worker, without a message per call. One slot per executor thread holds the
// id of the call that thread started last. Thread-safety: mark() from the worker's executor threads,
// started() by the front after the worker has ended.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace mvi::workers {

class StartedTable {
 public:
  static constexpr std::size_t kSlots = 512;  // one page; --threads is at most 256

  // The front: a new zeroed table. Throws std::system_error.
  static StartedTable create();
  // The worker: the table the front made, passed as `fd`. Throws std::system_error.
  static StartedTable open(int fd);

  StartedTable() = default;
  StartedTable(StartedTable&& other) noexcept;
  StartedTable& operator=(StartedTable&& other) noexcept;
  ~StartedTable();

  void mark(std::size_t executor, std::uint64_t call_id) noexcept;
  // Whether the call is in a slot: started and maybe finished (its result was then read before the end).
  bool started(std::uint64_t call_id) const noexcept;
  void clear() noexcept;
  int fd() const noexcept { return fd_; }

 private:
  StartedTable(int fd, std::atomic<std::uint64_t>* slots) : fd_(fd), slots_(slots) {}
  int fd_ = -1;
  std::atomic<std::uint64_t>* slots_ = nullptr;
};

}  // namespace mvi::workers
