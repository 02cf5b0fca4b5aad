// Maps error codes to exit codes; pure functions, thread-safe.
#include "mvi/core/error.hpp"

namespace mvi::core {

int Error::exit_code() const noexcept {
  switch (code_) {
    case ErrorCode::usage: return kExitUsage;
    case ErrorCode::load_failed: return kExitLoadFailed;
    case ErrorCode::listen_failed: return kExitListenFailed;
    default: return kExitFailure;
  }
}

}  // namespace mvi::core
