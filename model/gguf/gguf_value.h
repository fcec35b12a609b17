#pragma once
// A GGUF metadata value of any of the 13 value types, arrays (typed, or nested) included.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace mixcl::gguf {

/// GGUF metadata value type ids (gguf.md §1.3).
enum class GgufType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, Bool = 7,
  String = 8, Array = 9, U64 = 10, I64 = 11, F64 = 12,
};

/// "u8", "string", "array", ... ; "type#N" for an unknown id.
std::string gguf_type_name(uint32_t id);
/// Whether `id` is one of the 13 value types.
bool gguf_type_known(uint32_t id);
/// Encoded bytes of one scalar of this type (0 for string and array, whose size varies).
uint32_t gguf_type_size(GgufType type);

/// One metadata value. Scalars keep their declared width in `type()`; integer scalars are stored widened
/// (u64 / i64), floats as double (exact for f32). Arrays keep a typed vector per element type; arrays of
/// arrays hold a vector of GgufValue.
class GgufValue {
 public:
  /// Storage: scalars, then one vector type per array element type (bool arrays use uint8_t 0/1).
  using Storage = std::variant<std::monostate, uint64_t, int64_t, double, bool, std::string,
                               std::vector<uint8_t>, std::vector<int8_t>, std::vector<uint16_t>,
                               std::vector<int16_t>, std::vector<uint32_t>, std::vector<int32_t>,
                               std::vector<float>, std::vector<uint64_t>, std::vector<int64_t>,
                               std::vector<double>, std::vector<std::string>, std::vector<GgufValue>>;

  GgufValue() = default;

  // Scalar constructors, one per type.
  static GgufValue u8(uint8_t v);
  static GgufValue i8(int8_t v);
  static GgufValue u16(uint16_t v);
  static GgufValue i16(int16_t v);
  static GgufValue u32(uint32_t v);
  static GgufValue i32(int32_t v);
  static GgufValue f32(float v);
  static GgufValue boolean(bool v);
  static GgufValue str(std::string v);
  static GgufValue u64(uint64_t v);
  static GgufValue i64(int64_t v);
  static GgufValue f64(double v);

  // Array constructors, one per element type; bool_array stores 0/1 bytes.
  static GgufValue u8_array(std::vector<uint8_t> v);
  static GgufValue i8_array(std::vector<int8_t> v);
  static GgufValue u16_array(std::vector<uint16_t> v);
  static GgufValue i16_array(std::vector<int16_t> v);
  static GgufValue u32_array(std::vector<uint32_t> v);
  static GgufValue i32_array(std::vector<int32_t> v);
  static GgufValue f32_array(std::vector<float> v);
  static GgufValue bool_array(std::vector<bool> v);
  static GgufValue string_array(std::vector<std::string> v);
  static GgufValue u64_array(std::vector<uint64_t> v);
  static GgufValue i64_array(std::vector<int64_t> v);
  static GgufValue f64_array(std::vector<double> v);
  /// An array whose elements are themselves arrays, all of element type `elem` (must be Array).
  static GgufValue nested_array(std::vector<GgufValue> v);
  /// An empty array of element type `elem`.
  static GgufValue empty_array(GgufType elem);

  /// Declared type of the value.
  GgufType type() const { return type_; }
  /// Element type of an array (meaningless for scalars).
  GgufType elem_type() const { return elem_type_; }
  bool is_array() const { return type_ == GgufType::Array; }
  bool is_integer() const;
  bool is_float() const { return type_ == GgufType::F32 || type_ == GgufType::F64; }
  /// Number of array elements (0 for a scalar).
  size_t array_size() const;

  // Scalar accessors: each throws mixcl::Error if the value does not fit (wrong type, negative for
  // unsigned, out of range).
  uint64_t as_u64() const;          // any integer width, must be >= 0
  int64_t as_i64() const;           // any integer width, must fit in int64
  double as_f64() const;            // f32, f64 or any integer
  bool as_bool() const;             // bool only
  const std::string& as_string() const;  // string only

  /// The typed array vector; throws if this is not an array of exactly that storage type.
  template <class T>
  const std::vector<T>& array() const {
    if (const auto* v = std::get_if<std::vector<T>>(&data_)) return *v;
    throw_type_mismatch("array of the requested element type");
  }
  /// String array elements (array of string only).
  const std::vector<std::string>& as_string_array() const { return array<std::string>(); }
  /// Any integer array converted to int64 (u64 elements above INT64_MAX throw).
  std::vector<int64_t> as_i64_array() const;
  /// Any numeric array converted to double.
  std::vector<double> as_f64_array() const;

  /// Short human-readable rendering ("u32 7", "string \"gpt2\"", "array<string>[129280]").
  std::string summary(size_t max_chars = 60) const;

  /// Raw storage, for writers and serializers.
  const Storage& storage() const { return data_; }

  bool operator==(const GgufValue& other) const = default;

 private:
  GgufValue(GgufType type, GgufType elem, Storage data) : type_(type), elem_type_(elem), data_(std::move(data)) {}
  [[noreturn]] void throw_type_mismatch(std::string_view wanted) const;

  GgufType type_ = GgufType::U8;
  GgufType elem_type_ = GgufType::U8;
  Storage data_;
};

}  // namespace mixcl::gguf
