#pragma once
// Internal interface between the matmul driver and the per-ISA dot-product kernels. Kept free of inline
// code so that translation units compiled with -mavx2 cannot leak AVX2 instances of shared inline functions.
#include <cstdint>

namespace mixcl::backend::kernels {

/// Which 8-bit (or float) form the activations take for a weight format (gguf.md §5.1).
enum class ActKind : uint8_t { kF32, kQ8x32, kQ8K };

/// 32-value activation block: f32 scale, f32 `s = d * Σqs` (for formats with an additive min), codes.
struct ActQ8x32 {
  float d;
  float s;
  int8_t qs[32];
};
static_assert(sizeof(ActQ8x32) == 40);

/// ntok dot products of one weight row (`cols` elements at `w`) with ntok activation rows starting at `a`
/// (each `a_stride` bytes apart, in the format of the kernel's ActKind); out[t] receives dot t. ntok <= 4.
using DotFn = void (*)(uint64_t cols, const uint8_t* w, const uint8_t* a, uint64_t a_stride, int ntok,
                       float* out);

/// Tokens one DotFn call handles at most (one decoded weight block is reused across them).
inline constexpr int kMaxDotTokens = 4;

/// A kernel for one weight format on one ISA.
struct DotKernel {
  ActKind act = ActKind::kF32;
  DotFn fn = nullptr;
};

/// Portable scalar kernel for ggml type id `type`; fn == nullptr when unsupported.
DotKernel generic_dot_kernel(uint32_t type);
/// AVX2+FMA+F16C kernel for `type`; fn == nullptr when unsupported. Call only on CPUs that have AVX2.
DotKernel avx2_dot_kernel(uint32_t type);

}  // namespace mixcl::backend::kernels
