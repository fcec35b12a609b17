#pragma once
// Scale (and min) searches used by the quantizers: round-to-nearest followed by weighted least-squares
// refinement, the same strategy as the reference ggml quantizers (see docs/quant.md).
#include <cstdint>
#include <cstring>

namespace mixcl::quant::detail {

/// Round to nearest, ties to even, via the 1.5*2^23 trick; input is clamped to +-2^22 so it never wraps.
inline int nearest_int(float v) {
  constexpr float kLimit = 4194303.0f;
  v = v > kLimit ? kLimit : (v < -kLimit ? -kLimit : v);
  const float shifted = v + 12582912.0f;
  int32_t bits;
  std::memcpy(&bits, &shifted, 4);
  return (bits & 0x007FFFFF) - 0x00400000;
}

/// Fits x ≈ scale*L + min with L in 0..nmax, min <= 0, minimising sum w*err^2 (or w*|err| when use_mad):
/// tries the plain min/max grid and `nstep`+1 stretched grids (nmax + rmin + rdelta*k steps over the
/// range), each followed by a closed-form weighted least-squares solve for (scale, min). n is 16 or 32.
/// Writes the codes of the best grid to L; returns scale and stores -min in *neg_min.
float fit_scale_min(int n, int nmax, const float* x, const float* w, uint8_t* L, float* neg_min, float rmin,
                    float rdelta, int nstep, bool use_mad);

/// Fits x ≈ scale*(L - nmax) with L - nmax in -nmax..nmax-1, starting from the grid that maps the largest
/// magnitude to -nmax, then greedily moving single codes while the x^2-weighted fit improves. Returns scale.
float fit_symmetric_greedy(int n, int nmax, const float* x, int8_t* L);

/// Fits x ≈ scale*L with L in -nmax..nmax-1 using x^2 weights: tries 19 grids (nmax + 0.1*k, k = -9..9,
/// largest magnitude to -nmax-0.1k) and keeps the one whose least-squares scale explains the most. Returns scale.
float fit_symmetric_grid(int n, int nmax, const float* x, int8_t* L);

/// Smallest magnitude treated as non-zero by the scale searches (a block below it quantizes to zeros).
inline constexpr float kGroupEps = 1e-15f;

}  // namespace mixcl::quant::detail
