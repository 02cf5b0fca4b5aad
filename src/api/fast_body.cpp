// simdjson DOM parsing of an arguments object; numeric ndarray arguments become packed buffers,
// everything else becomes ordinary nlohmann values for the validator.
#include "mvi/api/fast_body.hpp"

#include <cmath>
#include <cstring>
#include <vector>

// simdjson's inline code trips GCC 12's maybe-uninitialized analysis; the header is not ours to fix.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#include <simdjson.h>
#pragma GCC diagnostic pop

#include "mvi/schema/ndarray.hpp"

namespace mvi::api {
namespace {

using json = nlohmann::json;
namespace sj = simdjson;

constexpr std::size_t kMinBody = 16 * 1024;  // below this nlohmann is as fast and simpler

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
      for (auto field : fields) {
        auto v = to_json(field.value, depth + 1, max_depth);
        if (!v) return std::nullopt;
        out[std::string(field.key)] = std::move(*v);
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

// Packs a rectangular array of numbers; nullopt for anything else (the general path decides).
std::optional<json> pack(sj::dom::element e, const schema::TypeDesc& t) {
  const bool f32 = t.dtype == "float32";
  if (!t.dtype.empty() && t.dtype != "float64" && !f32) return std::nullopt;
  std::vector<std::int64_t> shape;
  sj::dom::element probe = e;
  while (probe.type() == sj::dom::element_type::ARRAY) {
    auto arr = probe.get_array().value_unsafe();
    shape.push_back(static_cast<std::int64_t>(arr.size()));
    if (arr.size() == 0) break;
    probe = *arr.begin();
  }
  if (shape.empty()) return std::nullopt;
  std::size_t total = 1;
  for (auto d : shape) total *= static_cast<std::size_t>(d);

  bool all_int = true;
  std::vector<std::uint8_t> bytes(total * (f32 ? sizeof(float) : sizeof(double)));
  std::uint8_t* out = bytes.data();
  if (f32) {
    if (!fill<float>(e, shape, 0, out, all_int)) return std::nullopt;
    return schema::make_packed("float32", shape, std::move(bytes));
  }
  if (!fill<double>(e, shape, 0, out, all_int)) return std::nullopt;
  if (!t.dtype.empty() || !all_int) return schema::make_packed("float64", shape, std::move(bytes));
  // No dtype declared and only integers: int64, as numpy would infer, rewritten in place (same width).
  for (std::size_t i = 0; i < total; ++i) {
    double d;
    std::memcpy(&d, bytes.data() + i * sizeof d, sizeof d);
    if (std::fabs(d) > 9007199254740992.0) return std::nullopt;  // was not exact as a double
    auto n = static_cast<std::int64_t>(d);
    std::memcpy(bytes.data() + i * sizeof n, &n, sizeof n);
  }
  return schema::make_packed("int64", shape, std::move(bytes));
}

}  // namespace

bool wants_fast_path(const registry::Entrypoint& ep, std::size_t body_size) {
  if (body_size < kMinBody) return false;
  for (const auto& p : ep.params)
    if (p.type.kind == schema::Kind::ndarray) return true;
  return false;
}

std::optional<json> parse_arguments_fast(const std::string& body, const registry::Entrypoint& ep,
                                         std::size_t max_depth) {
  // One parser per I/O thread, reused: a fresh one maps and unmaps megabytes for every large body.
  thread_local sj::dom::parser parser;
  sj::dom::element root;
  if (parser.parse(body).get(root) != sj::SUCCESS) return std::nullopt;
  if (root.type() != sj::dom::element_type::OBJECT) return std::nullopt;
  json args = json::object();
  sj::dom::object fields = root.get_object().value_unsafe();
  for (auto field : fields) {
    std::string key(field.key);
    const registry::Param* param = nullptr;
    for (const auto& p : ep.params)
      if (p.name == key) param = &p;
    if (param && param->type.kind == schema::Kind::ndarray) {
      if (auto packed = pack(field.value, param->type)) {
        args[key] = std::move(*packed);
        continue;
      }
    }
    auto value = to_json(field.value, 1, max_depth);
    if (!value) return std::nullopt;
    args[key] = std::move(*value);
  }
  return args;
}

}  // namespace mvi::api
