// MoE router: scores, selection bias, group-limited top-k, renormalisation and scale (deepseek2.md §6.2).
#include <cmath>
#include <vector>

#include "backend/host/host_ops.h"
#include "backend/host/ops/op_util.h"

namespace mixcl::backend {
namespace {

// ln(1 + e^z) without overflow for large z or loss of precision for very negative z.
float softplus(float z) {
  return std::fmax(z, 0.0f) + std::log1p(std::exp(-std::fabs(z)));
}

void check_params(const RouterParams& p) {
  if (p.gating != Gating::kSoftmax && p.gating != Gating::kSigmoid && p.gating != Gating::kSqrtSoftplus)
    fail("host router: gating function {} is unknown (1 softmax, 2 sigmoid, 4 sqrt-softplus)",
         static_cast<int>(p.gating));
  if (p.n_expert == 0 || p.n_used == 0 || p.n_used > p.n_expert)
    fail("host router: {} experts used of {} (need 1 <= used <= experts)", p.n_used, p.n_expert);
  if (p.n_group > 1) {
    if (p.n_expert % p.n_group != 0)
      fail("host router: {} experts do not split into {} equal groups", p.n_expert, p.n_group);
    if (p.n_group_used == 0 || p.n_group_used > p.n_group)
      fail("host router: {} groups kept of {} (need 1 <= kept <= groups)", p.n_group_used, p.n_group);
    if (p.n_used > static_cast<uint64_t>(p.n_group_used) * (p.n_expert / p.n_group))
      fail("host router: {} experts used but the {} kept groups of {} hold only {}", p.n_used, p.n_group_used,
           p.n_expert / p.n_group, p.n_group_used * (p.n_expert / p.n_group));
  }
}

// Index of the largest value of v[0..n) not yet taken; ties go to the lower index.
uint32_t argmax_untaken(const float* v, const uint8_t* taken, uint32_t n) {
  uint32_t best = n;
  for (uint32_t i = 0; i < n; ++i)
    if (!taken[i] && (best == n || v[i] > v[best])) best = i;
  return best;
}

}  // namespace

void host_router(HostDevice& dev, View logits, View bias, View ids, View weights, uint64_t m,
                 const RouterParams& p) {
  check_params(p);
  const uint32_t X = p.n_expert, k = p.n_used;
  const float* z_all = ops::checked<const float>(logits, m * X, "router", "logits");
  const float* b = bias.buffer ? ops::checked<const float>(bias, X, "router", "bias") : nullptr;
  int32_t* id_out = ops::checked<int32_t>(ids, m * k, "router", "ids");
  float* w_out = ops::checked<float>(weights, m * k, "router", "weights");
  for (uint64_t i = 0; i < m * X; ++i)
    if (std::isnan(z_all[i]))
      fail("host router: logit of expert {} for token {} is NaN (the router input is broken upstream)", i % X,
           i / X);
  const bool groups = p.n_group > 1;
  const uint32_t G = groups ? p.n_group : 1, gsize = X / G;
#pragma omp parallel num_threads(dev.threads()) if (m >= 16)
  {
    std::vector<float> s(X), sel(X), gscore(G);
    std::vector<uint8_t> taken(X), gtaken(G);
#pragma omp for schedule(static)
    for (uint64_t t = 0; t < m; ++t) {
      const float* z = z_all + t * X;
      switch (p.gating) {
        case Gating::kSoftmax: {
          float mx = -INFINITY;
          for (uint32_t e = 0; e < X; ++e) mx = std::fmax(mx, z[e]);
          double sum = 0.0;
          for (uint32_t e = 0; e < X; ++e) sum += (s[e] = std::exp(z[e] - mx));
          const float inv = static_cast<float>(1.0 / sum);
          for (uint32_t e = 0; e < X; ++e) s[e] *= inv;
          break;
        }
        case Gating::kSigmoid:
          for (uint32_t e = 0; e < X; ++e) s[e] = 1.0f / (1.0f + std::exp(-z[e]));
          break;
        case Gating::kSqrtSoftplus:
          for (uint32_t e = 0; e < X; ++e) s[e] = std::sqrt(softplus(z[e]));
          break;
      }
      for (uint32_t e = 0; e < X; ++e) sel[e] = b ? s[e] + b[e] : s[e];
      std::fill(taken.begin(), taken.end(), uint8_t{0});
      if (groups) {
        // Group score = sum of its two largest selection values; drop all but the n_group_used best groups.
        for (uint32_t g = 0; g < G; ++g) {
          const float* v = sel.data() + g * gsize;
          float top1 = -INFINITY, top2 = -INFINITY;
          for (uint32_t e = 0; e < gsize; ++e) {
            if (v[e] > top1) {
              top2 = top1;
              top1 = v[e];
            } else if (v[e] > top2) {
              top2 = v[e];
            }
          }
          gscore[g] = gsize >= 2 ? top1 + top2 : top1;
        }
        std::fill(gtaken.begin(), gtaken.end(), uint8_t{0});
        for (uint32_t j = 0; j < p.n_group_used; ++j)
          gtaken[argmax_untaken(gscore.data(), gtaken.data(), G)] = 1;
        for (uint32_t g = 0; g < G; ++g)
          if (!gtaken[g]) std::fill(taken.begin() + g * gsize, taken.begin() + (g + 1) * gsize, uint8_t{1});
      }
      int32_t* id = id_out + t * k;
      float* w = w_out + t * k;
      double sum = 0.0;
      for (uint32_t j = 0; j < k; ++j) {
        const uint32_t e = argmax_untaken(sel.data(), taken.data(), X);
        taken[e] = 1;
        id[j] = static_cast<int32_t>(e);
        w[j] = s[e];  // the unbiased score: the bias only steers selection
        sum += w[j];
      }
      if (p.norm) {
        const float inv = static_cast<float>(1.0 / std::fmax(sum, 6.103515625e-5));
        for (uint32_t j = 0; j < k; ++j) w[j] *= inv;
      }
      if (p.scale != 0.0f && p.scale != 1.0f)
        for (uint32_t j = 0; j < k; ++j) w[j] *= p.scale;
    }
  }
}

}  // namespace mixcl::backend
