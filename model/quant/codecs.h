#pragma once
// Internal per-format block codecs behind quant.h; each works on whole blocks (plain types: 1 element).
#include <cstdint>

#include "common/dtype.h"

namespace mixcl::quant::detail {

/// Decodes `nblocks` blocks at `src` into `nblocks * block_elems` floats.
using DequantFn = void (*)(const uint8_t* src, float* dst, uint64_t nblocks);
/// Encodes `nblocks * block_elems` floats into `nblocks` blocks at `dst`.
using QuantFn = void (*)(const float* src, uint8_t* dst, uint64_t nblocks);

/// 2^(E-128) for an MXFP4 E8M0 byte, built from bits as ggml does (subnormal for E <= 1).
float mxfp4_half_scale(uint8_t e);

/// f32 -> f16 bits for a block scale; throws mixcl::Error when the scale overflows f16.
uint16_t scale_to_fp16(float scale);

/// Block decoder of `type`, or nullptr when unsupported.
DequantFn dequant_fn(DType type);
/// Block encoder of `type` for the round-to-nearest formats (quantize_simple.cpp), or nullptr.
QuantFn quant_fn_simple(DType type);
/// Block encoder of `type` for the K-quants (quantize_kquants.cpp), or nullptr.
QuantFn quant_fn_kquant(DType type);

}  // namespace mixcl::quant::detail
