// Selects on float compares are if-converted (and the loops vectorized) only without trapping math; the
// code below never relies on floating-point exception flags.
#pragma GCC optimize("no-trapping-math")
#include "backend/host/ops/vec_math.h"

#include <bit>
#include <cmath>
#include <cstdint>

namespace mixcl::backend::ops {
namespace {

// e^x with ~2 ulp error: x = n·ln2 + r, |r| <= ln2/2, a degree-7 polynomial for e^r, 2^n built from bits.
// Below -87.3 the result is 0 and above 88.7 +inf, as silu wants; NaN stays NaN.
inline float exp_poly(float x) {
  const float xc = x < -87.3f ? -87.3f : (x > 88.7f ? 88.7f : x);
  const float fn =
      (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  // nearest integer (1.5·2^23 trick)
  const int32_t n = static_cast<int32_t>(fn);
  float r = xc - fn * 0.693359375f;
  r = r - fn * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  // 2^n in two halves so that n = 128 (x near 88.7) does not overflow the exponent field early.
  const int32_t h = n >> 1;
  const float s1 = std::bit_cast<float>((h + 127) << 23), s2 = std::bit_cast<float>((n - h + 127) << 23);
  float y = p * s1 * s2;
  y = x < -87.3f ? 0.0f : y;
  y = x > 88.7f ? INFINITY : y;
  return x != x ? x : y;
}

}  // namespace

void swiglu_f32(const float* g, const float* u, float* out, uint64_t n, float clamp) {
#pragma omp simd
  for (uint64_t i = 0; i < n; ++i) {
    // Comparisons written so that a NaN input stays NaN (fmin would drop it).
    const float gi = g[i] > clamp ? clamp : g[i];
    const float uc = u[i] > clamp ? clamp : u[i];
    const float ui = uc < -clamp ? -clamp : uc;
    out[i] = gi / (1.0f + exp_poly(-gi)) * ui;
  }
}

}  // namespace mixcl::backend::ops
