#pragma once
// Parsing and validation of a GGUF image held in memory (mmap-ed file or plain buffer). Every count, length
// and offset is checked against the buffer before use; a malformed image gets a mixcl::Error naming the
// source, the field and its byte offset.
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/dtype.h"
#include "model/gguf/gguf_value.h"

namespace mixcl::gguf {

/// Largest nesting depth of arrays the parser follows (real files use none; this bounds recursion).
inline constexpr int kMaxArrayDepth = 8;

/// One metadata entry as found in the file.
struct GgufKv {
  std::string key;
  GgufValue value;
  uint64_t offset = 0;  // byte offset of the entry (its key length) in the file
};

/// One tensor-info entry, validated.
struct GgufTensorInfo {
  std::string name;
  uint32_t n_dims = 0;
  std::array<uint64_t, 4> ne{1, 1, 1, 1};  // ne0 first; trailing dims are 1
  DType type = DType::F32;
  uint64_t offset = 0;       // relative to the data section
  uint64_t nbytes = 0;       // bytes of data
  uint64_t n_elements = 0;
  uint64_t info_offset = 0;  // byte offset of this tensor-info entry in the file
  /// The declared dims (n_dims entries).
  std::span<const uint64_t> dims() const { return {ne.data(), n_dims}; }
};

/// The parsed header of one GGUF image: everything but the tensor data itself.
struct GgufContents {
  uint32_t version = 0;
  uint32_t alignment = 32;
  uint64_t data_start = 0;  // absolute offset of the data section
  uint64_t file_size = 0;
  std::vector<GgufKv> kvs;  // in file order
  std::vector<GgufTensorInfo> tensors;  // in file order
  std::unordered_map<std::string, size_t> kv_index;      // key -> index into kvs
  std::unordered_map<std::string, size_t> tensor_index;  // name -> index into tensors
};

/// Parses and validates `bytes`; `source` (usually the file path) starts every error message.
GgufContents parse_gguf(std::span<const uint8_t> bytes, std::string_view source);

}  // namespace mixcl::gguf
