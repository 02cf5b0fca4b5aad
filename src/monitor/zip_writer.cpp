// STORE-only zip writer (APPNOTE.TXT 6.3: local file header 4.3.7, central directory header 4.3.12, end of
// central directory record 4.3.16), all fields little-endian. Pure functions and one single-threaded class.
#include "zip_writer.hpp"

#include <array>
#include <limits>
#include <stdexcept>

namespace mvi::monitor {

namespace {

constexpr std::uint32_t kLocalHeaderSignature = 0x04034b50;
constexpr std::uint32_t kCentralHeaderSignature = 0x02014b50;
constexpr std::uint32_t kEndOfCentralSignature = 0x06054b50;
constexpr std::uint16_t kVersionNeeded = 20;                   // 2.0: plain stored files
constexpr std::uint16_t kVersionMadeBy = (3 << 8) | 20;        // Unix host, so external attributes are a mode
constexpr std::uint32_t kRegularFileMode = 0100644u << 16;     // -rw-r--r--
constexpr std::uint16_t kFlagUtf8 = 1 << 11;
constexpr std::uint64_t kMax32 = std::numeric_limits<std::uint32_t>::max();

constexpr std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr auto kCrcTable = make_crc_table();

void put16(std::string& out, std::uint16_t v) {
  out += static_cast<char>(v & 0xff);
  out += static_cast<char>((v >> 8) & 0xff);
}

void put32(std::string& out, std::uint32_t v) {
  put16(out, static_cast<std::uint16_t>(v & 0xffff));
  put16(out, static_cast<std::uint16_t>(v >> 16));
}

bool is_ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}

}  // namespace

std::uint32_t crc32(std::string_view data, std::uint32_t crc) noexcept {
  crc = ~crc;
  for (unsigned char c : data) crc = kCrcTable[(crc ^ c) & 0xff] ^ (crc >> 8);
  return ~crc;
}

ZipWriter::ZipWriter(std::time_t modified) {
  std::tm tm{};
  if (gmtime_r(&modified, &tm) && tm.tm_year + 1900 >= 1980 && tm.tm_year + 1900 <= 2107) {
    dos_time_ = static_cast<std::uint16_t>((tm.tm_hour << 11) | (tm.tm_min << 5) | (tm.tm_sec / 2));
    dos_date_ = static_cast<std::uint16_t>(((tm.tm_year + 1900 - 1980) << 9) | ((tm.tm_mon + 1) << 5) | tm.tm_mday);
  } else {
    dos_date_ = (1 << 5) | 1;  // 1980-01-01, the earliest a zip can say
  }
}

void ZipWriter::add(std::string_view name, std::string_view data) {
  if (entries_ >= 0xffff) throw std::length_error("zip: more than 65535 entries needs Zip64");
  if (name.size() > 0xffff) throw std::length_error("zip: entry name too long");
  const std::uint64_t offset = body_.size();
  if (data.size() > kMax32 || offset + 30 + name.size() + data.size() > kMax32)
    throw std::length_error("zip: archive over 4 GiB needs Zip64");

  const std::uint32_t crc = crc32(data);
  const auto size = static_cast<std::uint32_t>(data.size());
  const std::uint16_t flags = is_ascii(name) ? 0 : kFlagUtf8;
  const auto name_len = static_cast<std::uint16_t>(name.size());

  put32(body_, kLocalHeaderSignature);
  put16(body_, kVersionNeeded);
  put16(body_, flags);
  put16(body_, 0);  // method: stored
  put16(body_, dos_time_);
  put16(body_, dos_date_);
  put32(body_, crc);
  put32(body_, size);  // compressed size
  put32(body_, size);  // uncompressed size
  put16(body_, name_len);
  put16(body_, 0);  // extra field length
  body_.append(name);
  body_.append(data);

  put32(central_, kCentralHeaderSignature);
  put16(central_, kVersionMadeBy);
  put16(central_, kVersionNeeded);
  put16(central_, flags);
  put16(central_, 0);
  put16(central_, dos_time_);
  put16(central_, dos_date_);
  put32(central_, crc);
  put32(central_, size);
  put32(central_, size);
  put16(central_, name_len);
  put16(central_, 0);  // extra field length
  put16(central_, 0);  // comment length
  put16(central_, 0);  // disk number start
  put16(central_, 0);  // internal attributes
  put32(central_, kRegularFileMode);
  put32(central_, static_cast<std::uint32_t>(offset));
  central_.append(name);
  ++entries_;
}

std::string ZipWriter::finish() {
  if (body_.size() + central_.size() > kMax32) throw std::length_error("zip: archive over 4 GiB needs Zip64");
  std::string out = std::move(body_);
  const auto central_offset = static_cast<std::uint32_t>(out.size());
  const auto central_size = static_cast<std::uint32_t>(central_.size());
  out += central_;
  put32(out, kEndOfCentralSignature);
  put16(out, 0);  // this disk
  put16(out, 0);  // disk with the central directory
  put16(out, static_cast<std::uint16_t>(entries_));
  put16(out, static_cast<std::uint16_t>(entries_));
  put32(out, central_size);
  put32(out, central_offset);
  put16(out, 0);  // comment length
  body_.clear();
  central_.clear();
  entries_ = 0;
  return out;
}

}  // namespace mvi::monitor
