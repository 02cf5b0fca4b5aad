// The runtime's own version, shown by --version and never in HTTP responses.
#pragma once

namespace mvi {
inline constexpr const char* kVersion = "0.1.0";
}
