#pragma once
// Host reference codecs for every weight format: dequantization bit-exact with gguf.md §4, and
// round-to-nearest quantization with the standard scale choices.
#include <cstdint>

#include "common/dtype.h"

namespace mixcl::quant {

/// True when dequantize_row() supports `type`.
bool can_dequantize(DType type);
/// True when quantize_row() supports `type`.
bool can_quantize(DType type);

/// Decodes `n` elements (a multiple of the block size) of `type` from `src` into f32.
void dequantize_row(DType type, const void* src, float* dst, uint64_t n);

/// Encodes `n` f32 elements (a multiple of the block size) into `type` at `dst` (row_bytes(type, n) bytes).
void quantize_row(DType type, const float* src, void* dst, uint64_t n);

}  // namespace mixcl::quant
