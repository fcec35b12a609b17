// Scale/min searches for the K-quants (see scale_search.h and docs/quant.md).
#include "model/quant/scale_search.h"

#include <algorithm>
#include <cmath>

namespace mixcl::quant::detail {
namespace {

constexpr int kLanes = 8;  // group sizes (16, 32) are multiples of this; lane-wise sums let the compiler vectorize

// Rounds to nearest (ties to even) in float and clamps to [0, nmax]; exact for |v| < 2^22.
inline float round_clamp(float v, float nmax) {
  const float r = (v + 12582912.0f) - 12582912.0f;
  return r < 0 ? 0 : (r > nmax ? nmax : r);
}

inline float lane_sum(const float* a) {
  float s = 0;
  for (int k = 0; k < kLanes; ++k) s += a[k];
  return s;
}

// Weighted sum of |scale*L + min - x| over codes from grid `iscale` (only used for use_mad).
template <int n>
float mad_error(const float* x, const float* xs, const float* w, float iscale, float nmax, float scale,
                float min) {
  float acc[kLanes] = {};
  for (int i = 0; i < n; i += kLanes)
    for (int k = 0; k < kLanes; ++k) {
      const float l = round_clamp(iscale * xs[i + k], nmax);
      const float diff = scale * l + min - x[i + k];
      acc[k] += w[i + k] * (diff < 0 ? -diff : diff);
    }
  return lane_sum(acc);
}

// fit_scale_min() for a compile-time group size, so the lane loops unroll fully.
template <int n>
float fit_scale_min_n(int nmax, const float* x, const float* w, uint8_t* L, float* neg_min, float rmin, float rdelta,
                      int nstep, bool use_mad) {
  float lo = x[0], hi = x[0];
  double sum_w = 0, sum_x = 0, sum_x2 = 0;
  for (int i = 0; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
    sum_w += w[i];
    sum_x += w[i] * x[i];
    sum_x2 += static_cast<double>(w[i]) * x[i] * x[i];
  }
  lo = std::min(lo, 0.0f);  // the format stores -min >= 0, so the offset can only move values down
  if (hi == lo) {
    std::fill(L, L + n, uint8_t{0});
    *neg_min = -lo;
    return 0;
  }
  float xs[32];  // x - lo, the grid coordinate before scaling
  for (int i = 0; i < n; ++i) xs[i] = x[i] - lo;
  const float fmax = static_cast<float>(nmax);
  const float range = hi - lo;
  // Weighted squared error of scale*L + min from the grid sums, in double to avoid cancellation.
  auto sq_error = [&](double s, double m, double sl, double sl2, double sxl) {
    return s * s * sl2 + 2 * s * m * sl - 2 * s * sxl + m * m * sum_w - 2 * m * sum_x + sum_x2;
  };
  // Grid 0: min/max mapped onto 0..nmax.
  float best_iscale = fmax / range, scale = range / fmax, min = lo;
  float best;
  {
    float al[kLanes] = {}, al2[kLanes] = {}, axl[kLanes] = {};
    for (int i = 0; i < n; i += kLanes)
      for (int k = 0; k < kLanes; ++k) {
        const float l = round_clamp(best_iscale * xs[i + k], fmax), wl = w[i + k] * l;
        al[k] += wl;
        al2[k] += wl * l;
        axl[k] += wl * x[i + k];
      }
    best = use_mad ? mad_error<n>(x, xs, w, best_iscale, fmax, scale, min)
                   : static_cast<float>(sq_error(scale, min, lane_sum(al), lane_sum(al2), lane_sum(axl)));
  }
  for (int step = 0; step <= nstep; ++step) {
    const float iscale = (rmin + rdelta * static_cast<float>(step) + fmax) / range;
    float al[kLanes] = {}, al2[kLanes] = {}, axl[kLanes] = {};
    for (int i = 0; i < n; i += kLanes)
      for (int k = 0; k < kLanes; ++k) {
        const float l = round_clamp(iscale * xs[i + k], fmax), wl = w[i + k] * l;
        al[k] += wl;
        al2[k] += wl * l;
        axl[k] += wl * x[i + k];
      }
    const double sl = lane_sum(al), sl2 = lane_sum(al2), sxl = lane_sum(axl);
    const double det = sum_w * sl2 - sl * sl;
    if (det <= 0) continue;
    // Weighted least-squares (scale, min) for these codes.
    double this_scale = (sum_w * sxl - sum_x * sl) / det;
    double this_min = (sl2 * sum_x - sl * sxl) / det;
    if (this_min > 0) {  // a positive offset is not representable: refit the scale alone with min = 0
      this_min = 0;
      this_scale = sxl / sl2;
    }
    const float err = use_mad ? mad_error<n>(x, xs, w, iscale, fmax, static_cast<float>(this_scale),
                                          static_cast<float>(this_min))
                              : static_cast<float>(sq_error(this_scale, this_min, sl, sl2, sxl));
    if (err < best) {
      best = err;
      best_iscale = iscale;
      scale = static_cast<float>(this_scale);
      min = static_cast<float>(this_min);
    }
  }
  for (int i = 0; i < n; ++i) L[i] = static_cast<uint8_t>(round_clamp(best_iscale * xs[i], fmax));
  *neg_min = -min;
  return scale;
}

}  // namespace

float fit_scale_min(int n, int nmax, const float* x, const float* w, uint8_t* L, float* neg_min, float rmin,
                    float rdelta, int nstep, bool use_mad) {
  if (n == 16) return fit_scale_min_n<16>(nmax, x, w, L, neg_min, rmin, rdelta, nstep, use_mad);
  return fit_scale_min_n<32>(nmax, x, w, L, neg_min, rmin, rdelta, nstep, use_mad);
}

float fit_symmetric_greedy(int n, int nmax, const float* x, int8_t* L) {
  float amax = 0, max = 0;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  if (amax < kGroupEps) {
    std::fill(L, L + n, int8_t{0});
    return 0;
  }
  const float iscale = -static_cast<float>(nmax) / max;
  float sum_lx = 0, sum_l2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1);
    L[i] = static_cast<int8_t>(l);
    const float w = x[i] * x[i];
    sum_lx += w * x[i] * static_cast<float>(l);
    sum_l2 += w * static_cast<float>(l * l);
  }
  // Coordinate descent: move one code to its best value under the scale fitted without it.
  for (int pass = 0; pass < 5; ++pass) {
    int changed = 0;
    for (int i = 0; i < n; ++i) {
      const float w = x[i] * x[i];
      const float li = static_cast<float>(L[i]);
      float slx = sum_lx - w * x[i] * li;
      float sl2 = sum_l2 - w * li * li;
      if (slx <= 0 || sl2 <= 0) continue;
      const int nl = std::clamp(nearest_int(x[i] * sl2 / slx), -nmax, nmax - 1);
      if (nl == L[i]) continue;
      slx += w * x[i] * static_cast<float>(nl);
      sl2 += w * static_cast<float>(nl * nl);
      if (slx * slx * sum_l2 > sum_lx * sum_lx * sl2) {  // explained energy slx^2/sl2 grew
        L[i] = static_cast<int8_t>(nl);
        sum_lx = slx;
        sum_l2 = sl2;
        ++changed;
      }
    }
    if (!changed) break;
  }
  return sum_l2 > 0 ? sum_lx / sum_l2 : 0;
}

