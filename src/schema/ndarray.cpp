// ndarray validation and packing: one pass for the shape, one for the leaf types, one to write the
// buffer in the target dtype. Iterative over the flat leaf list, so deep arrays cost no stack.
#include "mvi/schema/ndarray.hpp"

#include <cmath>
#include <cstring>
#include <limits>

namespace mvi::schema {

using json = nlohmann::ordered_json;

namespace {

struct DtypeInfo {
  const char* name;
  std::size_t size;
  bool is_float;
  bool is_bool;
  bool is_signed;
};

const DtypeInfo* find_dtype(const std::string& name) {
  static const DtypeInfo kTable[] = {
      {"float64", 8, true, false, true}, {"float32", 4, true, false, true}, {"int64", 8, false, false, true},
      {"int32", 4, false, false, true},  {"int16", 2, false, false, true},  {"int8", 1, false, false, true},
      {"uint64", 8, false, false, false}, {"uint32", 4, false, false, false}, {"uint16", 2, false, false, false},
      {"uint8", 1, false, false, false}, {"bool", 1, false, true, false},
  };
  std::string n = name == "float" || name == "double" ? "float64" : name == "int" ? "int64" : name;
  for (const auto& d : kTable)
    if (n == d.name) return &d;
  return nullptr;
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string out = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ", ";
    out += shape[i] < 0 ? "None" : std::to_string(shape[i]);
  }
  if (shape.size() == 1) out += ",";
  return out + ")";
}

json at(json loc, const std::vector<std::size_t>& index) {
  for (auto i : index) loc.push_back(i);
  return loc;
}

// The nested-array location of flat (C-order) element `flat`.
json element_loc(json loc, const std::vector<std::int64_t>& shape, std::size_t flat) {
  std::vector<std::size_t> index(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    auto n = static_cast<std::size_t>(shape[d]);
    index[d] = n ? flat % n : 0;
    flat = n ? flat / n : 0;
  }
  for (auto i : index) loc.push_back(i);
  return loc;
}

template <typename T>
void put(std::uint8_t* out, T v) {
  std::memcpy(out, &v, sizeof v);
}

}  // namespace

