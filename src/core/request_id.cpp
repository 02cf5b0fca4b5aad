// Request id validation and generation; the generator is thread_local so no lock is taken.
#include "mvi/core/request_id.hpp"

#include <random>

namespace mvi::core {

namespace {

bool id_character(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-';
}

}  // namespace

bool is_valid_request_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id)
    if (!id_character(c)) return false;
  return true;
}

bool is_valid_caller(std::string_view caller) noexcept {
  if (caller.empty() || caller.size() > 160 || caller.front() == ' ' || caller.back() == ' ') return false;
  for (char c : caller)
    if (!id_character(c) && c != '/' && c != ' ') return false;
  return true;
}

std::string new_request_id() {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(32, '0');
  for (int half = 0; half < 2; ++half) {
    uint64_t bits = gen();
    for (int i = 0; i < 16; ++i) {
      out[half * 16 + i] = kHex[bits & 0xf];
      bits >>= 4;
    }
  }
  return out;
}

std::string request_id_for(std::optional<std::string_view> incoming) {
  return incoming && is_valid_request_id(*incoming) ? std::string(*incoming) : new_request_id();
}

}  // namespace mvi::core
