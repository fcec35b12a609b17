#include "model/gguf/gguf_value.h"

#include <fmt/format.h>

#include <limits>

#include "common/error.h"

namespace mixcl::gguf {
namespace {

constexpr const char* kTypeNames[] = {"u8",  "i8",   "u16",    "i16",   "u32", "i32", "f32",
                                      "bool", "string", "array", "u64", "i64", "f64"};

std::string quote(const std::string& s, size_t max_chars) {
  std::string out = "\"";
  for (char c : s) {
    if (out.size() >= max_chars) {
      out += "...";
      break;
    }
    if (c == '\n') out += "\\n";
    else if (c == '"') out += "\\\"";
    else if (static_cast<unsigned char>(c) < 0x20) out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
    else out += c;
  }
  return out + "\"";
}

}  // namespace

std::string gguf_type_name(uint32_t id) {
  if (id < std::size(kTypeNames)) return kTypeNames[id];
  return fmt::format("type#{}", id);
}

bool gguf_type_known(uint32_t id) { return id <= static_cast<uint32_t>(GgufType::F64); }

uint32_t gguf_type_size(GgufType type) {
  switch (type) {
    case GgufType::U8: case GgufType::I8: case GgufType::Bool: return 1;
    case GgufType::U16: case GgufType::I16: return 2;
    case GgufType::U32: case GgufType::I32: case GgufType::F32: return 4;
    case GgufType::U64: case GgufType::I64: case GgufType::F64: return 8;
    case GgufType::String: case GgufType::Array: return 0;
  }
  return 0;
}

GgufValue GgufValue::u8(uint8_t v) { return {GgufType::U8, GgufType::U8, uint64_t{v}}; }
GgufValue GgufValue::i8(int8_t v) { return {GgufType::I8, GgufType::U8, int64_t{v}}; }
GgufValue GgufValue::u16(uint16_t v) { return {GgufType::U16, GgufType::U8, uint64_t{v}}; }
GgufValue GgufValue::i16(int16_t v) { return {GgufType::I16, GgufType::U8, int64_t{v}}; }
GgufValue GgufValue::u32(uint32_t v) { return {GgufType::U32, GgufType::U8, uint64_t{v}}; }
GgufValue GgufValue::i32(int32_t v) { return {GgufType::I32, GgufType::U8, int64_t{v}}; }
GgufValue GgufValue::f32(float v) { return {GgufType::F32, GgufType::U8, double{v}}; }
GgufValue GgufValue::boolean(bool v) { return {GgufType::Bool, GgufType::U8, v}; }
GgufValue GgufValue::str(std::string v) { return {GgufType::String, GgufType::U8, std::move(v)}; }
GgufValue GgufValue::u64(uint64_t v) { return {GgufType::U64, GgufType::U8, v}; }
GgufValue GgufValue::i64(int64_t v) { return {GgufType::I64, GgufType::U8, v}; }
GgufValue GgufValue::f64(double v) { return {GgufType::F64, GgufType::U8, v}; }

GgufValue GgufValue::u8_array(std::vector<uint8_t> v) { return {GgufType::Array, GgufType::U8, std::move(v)}; }
GgufValue GgufValue::i8_array(std::vector<int8_t> v) { return {GgufType::Array, GgufType::I8, std::move(v)}; }
GgufValue GgufValue::u16_array(std::vector<uint16_t> v) { return {GgufType::Array, GgufType::U16, std::move(v)}; }
GgufValue GgufValue::i16_array(std::vector<int16_t> v) { return {GgufType::Array, GgufType::I16, std::move(v)}; }
GgufValue GgufValue::u32_array(std::vector<uint32_t> v) { return {GgufType::Array, GgufType::U32, std::move(v)}; }
GgufValue GgufValue::i32_array(std::vector<int32_t> v) { return {GgufType::Array, GgufType::I32, std::move(v)}; }
GgufValue GgufValue::f32_array(std::vector<float> v) { return {GgufType::Array, GgufType::F32, std::move(v)}; }
GgufValue GgufValue::bool_array(std::vector<bool> v) {
  return {GgufType::Array, GgufType::Bool, std::vector<uint8_t>(v.begin(), v.end())};
}
GgufValue GgufValue::string_array(std::vector<std::string> v) {
  return {GgufType::Array, GgufType::String, std::move(v)};
}
GgufValue GgufValue::u64_array(std::vector<uint64_t> v) { return {GgufType::Array, GgufType::U64, std::move(v)}; }
GgufValue GgufValue::i64_array(std::vector<int64_t> v) { return {GgufType::Array, GgufType::I64, std::move(v)}; }
GgufValue GgufValue::f64_array(std::vector<double> v) { return {GgufType::Array, GgufType::F64, std::move(v)}; }
GgufValue GgufValue::nested_array(std::vector<GgufValue> v) {
  for (const auto& e : v)
    if (!e.is_array()) fail("GgufValue::nested_array: every element must be an array, got {}", e.summary());
  return {GgufType::Array, GgufType::Array, std::move(v)};
}

GgufValue GgufValue::empty_array(GgufType elem) {
  switch (elem) {
    case GgufType::U8: return u8_array({});
    case GgufType::I8: return i8_array({});
    case GgufType::U16: return u16_array({});
    case GgufType::I16: return i16_array({});
    case GgufType::U32: return u32_array({});
    case GgufType::I32: return i32_array({});
    case GgufType::F32: return f32_array({});
    case GgufType::Bool: return bool_array({});
    case GgufType::String: return string_array({});
    case GgufType::Array: return nested_array({});
    case GgufType::U64: return u64_array({});
    case GgufType::I64: return i64_array({});
    case GgufType::F64: return f64_array({});
  }
  fail("GgufValue::empty_array: unknown element type {}", static_cast<uint32_t>(elem));
}

bool GgufValue::is_integer() const {
  switch (type_) {
    case GgufType::U8: case GgufType::I8: case GgufType::U16: case GgufType::I16: case GgufType::U32:
    case GgufType::I32: case GgufType::U64: case GgufType::I64: return true;
    default: return false;
  }
}

size_t GgufValue::array_size() const {
  if (!is_array()) return 0;
  return std::visit(
      [](const auto& v) -> size_t {
        using V = std::decay_t<decltype(v)>;
        if constexpr (requires { v.size(); } && !std::is_same_v<V, std::string>) return v.size();
        else return 0;
      },
      data_);
}

void GgufValue::throw_type_mismatch(std::string_view wanted) const {
  fail("metadata value is {}, expected {}", summary(), wanted);
}

uint64_t GgufValue::as_u64() const {
  if (const auto* u = std::get_if<uint64_t>(&data_)) return *u;
  if (const auto* i = std::get_if<int64_t>(&data_)) {
    if (*i < 0) fail("metadata value {} is negative where an unsigned integer is expected", summary());
    return static_cast<uint64_t>(*i);
  }
  throw_type_mismatch("an integer");
}

int64_t GgufValue::as_i64() const {
  if (const auto* i = std::get_if<int64_t>(&data_)) return *i;
  if (const auto* u = std::get_if<uint64_t>(&data_)) {
    if (*u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      fail("metadata value {} does not fit in a signed 64-bit integer", summary());
    return static_cast<int64_t>(*u);
  }
  throw_type_mismatch("an integer");
}

double GgufValue::as_f64() const {
  if (const auto* d = std::get_if<double>(&data_)) return *d;
  if (const auto* u = std::get_if<uint64_t>(&data_)) return static_cast<double>(*u);
  if (const auto* i = std::get_if<int64_t>(&data_)) return static_cast<double>(*i);
  throw_type_mismatch("a number");
}

bool GgufValue::as_bool() const {
  if (const auto* b = std::get_if<bool>(&data_)) return *b;
  throw_type_mismatch("a bool");
}

const std::string& GgufValue::as_string() const {
  if (const auto* s = std::get_if<std::string>(&data_)) return *s;
  throw_type_mismatch("a string");
}

std::vector<int64_t> GgufValue::as_i64_array() const {
  if (!is_array()) throw_type_mismatch("an integer array");
  std::vector<int64_t> out;
  std::visit(
      [&](const auto& v) {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, std::vector<uint64_t>>) {
          for (uint64_t x : v) {
            if (x > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
              fail("metadata array element {} does not fit in a signed 64-bit integer", x);
            out.push_back(static_cast<int64_t>(x));
          }
        } else if constexpr (std::is_same_v<V, std::vector<uint8_t>> || std::is_same_v<V, std::vector<int8_t>> ||
                             std::is_same_v<V, std::vector<uint16_t>> || std::is_same_v<V, std::vector<int16_t>> ||
                             std::is_same_v<V, std::vector<uint32_t>> || std::is_same_v<V, std::vector<int32_t>> ||
                             std::is_same_v<V, std::vector<int64_t>>) {
          if (elem_type_ == GgufType::Bool) throw_type_mismatch("an integer array");
          out.assign(v.begin(), v.end());
        } else {
          throw_type_mismatch("an integer array");
        }
      },
      data_);
  return out;
}

std::vector<double> GgufValue::as_f64_array() const {
  if (!is_array()) throw_type_mismatch("a numeric array");
  if (elem_type_ == GgufType::F32) {
    const auto& v = array<float>();
    return {v.begin(), v.end()};
  }
  if (elem_type_ == GgufType::F64) return array<double>();
  std::vector<double> out;
  for (int64_t x : as_i64_array()) out.push_back(static_cast<double>(x));
  return out;
}

std::string GgufValue::summary(size_t max_chars) const {
  if (is_array()) {
    std::string elem = elem_type_ == GgufType::Array ? "array" : gguf_type_name(static_cast<uint32_t>(elem_type_));
    return fmt::format("array<{}>[{}]", elem, array_size());
  }
  const std::string name = gguf_type_name(static_cast<uint32_t>(type_));
  return std::visit(
      [&](const auto& v) -> std::string {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, std::monostate>) return "(empty)";
        else if constexpr (std::is_same_v<V, uint64_t> || std::is_same_v<V, int64_t>)
          return fmt::format("{} {}", name, v);
        else if constexpr (std::is_same_v<V, double>)
          return type_ == GgufType::F32 ? fmt::format("f32 {}", static_cast<float>(v)) : fmt::format("f64 {}", v);
        else if constexpr (std::is_same_v<V, bool>) return fmt::format("bool {}", v);
        else if constexpr (std::is_same_v<V, std::string>) return "string " + quote(v, max_chars);
        else return name;
      },
      data_);
}

}  // namespace mixcl::gguf
