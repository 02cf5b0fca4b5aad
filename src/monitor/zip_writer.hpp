// A minimal zip writer for /~monitor/csv: STORE (uncompressed) entries, CRC-32, local headers and a central
// directory, no Zip64 (an archive over 4 GiB or 65535 entries is refused). Private to src/monitor.
// Not thread-safe: one writer per archive, used by one thread.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

namespace mvi::monitor {

// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as zip and zlib compute it; chainable through `crc`.
std::uint32_t crc32(std::string_view data, std::uint32_t crc = 0) noexcept;

class ZipWriter {
 public:
  // Every entry gets `modified` (UTC) as its MS-DOS time stamp.
  explicit ZipWriter(std::time_t modified);

  // Appends one file. Names that are not ASCII are flagged as UTF-8 (general purpose bit 11).
  // Throws std::length_error beyond the limits of a zip without Zip64.
  void add(std::string_view name, std::string_view data);

  // The archive: the entries, the central directory and its end record. The writer is empty afterwards.
  std::string finish();

 private:
  std::string body_;     // local headers and data
  std::string central_;  // central directory records
  std::uint32_t entries_ = 0;
  std::uint16_t dos_time_ = 0;
  std::uint16_t dos_date_ = 0;
};

}  // namespace mvi::monitor
