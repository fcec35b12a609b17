// Rotary position embedding, adjacent-pair (GPT-J / deepseek2) and NEOX forms, with YaRN frequency blending.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "backend/host/host_ops.h"
#include "backend/host/ops/op_util.h"

namespace mixcl::backend {

std::vector<double> rope_inv_freqs(const RopeParams& p) {
  const uint32_t half = p.n_dims / 2;
  const double d = p.n_dims, base = p.freq_base;
  std::vector<double> inv(half);
  for (uint32_t i = 0; i < half; ++i) inv[i] = std::pow(base, -2.0 * i / d);
  if (p.yarn_factor != 1.0f && p.yarn_factor > 0.0f) {
    // deepseek2.md §5.5: pairs below corr(beta_fast) keep their frequency, pairs above corr(beta_slow)
    // are divided by the factor, a linear ramp in between.
    const double l0 = p.yarn_orig_ctx, f = p.yarn_factor;
    auto corr = [&](double r) {
      return d * std::log(l0 / (2.0 * std::numbers::pi * r)) / (2.0 * std::log(base));
    };
    const double lo = std::max(0.0, std::floor(corr(p.yarn_beta_fast)));
    const double hi = std::min(d - 1.0, std::ceil(corr(p.yarn_beta_slow)));
    for (uint32_t i = 0; i < half; ++i) {
      const double t = std::clamp((i - lo) / std::max(hi - lo, 0.001), 0.0, 1.0);
      inv[i] *= (1.0 - t) + t / f;
    }
  }
  return inv;
}

void host_rope(HostDevice& dev, View x, View positions, uint64_t n_tokens, uint64_t n_heads,
               uint64_t head_stride, uint64_t dim_offset, const RopeParams& p) {
  if (p.n_dims == 0 || p.n_dims % 2 != 0)
    fail("host rope: n_dims {} must be a positive even number of rotated dims per head", p.n_dims);
  if (dim_offset + p.n_dims > head_stride)
    fail("host rope: dims [{}, {}) do not fit in a head of {} values", dim_offset, dim_offset + p.n_dims,
         head_stride);
  if (!(p.freq_base > 1.0f)) fail("host rope: freq_base {} must be > 1", p.freq_base);
  if (p.yarn_factor != 1.0f &&
      (p.yarn_factor <= 0.0f || p.yarn_orig_ctx == 0 || p.yarn_beta_fast <= 0.0f || p.yarn_beta_slow <= 0.0f))
    fail("host rope: YaRN factor {} needs a positive factor, original context ({}) and betas ({}, {})",
         p.yarn_factor, p.yarn_orig_ctx, p.yarn_beta_fast, p.yarn_beta_slow);
  float* px = ops::checked<float>(x, n_tokens * n_heads * head_stride, "rope", "x");
  const int32_t* pos = ops::checked<const int32_t>(positions, n_tokens, "rope", "positions");
  const std::vector<double> inv = rope_inv_freqs(p);
  const uint64_t half = p.n_dims / 2;
  // In a NEOX head the partner of dim i is i + half; in the adjacent form it is the next dim.
  const uint64_t a_step = p.neox ? 1 : 2, b_off = p.neox ? half : 1;
#pragma omp parallel num_threads(dev.threads()) if (n_tokens > 1 && n_tokens * n_heads * half >= 16384)
  {
    std::vector<float> cs(2 * half);  // cos, sin per pair, shared by every head of the token
#pragma omp for schedule(static)
    for (uint64_t t = 0; t < n_tokens; ++t) {
      // θ and its cos/sin in f64: at positions near 163840 an f32 angle would be off by ~0.01 rad.
      for (uint64_t i = 0; i < half; ++i) {
        const double theta = static_cast<double>(pos[t]) * inv[i];
        cs[2 * i] = static_cast<float>(std::cos(theta));
        cs[2 * i + 1] = static_cast<float>(std::sin(theta));
      }
      for (uint64_t h = 0; h < n_heads; ++h) {
        float* v = px + (t * n_heads + h) * head_stride + dim_offset;
        for (uint64_t i = 0; i < half; ++i) {
          float* a = v + i * a_step;
          float* b = a + b_off;
          const float c = cs[2 * i], s = cs[2 * i + 1], x0 = *a, x1 = *b;
          *a = x0 * c - x1 * s;
          *b = x0 * s + x1 * c;
        }
      }
    }
  }
}

}  // namespace mixcl::backend
