// Linear-time, depth-limited JSON parsing into ordered_json through nlohmann's SAX interface (its
// DOM parser inserts with ordered_map's searching operator[], quadratic in an object's size).
// Pure; thread-safe.
#include "mvi/core/json.hpp"

#include <memory>
#include <unordered_map>
#include <vector>

namespace mvi {
namespace {

// Objects up to this many keys find a repeated key by a linear scan; larger ones build an index.
constexpr std::size_t kIndexFrom = 32;

class Builder {
 public:
  explicit Builder(std::size_t max_depth) : max_depth_(max_depth) {}

  bool null() { return put(Json(nullptr)); }
  bool boolean(bool v) { return put(Json(v)); }
  bool number_integer(Json::number_integer_t v) { return put(Json(v)); }
  bool number_unsigned(Json::number_unsigned_t v) { return put(Json(v)); }
  bool number_float(Json::number_float_t v, const std::string&) { return put(Json(v)); }
  bool string(Json::string_t& v) { return put(Json(std::move(v))); }
  bool binary(Json::binary_t&) { return false; }  // JSON text has no binary values

  bool start_object(std::size_t) { return open(Json::object()); }
  bool start_array(std::size_t) { return open(Json::array()); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  bool key(Json::string_t& k) {
    key_ = std::move(k);
    return true;
  }

  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) {
    position_ = position;
    message_ = e.what();
    // nlohmann prefixes "[json.exception.parse_error.101] "; a reader needs only the reason.
    if (auto close = message_.find("] "); close != std::string::npos) message_ = message_.substr(close + 2);
    return false;
  }

  JsonParseResult result(bool ok) {
    JsonParseResult r;
    if (ok && stack_.empty()) {
      r.value = std::move(root_);
      return r;
    }
    r.error = too_deep_ ? JsonParseResult::Error::too_deep : JsonParseResult::Error::invalid;
    r.message = too_deep_ ? "JSON nesting deeper than " + std::to_string(max_depth_) + " levels"
                          : message_.empty() ? "incomplete JSON value" : message_;
    r.position = position_;
    return r;
  }

 private:
  struct Frame {
    Json* node;
    std::unique_ptr<std::unordered_map<std::string, std::size_t>> index;  // objects past kIndexFrom keys
  };

  bool open(Json container) {
    if (stack_.size() >= max_depth_) {
      too_deep_ = true;
      return false;
    }
    Json* node = insert(std::move(container));
    stack_.push_back({node, nullptr});
    return true;
  }

  bool close() {
    stack_.pop_back();
    return true;
  }

  bool put(Json value) {
    insert(std::move(value));
    return true;
  }

  // Only the innermost open container grows, so pointers held by outer frames stay valid.
  Json* insert(Json value) {
    if (stack_.empty()) {
      root_ = std::move(value);
      return &root_;
    }
    Frame& top = stack_.back();
    if (top.node->is_array()) {
      auto& array = top.node->get_ref<Json::array_t&>();
      array.push_back(std::move(value));
      return &array.back();
    }
    auto& object = top.node->get_ref<Json::object_t&>();
    if (top.index) {
      if (auto it = top.index->find(key_); it != top.index->end()) {
        // ordered_map hides the vector's operator[] behind its by-key one: index through iterators.
        auto& member = *(object.begin() + static_cast<std::ptrdiff_t>(it->second));
        member.second = std::move(value);
        return &member.second;
      }
    } else {
      for (auto& member : object)
        if (member.first == key_) {
          member.second = std::move(value);
          return &member.second;
        }
      if (object.size() + 1 >= kIndexFrom) {
        top.index = std::make_unique<std::unordered_map<std::string, std::size_t>>();
        std::size_t i = 0;
        for (const auto& member : object) top.index->emplace(member.first, i++);
      }
    }
    if (top.index) top.index->emplace(key_, object.size());
    object.emplace_back(std::move(key_), std::move(value));
    return &object.back().second;
  }

  const std::size_t max_depth_;
  Json root_;
  std::vector<Frame> stack_;
  std::string key_;
  bool too_deep_ = false;
  std::string message_;
  std::size_t position_ = 0;
};

}  // namespace

JsonParseResult parse_json(std::string_view text, std::size_t max_depth) {
  Builder builder(max_depth);
  bool ok = false;
  try {
    ok = Json::sax_parse(text.begin(), text.end(), &builder, nlohmann::detail::input_format_t::json, true, false);
  } catch (const nlohmann::detail::exception& e) {
    // The lexer reports through parse_error(); anything thrown past it is still the input's fault.
    Builder failed(max_depth);
    failed.parse_error(0, {}, e);
    return failed.result(false);
  }
  return builder.result(ok);
}

}  // namespace mvi
