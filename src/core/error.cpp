// Maps error codes to HTTP statuses and exit codes; pure functions, thread-safe.
#include "mvi/core/error.hpp"

namespace mvi::core {

int Error::http_status() const noexcept {
  switch (code_) {
    case ErrorCode::bad_request: return 400;
    case ErrorCode::not_found: return 404;
    case ErrorCode::method_not_allowed: return 405;
    case ErrorCode::validation: return 422;
    case ErrorCode::unavailable: return 503;
    default: return 500;
  }
}

int Error::exit_code() const noexcept {
  switch (code_) {
    case ErrorCode::usage: return kExitUsage;
    case ErrorCode::load_failed: return kExitLoadFailed;
    case ErrorCode::listen_failed: return kExitListenFailed;
    default: return kExitFailure;
  }
}

}  // namespace mvi::core
