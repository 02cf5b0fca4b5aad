// Calls, results, records and notifications to and from frame headers. A BuildNote tree becomes a
// JSON tree of the same shape ({"c": choice, "a": blob index, "m": descriptor index, "g": pooled memfd
// id, "n": bytes, "d": dtype, "s": shape, "k": children}, defaults omitted), its packed arrays the
// frame's blobs, or from kSharedBlobMin up pooled memfds passed beside it.
#include "mvi/workers/codec.hpp"

#include <chrono>
#include <stdexcept>

namespace mvi::workers {
namespace {

using Json = nlohmann::ordered_json;

// What a call frame carries beside its header: inline blobs (views of the notes' arrays) and the
// pooled memfds of large ones.
struct Carried {
  BlobPool* pool;
  std::vector<std::string_view> blobs;
  std::vector<std::shared_ptr<const core::Fd>> fds;
};

Json note_to_json(const schema::BuildNote& note, Carried& carried) {
  Json out = Json::object();
  if (note.choice) out["c"] = note.choice;
  if (const schema::PackedArray* array = note.array.get()) {
    const std::string_view bytes(reinterpret_cast<const char*>(array->data.data()), array->data.size());
    std::shared_ptr<const SharedBlob> shared;
    if (carried.pool && bytes.size() >= kSharedBlobMin && carried.fds.size() < kMaxFrameFds)
      shared = carried.pool->put(bytes);
    if (shared) {
      out["m"] = carried.fds.size();
      out["g"] = shared->id;
      out["n"] = bytes.size();
      carried.fds.emplace_back(shared, &shared->fd);  // the frame keeps the pooled memfd
    } else {
      out["a"] = carried.blobs.size();
      carried.blobs.push_back(bytes);
    }
    out["d"] = array->dtype;
    out["s"] = array->shape;
  }
  if (!note.children.empty()) {
    Json kids = Json::array();
    for (const auto& child : note.children) kids.push_back(note_to_json(child, carried));
    out["k"] = std::move(kids);
  }
  return out;
}

schema::BuildNote note_from_json(const Json& j, const Frame& frame, BlobMappings* mappings) {
  schema::BuildNote note;
  if (!j.is_object()) throw std::runtime_error("a build note is not an object");
  if (auto c = j.find("c"); c != j.end()) note.choice = c->get<std::size_t>();
  const auto a = j.find("a");
  const auto m = j.find("m");
  if (a != j.end() || m != j.end()) {
    auto packed = std::make_shared<schema::PackedArray>();
    packed->dtype = j.at("d").get<std::string>();
    packed->shape = j.at("s").get<std::vector<std::int64_t>>();
    std::string_view bytes;
    if (m != j.end()) {
      const auto index = m->get<std::size_t>();
      if (index >= frame.fds.size() || !mappings) throw std::runtime_error("a build note names a missing descriptor");
      bytes = mappings->view(j.at("g").get<std::uint64_t>(), frame.fds[index].get(), j.at("n").get<std::size_t>());
    } else {
      const auto index = a->get<std::size_t>();
      if (index >= frame.blobs.size()) throw std::runtime_error("a build note names a missing blob");
      bytes = frame.blobs[index];
    }
    // Copied: the call owns its array however long the user's code keeps it, and the memfd is reused.
    packed->data.assign(bytes.begin(), bytes.end());
    note.array = std::move(packed);
  }
  if (auto k = j.find("k"); k != j.end())
    for (const auto& child : *k) note.children.push_back(note_from_json(child, frame, mappings));
  return note;
}

}  // namespace

OutFrame encode_call(std::uint64_t id, const exec::Call& call, BlobPool* pool) {
  Carried carried{pool, {}, {}};
  Json notes = Json::array();
  for (const auto& note : call.notes) notes.push_back(note_to_json(note, carried));
  Json header = {{"id", id},
                 {"entrypoint", call.entrypoint},
                 {"name", call.entrypoint_name},
                 {"request_id", call.request_id},
                 {"args", call.args},
                 {"notes", std::move(notes)}};
  // A call the HTTP side watches (an async one) can be cancelled later by a `cancel` frame.
  if (call.cancel && call.cancel->watch_requested()) header["cancellable"] = true;
  if (!carried.fds.empty()) header["fds"] = carried.fds.size();
  return OutFrame{encode_frame(FrameType::call, header, carried.blobs), std::move(carried.fds)};
}

exec::Call decode_call(const Frame& frame, std::uint64_t& id, BlobMappings* mappings) {
  try {
    const Json& h = frame.header;
    id = h.at("id").get<std::uint64_t>();
    exec::Call call;
    call.entrypoint = h.at("entrypoint").get<std::size_t>();
    call.entrypoint_name = h.at("name").get<std::string>();
    call.request_id = h.at("request_id").get<std::string>();
    call.args = h.at("args");
    if (h.value("cancellable", false)) call.cancel = std::make_shared<core::CancelToken>();
    for (const auto& note : h.at("notes")) call.notes.push_back(note_from_json(note, frame, mappings));
    return call;
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(std::string("malformed call frame: ") + e.what());
  }
}

std::string encode_result(const ResultInfo& info, const exec::CallResult& r) {
  Json header = {{"id", info.id},
                 {"outcome", static_cast<int>(r.outcome)},
                 {"generation", info.generation},
                 {"took", info.worker_seconds}};
  if (!r.value.is_null()) header["value"] = r.value;
  if (!r.error.empty()) header["error"] = r.error;
  if (r.outcome == exec::Outcome::http_error) {
    Json headers = Json::array();
    for (const auto& [k, v] : r.raised.headers) headers.push_back(Json::array({k, v}));
    header["status"] = r.raised.status;
    header["headers"] = std::move(headers);
  }
  return encode_frame(FrameType::result, header);
}

exec::CallResult decode_result(const Frame& frame, ResultInfo& info) {
  try {
    const Json& h = frame.header;
    info.id = h.at("id").get<std::uint64_t>();
    info.generation = h.at("generation").get<std::uint64_t>();
    info.worker_seconds = h.value("took", 0.0);
    const int outcome = h.at("outcome").get<int>();
    Json value = h.contains("value") ? h["value"] : Json();
    switch (static_cast<exec::Outcome>(outcome)) {
      case exec::Outcome::ok: return exec::CallResult::ok(std::move(value));
      case exec::Outcome::invalid: return exec::CallResult::invalid(std::move(value));
      case exec::Outcome::exception: return exec::CallResult::exception(h.value("error", std::string()));
      case exec::Outcome::unavailable: return exec::CallResult::unavailable();
      case exec::Outcome::cancelled: return exec::CallResult::cancelled();
      case exec::Outcome::worker_lost:
      case exec::Outcome::timed_out: break;  // the front's own verdicts, never sent
      case exec::Outcome::http_error: {
        exec::RaisedHttpError raised;
        raised.status = h.at("status").get<int>();
        for (const auto& kv : h.at("headers")) raised.headers.emplace_back(kv.at(0).get<std::string>(), kv.at(1).get<std::string>());
        return exec::CallResult::http_error(std::move(raised), std::move(value));
      }
    }
    throw std::runtime_error("unknown outcome " + std::to_string(outcome));
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(std::string("malformed result frame: ") + e.what());
  }
}

Json encode_record(const logs::Record& r) {
  Json out = {{"t", std::chrono::duration_cast<std::chrono::microseconds>(r.time.time_since_epoch()).count()},
              {"level", static_cast<int>(r.level)},
              {"logger", r.logger},
              {"message", r.message}};
  if (!r.entrypoint.empty()) out["entrypoint"] = r.entrypoint;
  if (!r.request_id.empty()) out["request_id"] = r.request_id;
  if (!r.traceback.empty()) out["traceback"] = r.traceback;
  return out;
}

logs::Record decode_record(const Json& h) {
  try {
    logs::Record r;
    r.time = std::chrono::system_clock::time_point(std::chrono::microseconds(h.at("t").get<std::int64_t>()));
    const int level = h.at("level").get<int>();
    if (level < 0 || level > static_cast<int>(logs::Level::critical)) throw std::runtime_error("bad log level");
    r.level = static_cast<logs::Level>(level);
    r.logger = h.at("logger").get<std::string>();
    r.message = h.at("message").get<std::string>();
    r.entrypoint = h.value("entrypoint", std::string());
    r.request_id = h.value("request_id", std::string());
    r.traceback = h.value("traceback", std::string());
    return r;
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(std::string("malformed log frame: ") + e.what());
  }
}

Json encode_notification(const state::NotificationInput& n) {
  return {{"msg", n.msg},         {"severity", n.severity},     {"dashboard", n.dashboard}, {"emails", n.emails},
          {"timer", n.timer},     {"entrypoint", n.entrypoint}, {"request_id", n.request_id}};
}

state::NotificationInput decode_notification(const Json& h) {
  try {
    state::NotificationInput n;
    n.msg = h.at("msg").get<std::string>();
    n.severity = h.at("severity").get<int>();
    n.dashboard = h.at("dashboard").get<bool>();
    n.emails = h.at("emails").get<std::vector<std::string>>();
    n.timer = h.at("timer").get<double>();
    n.entrypoint = h.at("entrypoint").get<std::string>();
    n.request_id = h.at("request_id").get<std::string>();
    return n;
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(std::string("malformed notification frame: ") + e.what());
  }
}

}  // namespace mvi::workers