bool pack_ndarray(const TypeDesc& t, json& v, const json& loc, Errors& errors, BuildNote* note) {
  if (note && note->array) {
    // Packed by the fast path: only the declared shape is left to check.
    const PackedArray* already = note->array.get();
    bool ok = !t.has_shape || t.shape.size() == already->shape.size();
    for (std::size_t i = 0; ok && t.has_shape && i < t.shape.size(); ++i)
      ok = t.shape[i] < 0 || t.shape[i] == already->shape[i];
    if (!ok)
      errors.push_back({"ndarray_shape", loc,
                        "Array shape " + shape_text(already->shape) + " does not match the expected shape " +
                            shape_text(t.shape),
                        nullptr});
    return ok;
  }
  // Shape from the first element at each depth.
  std::vector<std::int64_t> shape;
  const json* probe = &v;
  while (probe->is_array()) {
    shape.push_back(static_cast<std::int64_t>(probe->size()));
    if (probe->empty()) break;
    probe = &(*probe)[0];
  }
  if (!v.is_array() && !v.is_number() && !v.is_boolean()) {
    errors.push_back({"ndarray_type", loc, "Input should be a valid array", v});
    return false;
  }

  // Flatten, checking that every row has the shape's length and that leaves sit at the last depth.
  std::vector<const json*> leaves;
  std::size_t total = 1;
  for (auto d : shape) total *= static_cast<std::size_t>(d);
  leaves.reserve(total);
  struct Frame {
    const json* node;
    std::size_t depth;
    std::size_t next;
  };
  std::vector<Frame> stack{{&v, 0, 0}};
  std::vector<std::size_t> index;
  bool has_float = false, has_int = false, has_bool = false, has_other = false;
  std::vector<std::size_t> first_other;
  while (!stack.empty()) {
    Frame& f = stack.back();
    if (f.depth == shape.size()) {
      const json& leaf = *f.node;
      if (leaf.is_array()) {
        errors.push_back({"ndarray_shape", at(loc, index), "Input should be a rectangular array (rows of equal length)", leaf});
        return false;
      }
      if (leaf.is_number_float()) has_float = true;
      else if (leaf.is_number()) has_int = true;
      else if (leaf.is_boolean()) has_bool = true;
      else if (!has_other) has_other = true, first_other = index;
      leaves.push_back(&leaf);
      stack.pop_back();
      if (!index.empty()) index.pop_back();
      continue;
    }
    if (!f.node->is_array() || static_cast<std::int64_t>(f.node->size()) != shape[f.depth]) {
      errors.push_back({"ndarray_shape", at(loc, index), "Input should be a rectangular array (rows of equal length)", *f.node});
      return false;
    }
    if (f.next == f.node->size()) {
      stack.pop_back();
      if (!index.empty()) index.pop_back();
      continue;
    }
    std::size_t i = f.next++;
    index.push_back(i);
    stack.push_back({&(*f.node)[i], f.depth + 1, 0});
  }

  if (t.has_shape) {
    bool ok = t.shape.size() == shape.size();
    for (std::size_t i = 0; ok && i < shape.size(); ++i) ok = t.shape[i] < 0 || t.shape[i] == shape[i];
    if (!ok) {
      errors.push_back({"ndarray_shape", loc,
                        "Array shape " + shape_text(shape) + " does not match the expected shape " + shape_text(t.shape),
                        v});
      return false;
    }
  }

  std::string dtype = t.dtype;
  if (dtype.empty()) dtype = has_float ? "float64" : has_int ? "int64" : has_bool ? "bool" : "float64";
  const DtypeInfo* info = find_dtype(dtype);
  if (!info) return true;  // a declared str/object/complex dtype: numpy converts the JSON values itself
  // Daeploy's ArrayInput, not all numbers (strings, nulls, objects, a mix): numpy decides, as Daeploy's
  // np.array(value) did — a str or object array, built from the JSON by the builder. Numbers stay packed.
  if (has_other && t.any_elements && t.dtype.empty()) return true;
  if (has_other) {
    // Otherwise an undeclared dtype means numbers: a stray string or null is the client's mistake.
    const json* bad = &v;
    for (auto i : first_other) bad = &(*bad)[i];
    errors.push_back({"ndarray_type", at(loc, first_other),
                      t.dtype.empty() ? std::string("Input should be an array of numbers")
                                      : "Input should be an array of numbers for dtype " + dtype,
                      *bad});
    return false;
  }

  std::vector<std::uint8_t> buffer(leaves.size() * info->size);
  std::uint8_t* out = buffer.data();
  for (std::size_t i = 0; i < leaves.size(); ++i, out += info->size) {
    const json& leaf = *leaves[i];
    if (info->is_float) {
      double d = leaf.is_boolean() ? (leaf.get<bool>() ? 1.0 : 0.0) : leaf.get<double>();
      if (info->size == 8) put(out, d);
      else put(out, static_cast<float>(d));
      continue;
    }
    if (info->is_bool) {
      if (leaf.is_boolean()) {
        put<std::uint8_t>(out, leaf.get<bool>() ? 1 : 0);
        continue;
      }
      double d = leaf.get<double>();
      if (d != 0.0 && d != 1.0) {
        errors.push_back({"ndarray_value", element_loc(loc, shape, i), "Array values must be booleans (or 0/1) for dtype bool", leaf});
        return false;
      }
      put<std::uint8_t>(out, d == 1.0 ? 1 : 0);
      continue;
    }
    // Integer dtypes: whole numbers in range only; numpy would silently wrap or truncate.
    long double n;
    if (leaf.is_boolean()) n = leaf.get<bool>() ? 1 : 0;
    else if (leaf.is_number_unsigned()) n = static_cast<long double>(leaf.get<std::uint64_t>());
    else if (leaf.is_number_integer()) n = static_cast<long double>(leaf.get<std::int64_t>());
    else n = static_cast<long double>(leaf.get<double>());
    long double lo = info->is_signed ? -std::ldexp(1.0L, static_cast<int>(info->size * 8 - 1)) : 0.0L;
    long double hi = std::ldexp(1.0L, static_cast<int>(info->size * 8 - (info->is_signed ? 1 : 0))) - 1;
    if (std::trunc(n) != n || n < lo || n > hi) {
      errors.push_back({"ndarray_value", element_loc(loc, shape, i),
                        std::trunc(n) != n ? "Array values must be whole numbers for dtype " + dtype
                                           : "Array value is out of range for dtype " + dtype,
                        leaf});
      return false;
    }
    switch (info->size) {
      case 1: info->is_signed ? put(out, static_cast<std::int8_t>(n)) : put(out, static_cast<std::uint8_t>(n)); break;
      case 2: info->is_signed ? put(out, static_cast<std::int16_t>(n)) : put(out, static_cast<std::uint16_t>(n)); break;
      case 4: info->is_signed ? put(out, static_cast<std::int32_t>(n)) : put(out, static_cast<std::uint32_t>(n)); break;
      default:
        if (info->is_signed) put(out, static_cast<std::int64_t>(n));
        else put(out, leaf.is_number_unsigned() ? leaf.get<std::uint64_t>() : static_cast<std::uint64_t>(n));
    }
  }
  if (note) {
    note->array = std::make_shared<PackedArray>(PackedArray{info->name, std::move(shape), std::move(buffer)});
    v = nullptr;  // the buffer replaces the JSON array; nothing reads both
  }
  return true;
}

}  // namespace mvi::schema
