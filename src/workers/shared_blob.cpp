// The front writes into a pooled memfd with pwrite (no mapping in the front, so nothing to unmap on a
// threaded process); the worker maps each memfd once, populated in the same system call, and keeps it.
#include "mvi/workers/shared_blob.hpp"

#include <sys/mman.h>
#include <sys/stat.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>

namespace mvi::workers {

struct BlobPool::State {
  std::mutex mutex;
  std::vector<std::unique_ptr<SharedBlob>> free;  // guarded by mutex
  std::size_t free_bytes = 0;                      // guarded by mutex
  std::uint64_t next_id = 1;                       // guarded by mutex
  std::size_t keep_bytes = 0;

  void give_back(SharedBlob* blob) {
    std::unique_ptr<SharedBlob> owned(blob);
    std::lock_guard lock(mutex);
    if (free_bytes + blob->capacity > keep_bytes) return;
    free_bytes += blob->capacity;
    free.push_back(std::move(owned));
  }
};

BlobPool::BlobPool(std::size_t keep_bytes) : state_(std::make_shared<State>()) { state_->keep_bytes = keep_bytes; }

std::size_t BlobPool::free_count() const {
  std::lock_guard lock(state_->mutex);
  return state_->free.size();
}

std::shared_ptr<const SharedBlob> BlobPool::put(std::string_view bytes) {
  std::unique_ptr<SharedBlob> blob;
  {
    std::lock_guard lock(state_->mutex);
    // The smallest free one that holds it.
    auto& free = state_->free;
    auto best = free.end();
    for (auto it = free.begin(); it != free.end(); ++it)
      if ((*it)->capacity >= bytes.size() && (best == free.end() || (*it)->capacity < (*best)->capacity)) best = it;
    if (best != free.end()) {
      blob = std::move(*best);
      free.erase(best);
      state_->free_bytes -= blob->capacity;
    } else {
      blob = std::make_unique<SharedBlob>();
      blob->id = state_->next_id++;
    }
  }
  if (!blob->fd) {
    // A power of two: a pooled memfd serves the sizes near the one it was made for.
    blob->capacity = std::bit_ceil(std::max(bytes.size(), kSharedBlobMin));
    blob->fd = core::Fd(::memfd_create("mvi-blob", MFD_CLOEXEC));
    if (!blob->fd || ::ftruncate(blob->fd.get(), static_cast<off_t>(blob->capacity)) != 0) return nullptr;
  }
  for (std::size_t at = 0; at < bytes.size();) {
    const ssize_t n = ::pwrite(blob->fd.get(), bytes.data() + at, bytes.size() - at, static_cast<off_t>(at));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return nullptr;  // ENOSPC (a tmpfs or memory cgroup limit): the blob goes inline
    at += static_cast<std::size_t>(n);
  }
  return std::shared_ptr<const SharedBlob>(blob.release(),
                                           [state = state_](const SharedBlob* b) { state->give_back(const_cast<SharedBlob*>(b)); });
}

BlobMappings::BlobMappings(std::size_t max_mapped_bytes, std::size_t max_mappings)
    : max_mapped_bytes_(max_mapped_bytes), max_mappings_(std::max<std::size_t>(max_mappings, 1)) {}

BlobMappings::~BlobMappings() {
  for (const auto& m : mappings_) ::munmap(const_cast<char*>(m.data), m.size);
}

std::string_view BlobMappings::view(std::uint64_t id, int fd, std::size_t size) {
  ++clock_;
  for (auto& m : mappings_)
    if (m.id == id) {
      if (size > m.size) throw std::runtime_error("shared blob " + std::to_string(id) + " is smaller than its frame says");
      m.used = clock_;
      return {m.data, size};
    }
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw std::runtime_error(std::string("shared blob: fstat: ") + std::strerror(errno));
  // Reading past the memfd's end would fault with SIGBUS: check before mapping.
  const auto length = static_cast<std::size_t>(std::max<off_t>(st.st_size, 0));
  if (length < size)
    throw std::runtime_error("shared blob: the descriptor holds " + std::to_string(length) + " bytes, the frame says " +
                             std::to_string(size));
  if (length == 0) return {};
  void* at = ::mmap(nullptr, length, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
  if (at == MAP_FAILED) throw std::runtime_error(std::string("shared blob: mmap: ") + std::strerror(errno));
  mappings_.push_back({id, static_cast<const char*>(at), length, clock_});
  mapped_bytes_ += length;
  evict(mappings_.size() - 1);
  return {static_cast<const char*>(at), size};
}

void BlobMappings::evict(std::size_t keep_index) {
  const std::uint64_t keep_id = mappings_[keep_index].id;
  while (mappings_.size() > 1 && (mappings_.size() > max_mappings_ || mapped_bytes_ > max_mapped_bytes_)) {
    auto oldest = mappings_.end();
    for (auto it = mappings_.begin(); it != mappings_.end(); ++it)
      if (it->id != keep_id && (oldest == mappings_.end() || it->used < oldest->used)) oldest = it;
    ::munmap(const_cast<char*>(oldest->data), oldest->size);
    mapped_bytes_ -= oldest->size;
    mappings_.erase(oldest);
  }
}

}  // namespace mvi::workers
