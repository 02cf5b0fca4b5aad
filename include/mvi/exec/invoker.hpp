// The seam between the HTTP side and whatever runs Python: in-process executor threads today,
// worker processes later (SPEC §9). Implementations are thread-safe: submit() is called from
// I/O threads, and each Completion is called exactly once, from any thread, without the GIL.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "mvi/core/cancel.hpp"
#include "mvi/schema/validator.hpp"

namespace mvi::exec {

struct Call {
  std::size_t entrypoint = 0;  // Registry index
  std::string entrypoint_name;
  nlohmann::ordered_json args;          // validated and coerced keyword arguments, in declaration order
  std::vector<schema::BuildNote> notes;  // one per Entrypoint::params entry: what building needs
  std::string request_id;
  // Cancelled when the client leaves or the deadline answered: a queued call is then dropped before
  // Python sees it, an awaited coroutine is cancelled. May be null (never cancelled).
  std::shared_ptr<core::CancelToken> cancel;
  // Isolated mode: the parameter values ({name: value}) the call sees from start to end, taken with
  // the generation it reports. Null: the call reads the live store.
  std::shared_ptr<const nlohmann::ordered_json> parameters;
  // Called on the executor thread (with its index) as it starts the call; may be empty. Isolated mode
  // marks the call started in memory the front reads if the worker dies (workers::StartedTable).
  std::function<void(std::size_t executor)> on_start;
};

enum class Outcome {
  ok,           // value holds the JSON-encoded return value
  http_error,   // the function raised HTTPException: status, value = detail, headers
  invalid,      // building an argument failed (e.g. a model's own validator): value = 422 detail list
  exception,    // uncaught exception (already logged with its traceback): answer 500
  unavailable,  // the executor stopped before running the call: answer 503
  cancelled,    // the call's token was cancelled before it ran, or its coroutine was cancelled
  worker_lost,  // isolated mode: the worker process running the call died (error: the cause): answer 502
  timed_out,    // isolated mode: the call ran past --call-timeout and its worker was killed (error: why): 504
};

// A call an executor is running now, for /status, /health/ready and the shutdown log.
struct RunningCall {
  std::string entrypoint;
  std::string request_id;
  std::chrono::steady_clock::time_point started;
};

// What a function's HTTPException asked for (Outcome::http_error only).
struct RaisedHttpError {
  int status = 500;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Made with the factories, so each outcome carries exactly its own data; the HTTP status of every
// outcome but http_error is fixed by the outcome itself (docs/architecture.md, "error types").
struct CallResult {
  Outcome outcome = Outcome::ok;
  nlohmann::ordered_json value;  // ok: the return value; http_error: the detail; invalid: the 422 detail list
  std::string error;             // exception: "ValueError: boom"
  RaisedHttpError raised;        // http_error only
  // The parameters generation the call saw, when the invoker knows it (a worker process reports the
  // generation it had applied when the call started); unset: the one read when the call was submitted.
  std::optional<std::uint64_t> generation;

  static CallResult ok(nlohmann::ordered_json value) { return {Outcome::ok, std::move(value), {}, {}, std::nullopt}; }
  static CallResult http_error(RaisedHttpError raised, nlohmann::ordered_json detail) {
    return {Outcome::http_error, std::move(detail), {}, std::move(raised), std::nullopt};
  }
  static CallResult invalid(nlohmann::ordered_json detail) { return {Outcome::invalid, std::move(detail), {}, {}, std::nullopt}; }
  static CallResult exception(std::string error) { return {Outcome::exception, nullptr, std::move(error), {}, std::nullopt}; }
  static CallResult unavailable() { return {Outcome::unavailable, nullptr, {}, {}, std::nullopt}; }
  static CallResult cancelled() { return {Outcome::cancelled, nullptr, {}, {}, std::nullopt}; }
  static CallResult timed_out(std::string why) { return {Outcome::timed_out, nullptr, std::move(why), {}, std::nullopt}; }
  static CallResult worker_lost(std::string cause) { return {Outcome::worker_lost, nullptr, std::move(cause), {}, std::nullopt}; }
};

// One worker process of isolated mode, for /status.
struct WorkerStatus {
  int index = 0;
  long pid = 0;                // 0 while none runs
  std::string state;           // NOT_STARTED, STARTING, RUNNING, FAILED, STOPPING (seed 004)
  std::uint64_t restarts = 0;
  std::uint64_t calls = 0;     // answered by this slot's processes
  std::size_t in_flight = 0;   // calls sent to it and not answered yet
  std::size_t busy = 0;        // of those, the ones it has started
  std::vector<std::pair<std::string, std::uint64_t>> restarts_by_cause;  // crash, exit, call_timeout, …
  std::uint64_t rss_bytes = 0;
  std::string last_exit;       // why its previous process ended, e.g. "killed by SIGSEGV"
  bool jobs = false;           // it runs the service's call_every jobs
};

using Completion = std::function<void(CallResult)>;

class Invoker {
 public:
  virtual ~Invoker() = default;
  // Queues a call; false when the queue is full (the caller answers 503).
  virtual bool submit(Call call, Completion done) = 0;
  // Cheap (no lock): the HTTP side reads it on every entrypoint request.
  virtual std::size_t queued() const = 0;
  virtual std::size_t busy() const = 0;
  // The most executors that may run calls (--threads is a maximum).
  virtual std::size_t executors() const = 0;
  // Executors that take calls now: the others wake only while calls block. At most executors().
  virtual std::size_t awake() const { return executors(); }
  // Calls waiting for an executor wherever they wait (isolated mode: also those a worker holds and has
  // not started). May lock: for /health/ready and /status, not the request path.
  virtual std::size_t waiting() const { return queued(); }
  // The calls executors are running now (async calls awaited on the event loop are not included).
  virtual std::vector<RunningCall> running() const = 0;
  // Isolated mode's worker processes (empty in-process).
  virtual std::vector<WorkerStatus> workers() const { return {}; }
  // False while no executor can take a call (isolated mode: no worker RUNNING); /health/ready is 503.
  virtual bool serving() const { return true; }
  // Finishes running calls, answers queued ones with `unavailable`, joins. Idempotent.
  virtual void stop() = 0;
};

}  // namespace mvi::exec
