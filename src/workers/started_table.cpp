// A one-page memfd shared by the front and one worker (started_table.hpp).
#include "mvi/workers/started_table.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <utility>

namespace mvi::workers {
namespace {

constexpr std::size_t kBytes = StartedTable::kSlots * sizeof(std::uint64_t);

std::atomic<std::uint64_t>* map(int fd) {
  void* p = ::mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "mmap of the started-calls table");
  return static_cast<std::atomic<std::uint64_t>*>(p);
}

}  // namespace

StartedTable StartedTable::create() {
  const int fd = ::memfd_create("mvi-started-calls", MFD_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "memfd_create");
  if (::ftruncate(fd, kBytes) != 0) {
    const int e = errno;
    ::close(fd);
    throw std::system_error(e, std::generic_category(), "ftruncate of the started-calls table");
  }
  try {
    return StartedTable(fd, map(fd));
  } catch (...) {
    ::close(fd);
    throw;
  }
}

StartedTable StartedTable::open(int fd) { return StartedTable(fd, map(fd)); }

StartedTable::StartedTable(StartedTable&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), slots_(std::exchange(other.slots_, nullptr)) {}

StartedTable& StartedTable::operator=(StartedTable&& other) noexcept {
  if (this != &other) {
    this->~StartedTable();
    fd_ = std::exchange(other.fd_, -1);
    slots_ = std::exchange(other.slots_, nullptr);
  }
  return *this;
}

StartedTable::~StartedTable() {
  if (slots_) ::munmap(slots_, kBytes);
  if (fd_ >= 0) ::close(fd_);
}

void StartedTable::mark(std::size_t executor, std::uint64_t call_id) noexcept {
  if (slots_ && executor < kSlots) slots_[executor].store(call_id, std::memory_order_release);
}

bool StartedTable::started(std::uint64_t call_id) const noexcept {
  if (!slots_) return true;  // unknown: never assume a call did not run
  for (std::size_t i = 0; i < kSlots; ++i)
    if (slots_[i].load(std::memory_order_acquire) == call_id) return true;
  return false;
}

void StartedTable::clear() noexcept {
  if (slots_)
    for (std::size_t i = 0; i < kSlots; ++i) slots_[i].store(0, std::memory_order_relaxed);
}

}  // namespace mvi::workers
