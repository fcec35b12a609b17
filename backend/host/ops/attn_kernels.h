// Vector primitives of the host attention (and other ops), one set per ISA picked at run time. Kept free of
// inline code so the AVX2 translation unit cannot leak AVX2 instances of shared inline functions.
#pragma once
#include <cstdint>

namespace mixcl::backend::ops {

/// Dot products, scaled adds and f16 decoding on one SIMD level.
struct VecKernels {
  float (*dot)(const float* a, const float* b, uint64_t n);     // Σ a[i] b[i]
  void (*axpy)(float* y, float a, const float* x, uint64_t n);  // y += a x
  void (*scale)(float* y, float a, uint64_t n);                 // y *= a
  void (*f16_to_f32)(const uint16_t* src, float* dst, uint64_t n);
  // out[r] = Σ_i q[i] rows[r*stride + i] for r < nr: q is loaded once for several rows.
  void (*dot_rows)(const float* q, const float* rows, uint64_t stride, uint64_t nr, uint64_t n, float* out);
  // y += Σ_r p[r] rows[r*stride ..] for r < nr: y is loaded and stored once for several rows.
  void (*axpy_rows)(float* y, const float* p, const float* rows, uint64_t stride, uint64_t nr, uint64_t n);
};

/// Portable versions.
VecKernels vec_kernels_generic();
/// AVX2+FMA+F16C versions; call only on CPUs that have them.
VecKernels vec_kernels_avx2();
/// The best set for an ISA name from Capabilities::isa ("generic" forces the portable set).
VecKernels vec_kernels_for(const char* caps_isa);

}  // namespace mixcl::backend::ops
