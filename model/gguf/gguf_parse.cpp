#include "model/gguf/gguf_parse.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>

#include "common/error.h"
#include "model/gguf/gguf_encoder.h"

namespace mixcl::gguf {
namespace {

static_assert(std::endian::native == std::endian::little, "the GGUF parser assumes a little-endian host");

constexpr uint64_t kInt64Max = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
// Smallest possible encodings, used to reject counts that cannot fit in the bytes left.
constexpr uint64_t kMinKvBytes = 8 + 1 + 4 + 1;             // key length, 1-byte key, type, 1-byte value
constexpr uint64_t kMinTensorInfoBytes = 8 + 1 + 4 + 8 + 4 + 8;  // name, n_dims, one ne, type, offset

// Names of ggml type ids that once existed and are no longer valid in files.
std::string_view removed_type_name(uint32_t id) {
  switch (id) {
    case 4: return "Q4_2";
    case 5: return "Q4_3";
    case 31: return "Q4_0_4_4";
    case 32: return "Q4_0_4_8";
    case 33: return "Q4_0_8_8";
    case 36: return "IQ4_NL_4_4";
    case 37: return "IQ4_NL_4_8";
    case 38: return "IQ4_NL_8_8";
    default: return {};
  }
}

uint64_t min_encoded_size(uint32_t type_id) {
  switch (static_cast<GgufType>(type_id)) {
    case GgufType::String: return 8;
    case GgufType::Array: return 12;
    default: return gguf_type_size(static_cast<GgufType>(type_id));
  }
}

std::string printable(std::string_view s, size_t max_chars = 64) {
  std::string out;
  for (char c : s.substr(0, max_chars)) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) out += fmt::format("\\x{:02x}", u);
    else out += c;
  }
  if (s.size() > max_chars) out += "...";
  return out;
}

// Bounds-checked sequential reader over the image; every read names the field it is reading.
class Reader {
 public:
  Reader(std::span<const uint8_t> bytes, std::string_view source) : bytes_(bytes), source_(source) {}

  uint64_t pos() const { return pos_; }
  uint64_t size() const { return bytes_.size(); }
  uint64_t left() const { return bytes_.size() - pos_; }
  const uint8_t* at(uint64_t offset) const { return bytes_.data() + offset; }

  template <class... Args>
  [[noreturn]] void fail_at(uint64_t offset, std::string_view field, fmt::format_string<Args...> problem,
                            Args&&... args) const {
    fail("{}: {} at byte {}: {}", source_, field, offset, fmt::format(problem, std::forward<Args>(args)...));
  }

  void need(uint64_t n, std::string_view field) const {
    if (n > left())
      fail_at(pos_, field, "file ends after {} bytes, {} more bytes needed (truncated file?)", size(), n - left());
  }

