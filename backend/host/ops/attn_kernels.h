// Vector primitives of the host attention (and other ops), one set per ISA picked at run time. Kept free of
// inline code so the AVX2 translation unit cannot leak AVX2 instances of shared inline functions.
#pragma once
#include <cstdint>

namespace mixcl::backend::ops {

/// Dot products, scaled adds and f16 decoding on one SIMD level.
struct VecKernels {
  float (*dot)(const float* a, const float* b, uint64_t n);      // Σ a[i] b[i]
  void (*axpy)(float* y, float a, const float* x, uint64_t n);   // y += a x
  void (*scale)(float* y, float a, uint64_t n);                  // y *= a
  void (*f16_to_f32)(const uint16_t* src, float* dst, uint64_t n);
};

/// Portable versions.
VecKernels vec_kernels_generic();
/// AVX2+FMA+F16C versions; call only on CPUs that have them.
VecKernels vec_kernels_avx2();
/// The best set for an ISA name from Capabilities::isa ("generic" forces the portable set).
VecKernels vec_kernels_for(const char* caps_isa);

}  // namespace mixcl::backend::ops
