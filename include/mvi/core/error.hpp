// The one error type of start-up and loading: a code that maps to a process exit code, caught once in
// runtime::run (as CLI11 does). HTTP answers are not exceptions: they are http::Response values made
// by Response::error/json (and http::Rejection before a request is routed). Immutable; safe to copy.
#pragma once

#include <stdexcept>
#include <string>

namespace mvi::core {

enum class ErrorCode {
  usage,          // bad command line or configuration
  load_failed,    // the service file could not be imported or registered
  listen_failed,  // the listening socket could not be opened
  validation,     // a declared value (a parameter's default) does not match its type
  internal,
};

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}

  ErrorCode code() const noexcept { return code_; }
  int exit_code() const noexcept;

  static Error usage(const std::string& m) { return {ErrorCode::usage, m}; }
  static Error load_failed(const std::string& m) { return {ErrorCode::load_failed, m}; }
  static Error listen_failed(const std::string& m) { return {ErrorCode::listen_failed, m}; }
  static Error validation(const std::string& m) { return {ErrorCode::validation, m}; }
  static Error internal(const std::string& m) { return {ErrorCode::internal, m}; }

 private:
  ErrorCode code_;
};

// Process exit codes, documented in docs/configuration.md.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitLoadFailed = 3;
inline constexpr int kExitListenFailed = 4;

}  // namespace mvi::core
