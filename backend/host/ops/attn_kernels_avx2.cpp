// AVX2+FMA+F16C primitives (this file is compiled with -mavx2 -mfma -mf16c; see backend/CMakeLists.txt).
#include <immintrin.h>

#include "backend/host/ops/attn_kernels.h"

namespace mixcl::backend::ops {
namespace {

float hsum(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
}

float dot_avx2(const float* a, const float* b, uint64_t n) {
  // Four independent accumulators hide the FMA latency.
  __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  uint64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
    s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
  }
  for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
  float s = hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

void axpy_avx2(float* y, float a, const float* x, uint64_t n) {
  const __m256 va = _mm256_set1_ps(a);
  uint64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    _mm256_storeu_ps(y + i + 8, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8)));
  }
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  for (; i < n; ++i) y[i] += a * x[i];
}

void scale_avx2(float* y, float a, uint64_t n) {
  const __m256 va = _mm256_set1_ps(a);
  uint64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_mul_ps(va, _mm256_loadu_ps(y + i)));
  for (; i < n; ++i) y[i] *= a;
}

void f16_avx2(const uint16_t* src, float* dst, uint64_t n) {
  uint64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
  for (; i < n; ++i) dst[i] = _cvtsh_ss(src[i]);
}

// Four rows at a time: each q load feeds four rows, eight independent accumulators.
void dot_rows_avx2(const float* q, const float* rows, uint64_t stride, uint64_t nr, uint64_t n, float* out) {
  uint64_t r = 0;
  for (; r + 4 <= nr; r += 4) {
    const float* r0 = rows + r * stride;
    const float* r1 = r0 + stride;
    const float* r2 = r1 + stride;
    const float* r3 = r2 + stride;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    uint64_t i = 0;
    for (; i + 16 <= n; i += 16) {
      const __m256 q0 = _mm256_loadu_ps(q + i), q1 = _mm256_loadu_ps(q + i + 8);
      a0 = _mm256_fmadd_ps(q0, _mm256_loadu_ps(r0 + i), a0);
      a1 = _mm256_fmadd_ps(q0, _mm256_loadu_ps(r1 + i), a1);
      a2 = _mm256_fmadd_ps(q0, _mm256_loadu_ps(r2 + i), a2);
      a3 = _mm256_fmadd_ps(q0, _mm256_loadu_ps(r3 + i), a3);
      b0 = _mm256_fmadd_ps(q1, _mm256_loadu_ps(r0 + i + 8), b0);
      b1 = _mm256_fmadd_ps(q1, _mm256_loadu_ps(r1 + i + 8), b1);
      b2 = _mm256_fmadd_ps(q1, _mm256_loadu_ps(r2 + i + 8), b2);
      b3 = _mm256_fmadd_ps(q1, _mm256_loadu_ps(r3 + i + 8), b3);
    }
    for (; i + 8 <= n; i += 8) {
      const __m256 q0 = _mm256_loadu_ps(q + i);
      a0 = _mm256_fmadd_ps(q0, _mm256_loadu_ps(r0 + i), a0);
      a1 = _mm256_fmadd_ps(q0, _mm256_loadu_ps(r1 + i), a1);
      a2 = _mm256_fmadd_ps(q0, _mm256_loadu_ps(r2 + i), a2);
      a3 = _mm256_fmadd_ps(q0, _mm256_loadu_ps(r3 + i), a3);
    }
    float s0 = hsum(_mm256_add_ps(a0, b0)), s1 = hsum(_mm256_add_ps(a1, b1));
    float s2 = hsum(_mm256_add_ps(a2, b2)), s3 = hsum(_mm256_add_ps(a3, b3));
    for (; i < n; ++i) {
      s0 += q[i] * r0[i];
      s1 += q[i] * r1[i];
      s2 += q[i] * r2[i];
      s3 += q[i] * r3[i];
    }
    out[r] = s0;
    out[r + 1] = s1;
    out[r + 2] = s2;
    out[r + 3] = s3;
  }
  for (; r < nr; ++r) out[r] = dot_avx2(q, rows + r * stride, n);
}

// Four rows at a time: one load and one store of y per four scaled rows.
void axpy_rows_avx2(float* y, const float* p, const float* rows, uint64_t stride, uint64_t nr, uint64_t n) {
  uint64_t r = 0;
  for (; r + 4 <= nr; r += 4) {
    const float* r0 = rows + r * stride;
    const float* r1 = r0 + stride;
    const float* r2 = r1 + stride;
    const float* r3 = r2 + stride;
    const __m256 p0 = _mm256_set1_ps(p[r]), p1 = _mm256_set1_ps(p[r + 1]);
    const __m256 p2 = _mm256_set1_ps(p[r + 2]), p3 = _mm256_set1_ps(p[r + 3]);
    uint64_t i = 0;
    for (; i + 8 <= n; i += 8) {
      __m256 a = _mm256_fmadd_ps(p0, _mm256_loadu_ps(r0 + i), _mm256_loadu_ps(y + i));
      __m256 b = _mm256_mul_ps(p1, _mm256_loadu_ps(r1 + i));
      a = _mm256_fmadd_ps(p2, _mm256_loadu_ps(r2 + i), a);
      b = _mm256_fmadd_ps(p3, _mm256_loadu_ps(r3 + i), b);
      _mm256_storeu_ps(y + i, _mm256_add_ps(a, b));
    }
    for (; i < n; ++i) y[i] += p[r] * r0[i] + p[r + 1] * r1[i] + p[r + 2] * r2[i] + p[r + 3] * r3[i];
  }
  for (; r < nr; ++r) axpy_avx2(y, p[r], rows + r * stride, n);
}

}  // namespace

VecKernels vec_kernels_avx2() {
  return {dot_avx2, axpy_avx2, scale_avx2, f16_avx2, dot_rows_avx2, axpy_rows_avx2};
}

}  // namespace mixcl::backend::ops
