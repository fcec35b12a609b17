#pragma once
// Host decoders of one weight row to f32 for every stored format (gguf.md §4), used by get_rows.
#include <cstdint>

#include "common/dtype.h"

namespace mixcl::backend::ops {

/// Decodes n elements (a multiple of the block size) of `type` at src into dst; returns false when the
/// format has no decoder.
bool decode_row(DType type, const uint8_t* src, float* dst, uint64_t n);

/// True when decode_row() handles `type`.
bool can_decode_row(DType type);

}  // namespace mixcl::backend::ops
