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
  std::vector<double> values;
  values.reserve(total);
  bool all_int = true;
  // Depth-first over the nested arrays, checking each row's length against the shape.
  struct Walk {
    std::vector<std::int64_t>& shape;
    std::vector<double>& values;
    bool& all_int;
    bool operator()(sj::dom::element node, std::size_t depth) {
      if (depth == shape.size()) {
        switch (node.type()) {
          case sj::dom::element_type::DOUBLE: values.push_back(node.get_double().value_unsafe()); all_int = false; return true;
          case sj::dom::element_type::INT64: values.push_back(static_cast<double>(node.get_int64().value_unsafe())); return true;
          default: return false;  // big ints, bools, strings, nulls: the general path
        }
      }
      if (node.type() != sj::dom::element_type::ARRAY) return false;
      auto arr = node.get_array().value_unsafe();
      if (static_cast<std::int64_t>(arr.size()) != shape[depth]) return false;
      for (auto item : arr)
        if (!(*this)(item, depth + 1)) return false;
      return true;
    }
  } walk{shape, values, all_int};
  if (!walk(e, 0)) return std::nullopt;

  std::string dtype = t.dtype.empty() ? (all_int ? "int64" : "float64") : t.dtype;
  std::vector<std::uint8_t> bytes;
  if (dtype == "int64") {
    bytes.resize(values.size() * sizeof(std::int64_t));
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (std::fabs(values[i]) > 9007199254740992.0) return std::nullopt;  // not exact as a double
      auto n = static_cast<std::int64_t>(values[i]);
      std::memcpy(bytes.data() + i * sizeof n, &n, sizeof n);
    }
  } else if (dtype == "float32") {
    bytes.resize(values.size() * sizeof(float));
    for (std::size_t i = 0; i < values.size(); ++i) {
      auto f = static_cast<float>(values[i]);
      std::memcpy(bytes.data() + i * sizeof f, &f, sizeof f);
    }
  } else {
    bytes.resize(values.size() * sizeof(double));
    std::memcpy(bytes.data(), values.data(), bytes.size());
  }
  return schema::make_packed(dtype, shape, std::move(bytes));
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
