#pragma once
// Element-wise math shared by the host ops, written so the compiler vectorizes it (no libm calls inside).
#include <cstdint>

namespace mixcl::backend::ops {

/// out[i] = silu(min(g[i], clamp)) * clamp(u[i], -clamp, clamp); clamp = +inf means none. out may alias g.
void swiglu_f32(const float* g, const float* u, float* out, uint64_t n, float clamp);

}  // namespace mixcl::backend::ops