  template <class T>
  T scalar(std::string_view field) {
    need(sizeof(T), field);
    T v;
    std::memcpy(&v, at(pos_), sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  void skip(uint64_t n, std::string_view field) {
    need(n, field);
    pos_ += n;
  }

  std::string string(std::string_view field) {
    const uint64_t start = pos_;
    const uint64_t len = scalar<uint64_t>(field);
    if (len > left()) fail_at(start, field, "string length {} exceeds the {} bytes left in the file", len, left());
    std::string s(reinterpret_cast<const char*>(at(pos_)), len);
    pos_ += len;
    return s;
  }

  // Like string(), but builds the field name only on error (string arrays hold ~10^5 elements).
  template <class FieldFn>
  std::string string_lazy(FieldFn&& field) {
    const uint64_t start = pos_;
    if (left() < 8) need(8, field());
    uint64_t len;
    std::memcpy(&len, at(pos_), 8);
    if (len > left() - 8)
      fail_at(start, field(), "string length {} exceeds the {} bytes left in the file", len, left() - 8);
    pos_ += 8;
    std::string s(reinterpret_cast<const char*>(at(pos_)), len);
    pos_ += len;
    return s;
  }

  // Reads `count` little-endian elements of type T into a vector (count already checked against left()).
  template <class T>
  std::vector<T> typed_array(uint64_t count, std::string_view field) {
    need(count * sizeof(T), field);
    std::vector<T> v(count);
    if (count) std::memcpy(v.data(), at(pos_), count * sizeof(T));
    pos_ += count * sizeof(T);
    return v;
  }

 private:
  std::span<const uint8_t> bytes_;
  std::string_view source_;
  uint64_t pos_ = 0;
};

class Parser {
 public:
  Parser(std::span<const uint8_t> bytes, std::string_view source) : r_(bytes, source) {}

  GgufContents run() {
    out_.file_size = r_.size();
    header();
    for (uint64_t i = 0; i < kv_count_; ++i) kv(i);
    alignment();
    for (uint64_t i = 0; i < tensor_count_; ++i) tensor_info(i);
    data_section();
    return std::move(out_);
  }

 private:
  void header() {
    if (r_.size() < 4) r_.need(4, "magic");
    const uint32_t magic = r_.scalar<uint32_t>("magic");
    if (magic != kGgufMagic) {
      const uint8_t* m = r_.at(0);
      r_.fail_at(0, "magic", "bytes {:02x} {:02x} {:02x} {:02x} are not \"GGUF\" (47 47 55 46); not a GGUF file",
                 m[0], m[1], m[2], m[3]);
    }
    const uint32_t version = r_.scalar<uint32_t>("version");
    if (version == 1)
      r_.fail_at(4, "version", "GGUF v1 (32-bit counts) is obsolete and not supported; re-convert the model");
    if ((version & 0xFFFFu) == 0)
      r_.fail_at(4, "version", "value {:#010x} looks byte-swapped: big-endian GGUF files are not supported", version);
    if (version != 2 && version != 3)
      r_.fail_at(4, "version", "unsupported GGUF version {} (this reader handles 2 and 3)", version);
    out_.version = version;
    tensor_count_ = r_.scalar<uint64_t>("tensor_count");
    kv_count_ = r_.scalar<uint64_t>("kv_count");
    // A count above the bytes left is nonsense whatever the entries hold: say so up front. Smaller counts
    // are checked entry by entry, so a truncated file fails at the exact field that is cut.
    if (kv_count_ > r_.left())
      r_.fail_at(16, "kv_count", "{} metadata entries cannot fit in the {} bytes after the header", kv_count_,
                 r_.left());
    if (tensor_count_ > r_.left())
      r_.fail_at(8, "tensor_count", "{} tensor infos cannot fit in the {} bytes after the header", tensor_count_,
                 r_.left());
    // Reserve only what the bytes left could hold.
    out_.kvs.reserve(std::min(kv_count_, r_.left() / kMinKvBytes));
    out_.tensors.reserve(std::min(tensor_count_, r_.left() / kMinTensorInfoBytes));
  }

  void check_key(const std::string& key, uint64_t offset, std::string_view field) const {
    if (key.empty()) r_.fail_at(offset, field, "key is empty");
    for (size_t i = 0; i < key.size(); ++i) {
      const auto c = static_cast<unsigned char>(key[i]);
      if (c < 0x20 || c > 0x7E)
        r_.fail_at(offset, field, "key \"{}\" has byte {:#04x} at index {}; keys must be printable ASCII",
                   printable(key), c, i);
    }
  }

  void kv(uint64_t index) {
    const uint64_t offset = r_.pos();
    const std::string key_field = fmt::format("key of metadata entry {}", index);
    std::string key = r_.string(key_field);
    check_key(key, offset, key_field);
    if (auto it = out_.kv_index.find(key); it != out_.kv_index.end())
      r_.fail_at(offset, key_field, "duplicate key '{}' (first defined at byte {})", key,
                 out_.kvs[it->second].offset);
    const uint64_t type_pos = r_.pos();
    const std::string type_field = fmt::format("value type of '{}'", key);
    const uint32_t type = r_.scalar<uint32_t>(type_field);
    if (!gguf_type_known(type)) r_.fail_at(type_pos, type_field, "unknown value type id {} (known: 0..12)", type);
    GgufValue value = this->value(type, key, 0);
    out_.kv_index.emplace(key, out_.kvs.size());
    out_.kvs.push_back(GgufKv{std::move(key), std::move(value), offset});
  }

  GgufValue value(uint32_t type, const std::string& key, int depth) {
    const uint64_t pos = r_.pos();
    const std::string field = fmt::format("value of '{}'", key);
    switch (static_cast<GgufType>(type)) {
      case GgufType::U8: return GgufValue::u8(r_.scalar<uint8_t>(field));
      case GgufType::I8: return GgufValue::i8(r_.scalar<int8_t>(field));
      case GgufType::U16: return GgufValue::u16(r_.scalar<uint16_t>(field));
      case GgufType::I16: return GgufValue::i16(r_.scalar<int16_t>(field));
      case GgufType::U32: return GgufValue::u32(r_.scalar<uint32_t>(field));
      case GgufType::I32: return GgufValue::i32(r_.scalar<int32_t>(field));
      case GgufType::F32: return GgufValue::f32(r_.scalar<float>(field));
      case GgufType::U64: return GgufValue::u64(r_.scalar<uint64_t>(field));
      case GgufType::I64: return GgufValue::i64(r_.scalar<int64_t>(field));
      case GgufType::F64: return GgufValue::f64(r_.scalar<double>(field));
      case GgufType::Bool: {
        const uint8_t b = r_.scalar<uint8_t>(field);
        if (b > 1) r_.fail_at(pos, field, "bool byte is {}, must be 0 or 1", b);
        return GgufValue::boolean(b != 0);
      }
      case GgufType::String: return GgufValue::str(r_.string(field));
      case GgufType::Array: return array(key, depth);
    }
    r_.fail_at(pos, field, "unknown value type id {}", type);
  }

  GgufValue array(const std::string& key, int depth) {
    const uint64_t type_pos = r_.pos();
    const std::string type_field = fmt::format("array element type of '{}'", key);
    const uint32_t elem = r_.scalar<uint32_t>(type_field);
    if (!gguf_type_known(elem)) r_.fail_at(type_pos, type_field, "unknown element type id {} (known: 0..12)", elem);
    if (elem == static_cast<uint32_t>(GgufType::Array) && depth + 1 >= kMaxArrayDepth)
      r_.fail_at(type_pos, type_field, "arrays nested deeper than {} levels", kMaxArrayDepth);
    const uint64_t count_pos = r_.pos();
    const std::string count_field = fmt::format("array count of '{}'", key);
    const uint64_t count = r_.scalar<uint64_t>(count_field);
    if (count > r_.left() / min_encoded_size(elem))
      r_.fail_at(count_pos, count_field, "{} elements of type {} cannot fit in the {} bytes left in the file", count,
                 gguf_type_name(elem), r_.left());
    const std::string field = fmt::format("elements of '{}'", key);
    switch (static_cast<GgufType>(elem)) {
      case GgufType::U8: return GgufValue::u8_array(r_.typed_array<uint8_t>(count, field));
      case GgufType::I8: return GgufValue::i8_array(r_.typed_array<int8_t>(count, field));
      case GgufType::U16: return GgufValue::u16_array(r_.typed_array<uint16_t>(count, field));
      case GgufType::I16: return GgufValue::i16_array(r_.typed_array<int16_t>(count, field));
      case GgufType::U32: return GgufValue::u32_array(r_.typed_array<uint32_t>(count, field));
      case GgufType::I32: return GgufValue::i32_array(r_.typed_array<int32_t>(count, field));
      case GgufType::F32: return GgufValue::f32_array(r_.typed_array<float>(count, field));
      case GgufType::U64: return GgufValue::u64_array(r_.typed_array<uint64_t>(count, field));
      case GgufType::I64: return GgufValue::i64_array(r_.typed_array<int64_t>(count, field));
      case GgufType::F64: return GgufValue::f64_array(r_.typed_array<double>(count, field));
      case GgufType::Bool: {
        const uint64_t start = r_.pos();
        auto bytes = r_.typed_array<uint8_t>(count, field);
        for (uint64_t i = 0; i < count; ++i)
          if (bytes[i] > 1)
            r_.fail_at(start + i, fmt::format("element {} of '{}'", i, key), "bool byte is {}, must be 0 or 1",
                       bytes[i]);
        return GgufValue::bool_array(std::vector<bool>(bytes.begin(), bytes.end()));
      }
      case GgufType::String: {
        std::vector<std::string> v;
        v.reserve(count);
        for (uint64_t i = 0; i < count; ++i)
          v.push_back(r_.string_lazy([&] { return fmt::format("element {} of '{}'", i, key); }));
        return GgufValue::string_array(std::move(v));
      }
      case GgufType::Array: {
        std::vector<GgufValue> v;
        v.reserve(count);
        for (uint64_t i = 0; i < count; ++i) v.push_back(array(fmt::format("{}[{}]", key, i), depth + 1));
        return GgufValue::nested_array(std::move(v));
      }
    }
    r_.fail_at(type_pos, type_field, "unknown element type id {}", elem);
  }

  void alignment() {
    auto it = out_.kv_index.find("general.alignment");
    if (it == out_.kv_index.end()) return;
    const GgufKv& kv = out_.kvs[it->second];
    const GgufValue& v = kv.value;
    const bool ok_type = v.is_integer() && !(v.type() == GgufType::I8 || v.type() == GgufType::I16 ||
                                             v.type() == GgufType::I32 || v.type() == GgufType::I64);
    if (!ok_type) r_.fail_at(kv.offset, "general.alignment", "has type {}, must be an unsigned integer (u32)",
                             v.summary());
    const uint64_t a = v.as_u64();
    if (a < 8 || a > (1u << 30) || (a & (a - 1)) != 0)
      r_.fail_at(kv.offset, "general.alignment", "{} is not a power of two between 8 and 2^30", a);
    out_.alignment = static_cast<uint32_t>(a);
  }

  void tensor_info(uint64_t index) {
    GgufTensorInfo t;
    t.info_offset = r_.pos();
    const std::string name_field = fmt::format("name of tensor-info {}", index);
    t.name = r_.string(name_field);
    if (t.name.empty()) r_.fail_at(t.info_offset, name_field, "tensor name is empty");
    for (size_t i = 0; i < t.name.size(); ++i) {
      const auto c = static_cast<unsigned char>(t.name[i]);
      if (c < 0x20 || c == 0x7F)
        r_.fail_at(t.info_offset, name_field, "name \"{}\" has control byte {:#04x} at index {}", printable(t.name),
                   c, i);
    }
    if (auto it = out_.tensor_index.find(t.name); it != out_.tensor_index.end())
      r_.fail_at(t.info_offset, name_field, "duplicate tensor name '{}' (first listed at byte {})", t.name,
                 out_.tensors[it->second].info_offset);
    const std::string who = fmt::format("tensor '{}'", printable(t.name));
    const uint64_t dims_pos = r_.pos();
    t.n_dims = r_.scalar<uint32_t>("n_dims of " + who);
    if (t.n_dims < 1 || t.n_dims > 4) r_.fail_at(dims_pos, "n_dims of " + who, "{} is out of range 1..4", t.n_dims);
    uint64_t elements = 1;
    for (uint32_t d = 0; d < t.n_dims; ++d) {
      const uint64_t pos = r_.pos();
      const std::string field = fmt::format("ne[{}] of {}", d, who);
      const uint64_t ne = r_.scalar<uint64_t>(field);
      if (ne > kInt64Max) r_.fail_at(pos, field, "{} is negative as int64", static_cast<int64_t>(ne));
      if (ne == 0) r_.fail_at(pos, field, "dimension is 0; every dimension must be at least 1");
      if (elements > kInt64Max / ne)
        r_.fail_at(pos, field, "element count overflows int64 ({} x {})", elements, ne);
      elements *= ne;
      t.ne[d] = ne;
    }
    t.n_elements = elements;
    const uint64_t type_pos = r_.pos();
    const std::string type_field = "type of " + who;
    const uint32_t type = r_.scalar<uint32_t>(type_field);
    const auto info = dtype_info(type);
    if (!info) {
      const auto removed = removed_type_name(type);
      if (!removed.empty())
        r_.fail_at(type_pos, type_field, "ggml type id {} ({}) was removed from the format; re-quantize the model",
                   type, removed);
      r_.fail_at(type_pos, type_field, "unknown ggml type id {}", type);
    }
    t.type = static_cast<DType>(type);
    if (t.ne[0] % info->block_elems != 0)
      r_.fail_at(dims_pos + 4, fmt::format("ne[0] of {}", who), "{} is not a multiple of the {}-element {} block",
                 t.ne[0], info->block_elems, info->name);
    const uint64_t row = t.ne[0] / info->block_elems * info->block_bytes;
    const uint64_t rows = elements / t.ne[0];
    if (rows != 0 && row > kInt64Max / rows)
      r_.fail_at(dims_pos, "dims of " + who, "byte size overflows ({} rows of {} bytes)", rows, row);
    t.nbytes = row * rows;
    const uint64_t off_pos = r_.pos();
    const std::string off_field = "offset of " + who;
    t.offset = r_.scalar<uint64_t>(off_field);
    if (t.offset % out_.alignment != 0)
      r_.fail_at(off_pos, off_field, "{} is not a multiple of the alignment {}", t.offset, out_.alignment);
    offset_pos_.push_back(off_pos);
    out_.tensor_index.emplace(t.name, out_.tensors.size());
    out_.tensors.push_back(std::move(t));
  }

  void data_section() {
    const uint64_t end = r_.pos();
    const uint64_t a = out_.alignment;
    out_.data_start = end + (a - end % a) % a;  // end <= file size, a <= 2^30: no overflow
    if (out_.tensors.empty()) return;
    if (out_.data_start > r_.size())
      r_.fail_at(end, "padding before the data section",
                 "file ends after {} bytes, inside the padding up to the data section at byte {} (truncated file?)",
                 r_.size(), out_.data_start);
    const uint64_t room = r_.size() - out_.data_start;
    for (size_t i = 0; i < out_.tensors.size(); ++i) {
      const GgufTensorInfo& t = out_.tensors[i];
      const std::string who = fmt::format("tensor '{}'", printable(t.name));
      if (t.offset > room || t.nbytes > room - t.offset) {
        if (t.offset > room)
          r_.fail_at(offset_pos_[i], "offset of " + who, "data offset {} points past the end of the file ({} bytes of"
                     " data after byte {})", t.offset, room, out_.data_start);
        r_.fail_at(out_.data_start + t.offset, "data of " + who,
                   "{} bytes of data run past the end of the file ({} bytes; truncated file?)", t.nbytes, r_.size());
      }
    }
    std::vector<size_t> order(out_.tensors.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](size_t x, size_t y) {
                const uint64_t ox = out_.tensors[x].offset, oy = out_.tensors[y].offset;
                return ox != oy ? ox < oy : x < y;  // ties in file order, so messages are stable
              });
    for (size_t k = 1; k < order.size(); ++k) {
      const GgufTensorInfo& prev = out_.tensors[order[k - 1]];
      const GgufTensorInfo& cur = out_.tensors[order[k]];
      if (cur.offset < prev.offset + prev.nbytes)
        r_.fail_at(out_.data_start + cur.offset, fmt::format("data of tensor '{}'", printable(cur.name)),
                   "overlaps the data of tensor '{}' (bytes {}..{})", printable(prev.name),
                   out_.data_start + prev.offset, out_.data_start + prev.offset + prev.nbytes);
    }
  }

  Reader r_;
  GgufContents out_;
  uint64_t tensor_count_ = 0;
  uint64_t kv_count_ = 0;
  std::vector<uint64_t> offset_pos_;
};

}  // namespace

GgufContents parse_gguf(std::span<const uint8_t> bytes, std::string_view source) {
  return Parser(bytes, source).run();
}

}  // namespace mixcl::gguf
