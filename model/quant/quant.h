#pragma once
// Host reference codecs for every weight format: dequantization bit-exact with gguf.md §4, and
// round-to-nearest quantization with the standard scale choices (docs/quant.md).
#include <cstdint>

#include "common/dtype.h"

namespace mixcl::quant {

/// True when dequantize_row() supports `type` (F32, F16, BF16, Q4_0..Q8_1, Q2_K..Q8_K, MXFP4, IQ4_NL, IQ4_XS).
bool can_dequantize(DType type);
/// True when quantize_row() supports `type` (the same set as can_dequantize()).
bool can_quantize(DType type);

/// Decodes `n` elements (a multiple of the block size) of `type` from `src` into f32.
/// Throws mixcl::Error for an unsupported type or a ragged n.
void dequantize_row(DType type, const void* src, float* dst, uint64_t n);

/// Encodes `n` f32 elements (a multiple of the block size) into `type` at `dst` (row_bytes(type, n) bytes).
/// Throws mixcl::Error for an unsupported type, a ragged n, a non-finite input to a quantized type, or a
/// block scale that overflows f16. Reentrant: callers may run rows on several threads.
void quantize_row(DType type, const float* src, void* dst, uint64_t n);

/// quantize_row() over `rows` consecutive rows of `n` elements (row r at src + r*n, written at
/// dst + r*row_bytes(type, n)), rows spread over the OpenMP threads. Same errors as quantize_row(); when
/// several rows fail, the lowest failing row is reported.
void quantize_rows(DType type, const float* src, void* dst, uint64_t rows, uint64_t n);

}  // namespace mixcl::quant
