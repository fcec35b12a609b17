#include "model/gguf/gguf_encoder.h"

#include <bit>
#include <cstring>

#include "common/error.h"

namespace mixcl::gguf {

static_assert(std::endian::native == std::endian::little, "GGUF encoding assumes a little-endian host");

GgufEncoder& GgufEncoder::raw(const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  bytes.insert(bytes.end(), p, p + n);
  return *this;
}

GgufEncoder& GgufEncoder::u8(uint8_t v) { return raw(&v, 1); }
GgufEncoder& GgufEncoder::u16(uint16_t v) { return raw(&v, 2); }
GgufEncoder& GgufEncoder::u32(uint32_t v) { return raw(&v, 4); }
GgufEncoder& GgufEncoder::u64(uint64_t v) { return raw(&v, 8); }

GgufEncoder& GgufEncoder::str(std::string_view s) {
  u64(s.size());
  return raw(s.data(), s.size());
}

GgufEncoder& GgufEncoder::header(uint32_t version, uint64_t tensor_count, uint64_t kv_count) {
  return u32(kGgufMagic).u32(version).u64(tensor_count).u64(kv_count);
}

GgufEncoder& GgufEncoder::value_payload(const GgufValue& v) {
  std::visit(
      [&](const auto& x) {
        using V = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<V, std::monostate>) {
          fail("GgufEncoder: cannot encode an empty GgufValue");
        } else if constexpr (std::is_same_v<V, uint64_t> || std::is_same_v<V, int64_t>) {
          // Narrow to the declared width (little-endian: the low bytes come first).
          raw(&x, gguf_type_size(v.type()));
        } else if constexpr (std::is_same_v<V, double>) {
          if (v.type() == GgufType::F32) {
            const float f = static_cast<float>(x);
            raw(&f, 4);
          } else {
            raw(&x, 8);
          }
        } else if constexpr (std::is_same_v<V, bool>) {
          u8(x ? 1 : 0);
        } else if constexpr (std::is_same_v<V, std::string>) {
          str(x);
        } else if constexpr (std::is_same_v<V, std::vector<std::string>>) {
          u32(static_cast<uint32_t>(GgufType::String)).u64(x.size());
          for (const auto& s : x) str(s);
        } else if constexpr (std::is_same_v<V, std::vector<GgufValue>>) {
          u32(static_cast<uint32_t>(GgufType::Array)).u64(x.size());
          for (const auto& e : x) value_payload(e);
        } else {  // typed numeric vector: elements are stored back to back
          u32(static_cast<uint32_t>(v.elem_type())).u64(x.size());
          if (!x.empty()) raw(x.data(), x.size() * sizeof(x[0]));
        }
      },
      v.storage());
  return *this;
}

GgufEncoder& GgufEncoder::kv(std::string_view key, const GgufValue& v) {
  str(key);
  u32(static_cast<uint32_t>(v.type()));
  return value_payload(v);
}

GgufEncoder& GgufEncoder::tensor_info(std::string_view name, const std::vector<uint64_t>& dims, uint32_t type_id,
                                      uint64_t offset) {
  str(name);
  u32(static_cast<uint32_t>(dims.size()));
  for (uint64_t d : dims) u64(d);
  return u32(type_id).u64(offset);
}

GgufEncoder& GgufEncoder::pad_to(uint64_t alignment) {
  while (bytes.size() % alignment != 0) bytes.push_back(0);
  return *this;
}

}  // namespace mixcl::gguf
