// Scale/min searches for the K-quants (see scale_search.h and docs/quant.md).
#include "model/quant/scale_search.h"

#include <algorithm>
#include <cmath>

namespace mixcl::quant::detail {
namespace {

// Weighted error of x ≈ scale*L + min.
float fit_error(int n, const float* x, const float* w, const uint8_t* L, float scale, float min, bool use_mad) {
  float err = 0;
  for (int i = 0; i < n; ++i) {
    const float diff = scale * static_cast<float>(L[i]) + min - x[i];
    err += w[i] * (use_mad ? std::fabs(diff) : diff * diff);
  }
  return err;
}

}  // namespace

float fit_scale_min(int n, int nmax, const float* x, const float* w, uint8_t* L, uint8_t* aux, float* neg_min,
                    float rmin, float rdelta, int nstep, bool use_mad) {
  float lo = x[0], hi = x[0], sum_w = 0, sum_x = 0;
  for (int i = 0; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
    sum_w += w[i];
    sum_x += w[i] * x[i];
  }
  lo = std::min(lo, 0.0f);  // the format stores -min >= 0, so the offset can only move values down
  if (hi == lo) {
    std::fill(L, L + n, uint8_t{0});
    *neg_min = -lo;
    return 0;
  }
  const float range = hi - lo;
  float iscale = static_cast<float>(nmax) / range;
  float scale = 1 / iscale, min = lo;
  for (int i = 0; i < n; ++i) L[i] = static_cast<uint8_t>(std::clamp(nearest_int(iscale * (x[i] - lo)), 0, nmax));
  float best = fit_error(n, x, w, L, scale, min, use_mad);
  for (int k = 0; k <= nstep; ++k) {
    iscale = (rmin + rdelta * static_cast<float>(k) + static_cast<float>(nmax)) / range;
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(nearest_int(iscale * (x[i] - lo)), 0, nmax);
      aux[i] = static_cast<uint8_t>(l);
      const float wl = w[i] * static_cast<float>(l);
      sum_l += wl;
      sum_l2 += wl * static_cast<float>(l);
      sum_xl += wl * x[i];
    }
    const float det = sum_w * sum_l2 - sum_l * sum_l;
    if (det <= 0) continue;
    float this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
    float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
    if (this_min > 0) {  // a positive offset is not representable: refit the scale alone with min = 0
      this_min = 0;
      this_scale = sum_xl / sum_l2;
    }
    const float err = fit_error(n, x, w, aux, this_scale, this_min, use_mad);
    if (err < best) {
      std::copy(aux, aux + n, L);
      best = err;
      scale = this_scale;
      min = this_min;
    }
  }
  *neg_min = -min;
  return scale;
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
