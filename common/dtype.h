#pragma once
// The ggml tensor type ids found in GGUF files, with their block geometry.
#include <cstdint>
#include <optional>
#include <string_view>

namespace mixcl {

/// ggml type id, numbered as in GGUF files (gguf.md §3).
enum class DType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
  Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
  IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22, IQ4_XS = 23,
  I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30,
  TQ1_0 = 34, TQ2_0 = 35, MXFP4 = 39, NVFP4 = 40, Q1_0 = 41, Q2_0 = 42,
};

/// Block geometry of one type: elements per block and bytes per block.
struct DTypeInfo {
  std::string_view name;
  uint32_t block_elems;
  uint32_t block_bytes;
};

/// Geometry of a known type id, or nullopt for ids that are removed or unknown.
std::optional<DTypeInfo> dtype_info(uint32_t id);
/// Geometry of a type (which must be known).
DTypeInfo dtype_info(DType type);
/// "Q4_K", "F32", ... ; "type#N" for unknown ids.
std::string_view dtype_name(DType type);
/// Parses a type name ("q4_k", "Q8_0", "f16"; case-insensitive); nullopt if unknown.
std::optional<DType> dtype_from_name(std::string_view name);
/// Bytes of one row of `elems` elements (elems must be a multiple of the block size).
uint64_t row_bytes(DType type, uint64_t elems);

}  // namespace mixcl
