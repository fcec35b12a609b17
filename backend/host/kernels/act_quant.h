#pragma once
// Activation quantization for the integer dot products: one f32 row -> 8-bit blocks (gguf.md §5.1-5.2).
#include <cstdint>

#include "backend/host/kernels/dot_kernels.h"
#include "common/quant_blocks.h"

namespace mixcl::backend::kernels {

/// n (multiple of 32) values -> n/32 blocks: d = amax/127 (f32), qs = round-half-even(x/d), s = d*Σqs.
void quantize_act_q8x32(const float* x, uint64_t n, ActQ8x32* out);

/// n (multiple of 256) values -> n/256 Q8_K blocks as ggml's reference quantizer does (gguf.md §4.7.7),
/// bsums included.
void quantize_act_q8k(const float* x, uint64_t n, BlockQ8_K* out);

/// Bytes one activation row of `cols` values takes in `kind`.
uint64_t act_row_bytes(ActKind kind, uint64_t cols);

/// Quantizes (or copies, for kF32) one activation row into `dst` (act_row_bytes(kind, cols) bytes).
void quantize_act_row(ActKind kind, const float* x, uint64_t cols, uint8_t* dst);

/// The same with AVX2 (act_quant_avx2.cpp), bit-identical output. Call only on CPUs with AVX2.
void quantize_act_row_avx2(ActKind kind, const float* x, uint64_t cols, uint8_t* dst);

}  // namespace mixcl::backend::kernels
