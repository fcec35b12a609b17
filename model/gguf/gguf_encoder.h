#pragma once
// Low-level GGUF byte encoding: appends little-endian fields to a byte vector. The writer builds headers
// with it; tests use it directly to assemble odd or damaged files byte by byte.
#include <cstdint>
#include <string_view>
#include <vector>

#include "model/gguf/gguf_value.h"

namespace mixcl::gguf {

/// The four magic bytes "GGUF" read as a little-endian u32.
inline constexpr uint32_t kGgufMagic = 0x46554747u;
/// Default data alignment when general.alignment is absent.
inline constexpr uint32_t kDefaultAlignment = 32;

/// Appends GGUF-encoded fields to `bytes`; every call returns *this so fields chain.
class GgufEncoder {
 public:
  std::vector<uint8_t> bytes;

  GgufEncoder& u8(uint8_t v);
  GgufEncoder& u16(uint16_t v);
  GgufEncoder& u32(uint32_t v);
  GgufEncoder& u64(uint64_t v);
  GgufEncoder& raw(const void* data, size_t n);
  /// A gguf_string: u64 length then the bytes.
  GgufEncoder& str(std::string_view s);
  /// Header: magic, version, tensor_count, kv_count.
  GgufEncoder& header(uint32_t version, uint64_t tensor_count, uint64_t kv_count);
  /// A value's payload only (no type id), arrays included.
  GgufEncoder& value_payload(const GgufValue& v);
  /// One metadata entry: key, u32 type id, payload.
  GgufEncoder& kv(std::string_view key, const GgufValue& v);
  /// One tensor-info entry: name, n_dims, ne[], type id, offset.
  GgufEncoder& tensor_info(std::string_view name, const std::vector<uint64_t>& dims, uint32_t type_id,
                           uint64_t offset);
  /// Zero bytes up to the next multiple of `alignment`.
  GgufEncoder& pad_to(uint64_t alignment);
  size_t size() const { return bytes.size(); }
};

}  // namespace mixcl::gguf
