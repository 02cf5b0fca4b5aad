// The seam between the HTTP side and whatever runs Python: in-process executor threads today,
// worker processes later (SPEC §9). Implementations are thread-safe: submit() is called from
// I/O threads, and each Completion is called exactly once, from any thread, without the GIL.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace mvi::exec {

struct Call {
  std::size_t entrypoint = 0;  // Registry index
  std::string entrypoint_name;
  nlohmann::json args;         // validated and coerced keyword arguments
  std::string request_id;
};

enum class Outcome {
  ok,           // value holds the JSON-encoded return value
  http_error,   // the function raised HTTPException: status, value = detail, headers
  invalid,      // building an argument failed (e.g. a model's own validator): value = 422 detail list
  exception,    // uncaught exception (already logged with its traceback): answer 500
  unavailable,  // the executor stopped before running the call: answer 503
};

struct CallResult {
  Outcome outcome = Outcome::ok;
  int status = 200;
  nlohmann::json value;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string error;  // "ValueError: boom" for exception
};

using Completion = std::function<void(CallResult)>;

class Invoker {
 public:
  virtual ~Invoker() = default;
  // Queues a call; false when the queue is full (the caller answers 503).
  virtual bool submit(Call call, Completion done) = 0;
  virtual std::size_t queued() const = 0;
  virtual std::size_t busy() const = 0;
  virtual std::size_t executors() const = 0;
  // Finishes running calls, answers queued ones with `unavailable`, joins. Idempotent.
  virtual void stop() = 0;
};

}  // namespace mvi::exec
