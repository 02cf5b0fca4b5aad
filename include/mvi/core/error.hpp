// The one error type of the runtime: a code that maps to an HTTP status and to a process exit code.
// Immutable after construction; safe to copy between threads.
#pragma once

#include <stdexcept>
#include <string>

namespace mvi::core {

enum class ErrorCode {
  usage,            // bad command line or configuration
  load_failed,      // the service file could not be imported or registered
  listen_failed,    // the listening socket could not be opened
  bad_request,      // malformed HTTP or JSON
  not_found,
  method_not_allowed,
  validation,       // input does not match the declared type
  unavailable,      // not ready, draining or overloaded
  internal,
};

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}

  ErrorCode code() const noexcept { return code_; }
  int http_status() const noexcept;
  int exit_code() const noexcept;

  static Error usage(const std::string& m) { return {ErrorCode::usage, m}; }
  static Error load_failed(const std::string& m) { return {ErrorCode::load_failed, m}; }
  static Error listen_failed(const std::string& m) { return {ErrorCode::listen_failed, m}; }
  static Error bad_request(const std::string& m) { return {ErrorCode::bad_request, m}; }
  static Error not_found(const std::string& m) { return {ErrorCode::not_found, m}; }
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
