// UTC ISO 8601 times to and from Unix seconds: the one place the runtime writes and reads them (log
// lines, notifications and their e-mails, monitoring exports, datetime arguments given as Unix seconds,
// `since=`/`start=` query values). Pure functions; thread-safe. (The fatal-signal handler in
// src/logs/crash.cpp keeps its own allocation-free copy: it may not call these.)
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mvi::core {

enum class Fraction {
  none,            // "…T12:00:00"
  millis,          // "…T12:00:00.500"
  micros,          // "…T12:00:00.500000"
  micros_if_any,   // "…T12:00:00" for a whole second, else six digits (Python's isoformat)
};

// `seconds` rounded to the fraction asked for (floor for times before 1970), then `zone` appended
// ("Z", "+00:00" or ""). nullopt outside years 1–9999 or for NaN/infinity.
std::optional<std::string> format_iso_utc(double seconds, Fraction fraction, std::string_view zone);

// "2024-05-01T12:00:00", with an optional fraction (any number of digits) and an optional "Z" or
// ±HH:MM offset; a time without one is taken as UTC. A space may stand for the "T". Unix seconds, or
// nullopt when the text is not of that shape.
std::optional<double> parse_iso_seconds(std::string_view text);

// The wall clock now, in Unix seconds.
double unix_now();

// Reads the fixed-width decimal field s[at, at+n) into `out`; false unless all n are ASCII digits.
bool read_digits(std::string_view s, std::size_t at, std::size_t n, int& out);

}  // namespace mvi::core
