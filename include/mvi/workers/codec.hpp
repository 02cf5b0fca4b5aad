// What crosses the worker channel, as frames: calls (arguments as JSON, their BuildNotes with packed
// ndarray buffers as blobs), results, log records and notifications. Pure functions; thread-safe.
// Decoders throw std::runtime_error on a frame that does not have the expected shape.
#pragma once

#include <cstdint>
#include <string>

#include "mvi/exec/invoker.hpp"
#include "mvi/logs/record.hpp"
#include "mvi/state/notification_store.hpp"
#include "mvi/workers/channel.hpp"
#include "mvi/workers/shared_blob.hpp"

namespace mvi::workers {

// With a pool, large packed arrays go as its memfds beside the frame (shared_blob.hpp); the rest, and
// all without one, as blobs inside it. A frame that passes memfds needs the reader's mappings.
OutFrame encode_call(std::uint64_t id, const exec::Call& call, BlobPool* pool = nullptr);
exec::Call decode_call(const Frame& frame, std::uint64_t& id, BlobMappings* mappings = nullptr);

// What a worker says besides the result: the parameters generation it had applied when the call
// started, and the seconds it spent on the call (from reading its frame to writing the result).
struct ResultInfo {
  std::uint64_t id = 0;
  std::uint64_t generation = 0;
  double worker_seconds = 0;
};
std::string encode_result(const ResultInfo& info, const exec::CallResult& result);
exec::CallResult decode_result(const Frame& frame, ResultInfo& info);

nlohmann::ordered_json encode_record(const logs::Record& record);
logs::Record decode_record(const nlohmann::ordered_json& header);

nlohmann::ordered_json encode_notification(const state::NotificationInput& input);
state::NotificationInput decode_notification(const nlohmann::ordered_json& header);

}  // namespace mvi::workers
