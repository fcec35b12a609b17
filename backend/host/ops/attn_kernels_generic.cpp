#include <cstring>

#include "backend/host/kernels/matmul.h"
#include "backend/host/ops/attn_kernels.h"
#include "common/half.h"

namespace mixcl::backend::ops {
namespace {

float dot_generic(const float* a, const float* b, uint64_t n) {
  float s = 0.0f;
#pragma omp simd reduction(+ : s)
  for (uint64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

void axpy_generic(float* y, float a, const float* x, uint64_t n) {
#pragma omp simd
  for (uint64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

void scale_generic(float* y, float a, uint64_t n) {
#pragma omp simd
  for (uint64_t i = 0; i < n; ++i) y[i] *= a;
}

void f16_generic(const uint16_t* src, float* dst, uint64_t n) {
  for (uint64_t i = 0; i < n; ++i) dst[i] = fp16_to_fp32(src[i]);
}

void dot_rows_generic(const float* q, const float* rows, uint64_t stride, uint64_t nr, uint64_t n,
                      float* out) {
  for (uint64_t r = 0; r < nr; ++r) out[r] = dot_generic(q, rows + r * stride, n);
}

void axpy_rows_generic(float* y, const float* p, const float* rows, uint64_t stride, uint64_t nr,
                       uint64_t n) {
  for (uint64_t r = 0; r < nr; ++r) axpy_generic(y, p[r], rows + r * stride, n);
}

}  // namespace

VecKernels vec_kernels_generic() {
  return {dot_generic, axpy_generic, scale_generic, f16_generic, dot_rows_generic, axpy_rows_generic};
}

VecKernels vec_kernels_for(const char* caps_isa) {
  if (std::strcmp(caps_isa, "generic") == 0 || detect_kernel_isa() != KernelIsa::kAvx2)
    return vec_kernels_generic();
  return vec_kernels_avx2();
}

}  // namespace mixcl::backend::ops
