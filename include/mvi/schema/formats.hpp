// Parsers for the string formats of SPEC §5 (ISO 8601 date/time, UUID, base64), returning the
// canonical form the Python side builds from. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mvi::schema {

// "2024-05-01T12:00:00Z", "2024-05-01 12:00:00.5+02:00", "2024-05-01" (midnight) → the same
// instant in a form datetime.fromisoformat reads ("2024-05-01T12:00:00+00:00"); nullopt if invalid.
std::optional<std::string> normalize_datetime(std::string_view text);
// "YYYY-MM-DD"
std::optional<std::string> normalize_date(std::string_view text);
// "HH:MM[:SS[.ffffff]][Z|±HH:MM]"
std::optional<std::string> normalize_time(std::string_view text);
// Unix seconds → "1970-01-01T00:00:00+00:00" (fraction kept to microseconds).
std::optional<std::string> unix_to_iso(double seconds);
// 32 hex digits, hyphenated or not, optional braces or "urn:uuid:" → lowercase hyphenated.
std::optional<std::string> normalize_uuid(std::string_view text);
// Standard or URL-safe alphabet, padding optional, whitespace not allowed.
std::optional<std::vector<std::uint8_t>> decode_base64(std::string_view text);
std::string encode_base64(const std::uint8_t* data, std::size_t size);

}  // namespace mvi::schema
