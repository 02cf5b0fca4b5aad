// Large blobs of a call frame in shared memory (isolated mode, SPEC §9): the front writes a packed
// ndarray into a memfd from its BlobPool and passes the descriptor beside the frame (SCM_RIGHTS); the
// worker maps each memfd once (BlobMappings) and copies the bytes out as it reads the frame. Reused,
// because on this VM creating, mapping and unmapping 800 KB of shared memory per call costs ten times
// the copy (docs/performance.md, "Worker processes"). Thread-safety: BlobPool is thread-safe;
// BlobMappings is used by one thread at a time (the one reading frames).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "mvi/core/fd.hpp"

namespace mvi::workers {

// Blobs from this size up go through shared memory; smaller ones inside the frame cost less.
inline constexpr std::size_t kSharedBlobMin = 64 * 1024;

// A memfd of the pool. `id` names it for the front's lifetime (a worker keeps its mapping under it);
// `capacity` is its size, fixed at creation.
struct SharedBlob {
  std::uint64_t id = 0;
  std::size_t capacity = 0;
  core::Fd fd;
};

class BlobPool {
 public:
  // Free memfds are kept up to `keep_bytes` in all; beyond that a returned one is closed.
  explicit BlobPool(std::size_t keep_bytes = 64u << 20);
  // A memfd holding `bytes` from offset 0: a free one large enough, or a new one. It returns to the pool
  // when its last owner lets it go and is not written before: a frame owns it until the call is answered,
  // long after the worker copied the bytes. Null when memfd is unavailable (seccomp, descriptors or
  // memory exhausted): the caller sends the blob inside the frame.
  std::shared_ptr<const SharedBlob> put(std::string_view bytes);
  std::size_t free_count() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

class BlobMappings {
 public:
  // Unmaps least recently used mappings beyond these bounds.
  explicit BlobMappings(std::size_t max_mapped_bytes = 64u << 20, std::size_t max_mappings = 32);
  ~BlobMappings();
  BlobMappings(const BlobMappings&) = delete;
  BlobMappings& operator=(const BlobMappings&) = delete;

  // Bytes [0, size) of blob `id`, whose memfd came as `fd`: mapped (read-only, shared) the first time
  // the id is seen, reused after. Valid until the next view(). Throws std::runtime_error when the memfd
  // is smaller than `size` or cannot be mapped.
  std::string_view view(std::uint64_t id, int fd, std::size_t size);
  std::size_t mapped_count() const { return mappings_.size(); }

 private:
  struct Mapping {
    std::uint64_t id;
    const char* data;
    std::size_t size;
    std::uint64_t used;
  };
  void evict(std::size_t keep_index);

  std::vector<Mapping> mappings_;
  std::size_t mapped_bytes_ = 0;
  std::size_t max_mapped_bytes_;
  std::size_t max_mappings_;
  std::uint64_t clock_ = 0;
};

}  // namespace mvi::workers
