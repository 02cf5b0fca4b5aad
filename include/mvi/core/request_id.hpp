// Request ids: accept a caller's X-Request-ID when it is safe to echo and log, else make one.
// Thread-safe (per-thread generator).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mvi::core {

// 1..128 characters of [A-Za-z0-9._-]: nothing that could split a log line or a header.
bool is_valid_request_id(std::string_view id) noexcept;

// The X-MVI-Caller header call_service() sends ("name/version entrypoint"): 1..160 characters of
// [A-Za-z0-9._-/ ], so the callee's access line can say who called without letting a client forge a record.
bool is_valid_caller(std::string_view caller) noexcept;

// 32 lowercase hex characters from a per-thread random generator.
std::string new_request_id();

// The id of a request: its X-Request-ID header when valid, else a new one.
std::string request_id_for(std::optional<std::string_view> incoming);

}  // namespace mvi::core
