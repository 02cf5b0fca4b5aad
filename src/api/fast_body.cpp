// simdjson DOM parsing of an arguments object; numeric ndarray arguments become packed buffers,
// everything else becomes ordinary nlohmann values for the validator.
#include "mvi/api/fast_body.hpp"

#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

// simdjson's inline code trips GCC 12's maybe-uninitialized analysis; the header is not ours to fix.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#include <simdjson.h>
#pragma GCC diagnostic pop

#include "mvi/core/json.hpp"
#include "mvi/schema/ndarray.hpp"

namespace mvi::api {
namespace {

using json = nlohmann::ordered_json;
namespace sj = simdjson;

constexpr std::size_t kMinBody = 16 * 1024;  // below this nlohmann is as fast and simpler
// Objects are built here without an index for repeated keys; larger ones go to the general parser,
// which finds repeats in linear time.
constexpr std::size_t kMaxObjectKeys = 32;

// Sets `key` in a small object: a repeated key keeps its first position and its last value.
void set_member(json& object, std::string key, json value) {
  for (auto& member : object.get_ref<json::object_t&>())
    if (member.first == key) {
      member.second = std::move(value);
      return;
    }
  append_member(object, std::move(key), std::move(value));
}

std::optional<json> to_json(sj::dom::element e, std::size_t depth, std::size_t max_depth) {
  if (depth > max_depth) return std::nullopt;
  switch (e.type()) {
    case sj::dom::element_type::ARRAY: {
      json out = json::array();
      sj::dom::array items = e.get_array().value_unsafe();  // named: value_unsafe() refers into a temporary
      for (auto item : items) {
        auto v = to_json(item, depth + 1, max_depth);
        if (!v) return std::nullopt;
        out.push_back(std::move(*v));
      }
      return out;
    }
    case sj::dom::element_type::OBJECT: {
      json out = json::object();
      sj::dom::object fields = e.get_object().value_unsafe();
      if (fields.size() > kMaxObjectKeys) return std::nullopt;
      for (auto field : fields) {
        auto v = to_json(field.value, depth + 1, max_depth);
        if (!v) return std::nullopt;
        set_member(out, std::string(field.key), std::move(*v));
      }
      return out;
    }
    case sj::dom::element_type::INT64: return json(e.get_int64().value_unsafe());
    case sj::dom::element_type::UINT64: return json(e.get_uint64().value_unsafe());
    case sj::dom::element_type::DOUBLE: return json(e.get_double().value_unsafe());
    case sj::dom::element_type::STRING: return json(std::string(e.get_string().value_unsafe()));
    case sj::dom::element_type::BOOL: return json(e.get_bool().value_unsafe());
    case sj::dom::element_type::NULL_VALUE: return json(nullptr);
  }
  return std::nullopt;
}

// Writes the numbers of a rectangular nested array in C order, converted to T; false at the first
// ragged row or anything but an int64/double (big ints, bools, strings, nulls: the general path decides).
template <class T>
bool fill(sj::dom::element node, const std::vector<std::int64_t>& shape, std::size_t depth, std::uint8_t*& out,
          bool& all_int) {
  if (node.type() != sj::dom::element_type::ARRAY) return false;
  sj::dom::array arr = node.get_array().value_unsafe();
  if (static_cast<std::int64_t>(arr.size()) != shape[depth]) return false;
  if (depth + 1 < shape.size()) {
    for (sj::dom::element item : arr)
      if (!fill<T>(item, shape, depth + 1, out, all_int)) return false;
    return true;
  }
  // The innermost rows hold nearly every number: one tight loop, no recursion, no intermediate vector.
  // memcpy of a T compiles to one store and keeps the byte buffer free of aliasing questions.
  for (sj::dom::element item : arr) {
    T v;
    switch (item.type()) {
      case sj::dom::element_type::DOUBLE:
        v = static_cast<T>(item.get_double().value_unsafe());
        all_int = false;
        break;
      case sj::dom::element_type::INT64: v = static_cast<T>(item.get_int64().value_unsafe()); break;
      default: return false;
    }
    std::memcpy(out, &v, sizeof v);
    out += sizeof v;
  }
  return true;
}

std::shared_ptr<schema::PackedArray> packed(const char* dtype, std::vector<std::int64_t> shape,
                                            std::vector<std::uint8_t> bytes) {
  return std::make_shared<schema::PackedArray>(schema::PackedArray{dtype, std::move(shape), std::move(bytes)});
}

// Packs a rectangular array of numbers; null for anything else (the general path decides).
std::shared_ptr<schema::PackedArray> pack(sj::dom::element e, const schema::TypeDesc& t) {
  const bool f32 = t.dtype == "float32";
  if (!t.dtype.empty() && t.dtype != "float64" && !f32) return nullptr;
  std::vector<std::int64_t> shape;
  sj::dom::element probe = e;
  while (probe.type() == sj::dom::element_type::ARRAY) {
    auto arr = probe.get_array().value_unsafe();
    shape.push_back(static_cast<std::int64_t>(arr.size()));
    if (arr.size() == 0) break;
    probe = *arr.begin();
  }
  if (shape.empty()) return nullptr;
  std::size_t total = 1;
  for (auto d : shape) total *= static_cast<std::size_t>(d);

  bool all_int = true;
  std::vector<std::uint8_t> bytes(total * (f32 ? sizeof(float) : sizeof(double)));
  std::uint8_t* out = bytes.data();
  if (f32) {
    if (!fill<float>(e, shape, 0, out, all_int)) return nullptr;
    return packed("float32", std::move(shape), std::move(bytes));
  }
  if (!fill<double>(e, shape, 0, out, all_int)) return nullptr;
  if (!t.dtype.empty() || !all_int) return packed("float64", std::move(shape), std::move(bytes));
  // No dtype declared and only integers: int64, as numpy would infer, rewritten in place (same width).
  for (std::size_t i = 0; i < total; ++i) {
    double d;
    std::memcpy(&d, bytes.data() + i * sizeof d, sizeof d);
    if (std::fabs(d) > 9007199254740992.0) return nullptr;  // was not exact as a double
    auto n = static_cast<std::int64_t>(d);
    std::memcpy(bytes.data() + i * sizeof n, &n, sizeof n);
  }
  return packed("int64", std::move(shape), std::move(bytes));
}

}  // namespace

bool wants_fast_path(const registry::Entrypoint& ep, std::size_t body_size) {
  if (body_size < kMinBody) return false;
  for (const auto& p : ep.params)
    if (p.type.kind == schema::Kind::ndarray) return true;
  return false;
}

std::optional<FastArguments> parse_arguments_fast(const std::string& body, const registry::Entrypoint& ep,
                                                  std::size_t max_depth) {
  // One parser per I/O thread, reused: a fresh one maps and unmaps megabytes for every large body.
  thread_local sj::dom::parser parser;
  sj::dom::element root;
  if (parser.parse(body).get(root) != sj::SUCCESS) return std::nullopt;
  if (root.type() != sj::dom::element_type::OBJECT) return std::nullopt;
  sj::dom::object fields = root.get_object().value_unsafe();
  if (fields.size() > kMaxObjectKeys) return std::nullopt;
  FastArguments out;
  out.args = json::object();
  out.notes.resize(ep.params.size());
  for (auto field : fields) {
    std::string key(field.key);
    std::size_t index = ep.params.size();
    for (std::size_t i = 0; i < ep.params.size(); ++i)
      if (ep.params[i].name == key) index = i;
    if (index < ep.params.size() && ep.params[index].type.kind == schema::Kind::ndarray) {
      if (auto array = pack(field.value, ep.params[index].type)) {
        out.notes[index].array = std::move(array);
        set_member(out.args, std::move(key), nullptr);  // the note holds the value
        continue;
      }
      out.notes[index].array.reset();  // a repeated key whose last value is not packable
    }
    auto value = to_json(field.value, 1, max_depth);
    if (!value) return std::nullopt;
    set_member(out.args, std::move(key), std::move(*value));
  }
  return out;
}

}  // namespace mvi::api