float fit_symmetric_grid(int n, int nmax, const float* x, int8_t* L) {
  float amax = 0, max = 0;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  if (amax < kGroupEps) {
    std::fill(L, L + n, int8_t{0});
    return 0;
  }
  // Least-squares scale and explained energy (sum_lx^2/sum_l2) of the grid with inverse scale `iscale`.
  auto trial = [&](float iscale, float& sum_lx, float& sum_l2) {
    sum_lx = 0;
    sum_l2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1);
      const float w = x[i] * x[i];
      sum_lx += w * x[i] * static_cast<float>(l);
      sum_l2 += w * static_cast<float>(l * l);
    }
  };
  float best_iscale = -static_cast<float>(nmax) / max;
  float sum_lx, sum_l2;
  trial(best_iscale, sum_lx, sum_l2);
  float scale = sum_l2 > 0 ? sum_lx / sum_l2 : 0;
  float best = scale * sum_lx;
  for (int k = -9; k <= 9; ++k) {
    if (k == 0) continue;
    const float iscale = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(k)) / max;
    trial(iscale, sum_lx, sum_l2);
    if (sum_l2 > 0 && sum_lx * sum_lx > best * sum_l2) {
      best_iscale = iscale;
      scale = sum_lx / sum_l2;
      best = scale * sum_lx;
    }
  }
  for (int i = 0; i < n; ++i)
    L[i] = static_cast<int8_t>(std::clamp(nearest_int(best_iscale * x[i]), -nmax, nmax - 1));
  return scale;
}

}  // namespace mixcl::quant::detail
