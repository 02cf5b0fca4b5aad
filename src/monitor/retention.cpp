// Parsing the monitoring retention ("10000rows", "90days", "unlimited"). Pure; thread-safe.
#include "mvi/monitor/monitor_store.hpp"

#include "monitor_store_impl.hpp"

namespace mvi::monitor {

// --- retention --------------------------------------------------------------------------------------------------

std::optional<Retention> parse_retention(std::string_view text) {
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  std::string lower = ascii_lower(std::string(text));
  if (lower == "unlimited" || lower == "none") return Retention{};

  std::size_t i = 0;
  while (i < lower.size() && std::isdigit(static_cast<unsigned char>(lower[i]))) ++i;
  if (i == 0) return std::nullopt;
  bool fraction = false;
  if (i < lower.size() && lower[i] == '.') {
    std::size_t j = i + 1;
    while (j < lower.size() && std::isdigit(static_cast<unsigned char>(lower[j]))) ++j;
    if (j == i + 1) return std::nullopt;
    fraction = true;
    i = j;
  }
  std::string_view number(lower.data(), i);
  while (i < lower.size() && is_space(lower[i])) ++i;
  std::string_view unit(lower.data() + i, lower.size() - i);

  if (unit == "row" || unit == "rows") {
    if (fraction) return std::nullopt;
    std::size_t rows = 0;
    auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), rows);
    if (ec != std::errc() || end != number.data() + number.size() || rows == 0) return std::nullopt;
    return Retention{rows, std::nullopt};
  }

  static const std::unordered_map<std::string_view, double> kUnits = {
      {"s", 1}, {"sec", 1}, {"secs", 1}, {"second", 1}, {"seconds", 1},
      {"m", 60}, {"min", 60}, {"mins", 60}, {"minute", 60}, {"minutes", 60},
      {"h", 3600}, {"hr", 3600}, {"hrs", 3600}, {"hour", 3600}, {"hours", 3600},
      {"d", 86400}, {"day", 86400}, {"days", 86400},
      {"w", 604800}, {"week", 604800}, {"weeks", 604800},
  };
  auto u = kUnits.find(unit);
  if (u == kUnits.end()) return std::nullopt;
  double value = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (ec != std::errc() || end != number.data() + number.size()) return std::nullopt;
  double seconds = value * u->second;
  if (!(seconds > 0) || !std::isfinite(seconds)) return std::nullopt;
  return Retention{std::nullopt, seconds};
}

UnknownVariables::UnknownVariables(std::vector<std::string> unknown)
    : std::runtime_error([&] {
        std::string m = "unknown monitored variable";
        if (unknown.size() != 1) m += 's';
        m += ": ";
        for (std::size_t i = 0; i < unknown.size(); ++i) m += (i ? ", " : "") + unknown[i];
        return m;
      }()),
      names(std::move(unknown)) {}

}  // namespace mvi::monitor
