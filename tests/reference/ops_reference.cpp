#include "tests/reference/ops_reference.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "model/quant/quant.h"
#include "tests/reference/matmul_reference.h"

namespace mixcl::reference {

std::vector<double> ref_rope_inv_freq(uint32_t n_dims, double base, double yarn_factor, double orig_ctx,
                                      double beta_fast, double beta_slow) {
  const double d = n_dims;
  std::vector<double> inv(n_dims / 2);
  for (uint32_t i = 0; i < n_dims / 2; ++i) inv[i] = std::pow(base, -2.0 * i / d);
  if (yarn_factor == 1.0) return inv;
  auto corr = [&](double r) {
    return d * std::log(orig_ctx / (2.0 * std::numbers::pi * r)) / (2.0 * std::log(base));
  };
  const double lo = std::max(0.0, std::floor(corr(beta_fast)));
  const double hi = std::min(d - 1.0, std::ceil(corr(beta_slow)));
  for (uint32_t i = 0; i < n_dims / 2; ++i) {
    double t = (i - lo) / std::max(hi - lo, 0.001);
    t = t < 0 ? 0 : (t > 1 ? 1 : t);
    inv[i] = inv[i] * ((1 - t) + t / yarn_factor);
  }
  return inv;
}

void ref_rope(std::vector<double>& x, const std::vector<int32_t>& positions, uint64_t n_heads,
              uint64_t head_stride, uint64_t dim_offset, uint32_t n_dims, bool neox,
              const std::vector<double>& inv) {
  for (uint64_t t = 0; t < positions.size(); ++t) {
    for (uint64_t h = 0; h < n_heads; ++h) {
      double* v = x.data() + (t * n_heads + h) * head_stride + dim_offset;
      for (uint32_t i = 0; i < n_dims / 2; ++i) {
        const uint64_t a = neox ? i : 2 * i, b = neox ? i + n_dims / 2 : 2 * i + 1;
        const double th = positions[t] * inv[i], x0 = v[a], x1 = v[b];
        v[a] = x0 * std::cos(th) - x1 * std::sin(th);
        v[b] = x0 * std::sin(th) + x1 * std::cos(th);
      }
    }
  }
}

std::vector<double> ref_softmax(const std::vector<float>& x, uint64_t rows, uint64_t n, double scale) {
  std::vector<double> out(rows * n);
  for (uint64_t r = 0; r < rows; ++r) {
    double mx = -INFINITY, sum = 0;
    for (uint64_t i = 0; i < n; ++i) mx = std::max(mx, scale * x[r * n + i]);
    for (uint64_t i = 0; i < n; ++i) sum += out[r * n + i] = std::exp(scale * x[r * n + i] - mx);
    for (uint64_t i = 0; i < n; ++i) out[r * n + i] /= sum;
  }
  return out;
}

double ref_swiglu(double g, double u, double clamp) {
  if (clamp > 1e-6) {
    g = std::min(g, clamp);
    u = std::clamp(u, -clamp, clamp);
  }
  return g / (1.0 + std::exp(-g)) * u;
}

RouterRef ref_router(const std::vector<float>& logits, const std::vector<float>& bias, uint64_t m, uint32_t X,
                     uint32_t k, int gating, uint32_t G, uint32_t Gk, bool norm, double scale) {
  RouterRef r;
  for (uint64_t t = 0; t < m; ++t) {
    const float* z = logits.data() + t * X;
    std::vector<double> s(X), sel(X);
    if (gating == 1) {
      double mx = -INFINITY, sum = 0;
      for (uint32_t e = 0; e < X; ++e) mx = std::max(mx, double(z[e]));
      for (uint32_t e = 0; e < X; ++e) sum += s[e] = std::exp(z[e] - mx);
      for (auto& v : s) v /= sum;
    } else if (gating == 2) {
      for (uint32_t e = 0; e < X; ++e) s[e] = 1.0 / (1.0 + std::exp(-double(z[e])));
    } else {
      for (uint32_t e = 0; e < X; ++e) s[e] = std::sqrt(std::log1p(std::exp(double(z[e]))));
    }
    for (uint32_t e = 0; e < X; ++e) sel[e] = s[e] + (bias.empty() ? 0.0 : bias[e]);
    // Order: larger value first, then lower index.
    auto better = [](double va, uint32_t ia, double vb, uint32_t ib) {
      return va > vb || (va == vb && ia < ib);
    };
    if (G > 1) {
      const uint32_t gs = X / G;
      std::vector<double> gscore(G);
      for (uint32_t g = 0; g < G; ++g) {
        std::vector<double> v(sel.begin() + g * gs, sel.begin() + (g + 1) * gs);
        std::sort(v.begin(), v.end(), std::greater<>());
        gscore[g] = gs >= 2 ? v[0] + v[1] : v[0];
      }
      std::vector<uint32_t> order(G);
      for (uint32_t g = 0; g < G; ++g) order[g] = g;
      std::sort(order.begin(), order.end(),
                [&](uint32_t a, uint32_t b) { return better(gscore[a], a, gscore[b], b); });
      for (uint32_t j = Gk; j < G; ++j)
        for (uint32_t e = 0; e < gs; ++e) sel[order[j] * gs + e] = -INFINITY;
    }
    std::vector<uint32_t> order(X);
    for (uint32_t e = 0; e < X; ++e) order[e] = e;
    std::sort(order.begin(), order.end(),
              [&](uint32_t a, uint32_t b) { return better(sel[a], a, sel[b], b); });
    double sum = 0;
    for (uint32_t j = 0; j < k; ++j) sum += s[order[j]];
    for (uint32_t j = 0; j < k; ++j) {
      double w = s[order[j]];
      if (norm) w /= std::max(sum, 6.103515625e-5);
      if (scale != 0.0 && scale != 1.0) w *= scale;
      r.ids.push_back(static_cast<int32_t>(order[j]));
      r.weights.push_back(w);
    }
  }
  return r;
}

std::vector<double> ref_mla_absorbed(const std::vector<double>& q, const std::vector<double>& kv, uint64_t m,
                                     uint64_t pos0, uint64_t H, uint64_t Lkv, uint64_t dr, double scale) {
  const uint64_t D = Lkv + dr;
  std::vector<double> out(m * H * Lkv);
  for (uint64_t t = 0; t < m; ++t) {
    const uint64_t n = pos0 + t + 1;
    for (uint64_t h = 0; h < H; ++h) {
      const double* qh = q.data() + (t * H + h) * D;
      std::vector<double> sc(n);
      double mx = -INFINITY, sum = 0;
      for (uint64_t s = 0; s < n; ++s) {
        double d = 0;
        for (uint64_t c = 0; c < D; ++c) d += qh[c] * kv[s * D + c];
        sc[s] = scale * d;
        mx = std::max(mx, sc[s]);
      }
      for (auto& v : sc) sum += v = std::exp(v - mx);
      double* o = out.data() + (t * H + h) * Lkv;
      for (uint64_t s = 0; s < n; ++s)
        for (uint64_t c = 0; c < Lkv; ++c) o[c] += sc[s] / sum * kv[s * D + c];
    }
  }
  return out;
}

std::vector<double> ref_mla_naive(const std::vector<double>& Kb, const std::vector<double>& Vb,
                                  const std::vector<double>& q_nope, const std::vector<double>& q_pe,
                                  const std::vector<double>& c, const std::vector<double>& k_pe, uint64_t p,
                                  uint64_t H, uint64_t Lkv, uint64_t dn, uint64_t dv, uint64_t dr,
                                  double scale) {
  std::vector<double> o(H * dv);
  for (uint64_t i = 0; i < H; ++i) {
    std::vector<double> score(p + 1), v((p + 1) * dv);
    for (uint64_t s = 0; s <= p; ++s) {
      double qk = 0;
      for (uint64_t d = 0; d < dn; ++d) {  // k_nope_i[d] = Σ_c Kb[i][c][d] c[c]
        double k = 0;
        for (uint64_t cc = 0; cc < Lkv; ++cc) k += Kb[(i * Lkv + cc) * dn + d] * c[s * Lkv + cc];
        qk += q_nope[i * dn + d] * k;
      }
      for (uint64_t d = 0; d < dr; ++d) qk += q_pe[i * dr + d] * k_pe[s * dr + d];
      score[s] = scale * qk;
      for (uint64_t vv = 0; vv < dv; ++vv) {
        double acc = 0;
        for (uint64_t cc = 0; cc < Lkv; ++cc) acc += Vb[(i * dv + vv) * Lkv + cc] * c[s * Lkv + cc];
        v[s * dv + vv] = acc;
      }
    }
    const double mx = *std::max_element(score.begin(), score.end());
    double sum = 0;
    for (auto& sc : score) sum += sc = std::exp(sc - mx);
    for (uint64_t s = 0; s <= p; ++s)
      for (uint64_t vv = 0; vv < dv; ++vv) o[i * dv + vv] += score[s] / sum * v[s * dv + vv];
  }
  return o;
}

void ref_moe_ffn(const std::vector<double>& gate, const std::vector<double>& up,
                 const std::vector<double>& down, uint64_t E, uint64_t Fe, const std::vector<float>& x,
                 const std::vector<int32_t>& ids, const std::vector<float>& w, uint64_t m, uint64_t k,
                 double clamp, std::vector<double>& out, uint32_t in_block, uint32_t down_block) {
  std::vector<double> h(Fe);
  std::vector<float> hf(Fe);
  for (uint64_t t = 0; t < m; ++t) {
    const std::vector<float> xq = in_block ? quantize_activations(x.data() + t * E, E, in_block)
                                           : std::vector<float>(x.begin() + t * E, x.begin() + (t + 1) * E);
    for (uint64_t j = 0; j < k; ++j) {
      const uint64_t e = static_cast<uint64_t>(ids[t * k + j]);
      for (uint64_t f = 0; f < Fe; ++f) {
        double g = 0, u = 0;
        for (uint64_t c = 0; c < E; ++c) {
          g += gate[(e * Fe + f) * E + c] * xq[c];
          u += up[(e * Fe + f) * E + c] * xq[c];
        }
        h[f] = ref_swiglu(g, u, clamp);
      }
      if (down_block) {
        for (uint64_t f = 0; f < Fe; ++f) hf[f] = static_cast<float>(h[f]);
        const auto hq = quantize_activations(hf.data(), Fe, down_block);
        std::copy(hq.begin(), hq.end(), h.begin());
      }
      for (uint64_t r = 0; r < E; ++r) {
        double y = 0;
        for (uint64_t f = 0; f < Fe; ++f) y += down[(e * E + r) * Fe + f] * h[f];
        out[t * E + r] += w[t * k + j] * y;
      }
    }
  }
}

std::vector<double> ref_dequantize(DType type, const uint8_t* data, uint64_t rows, uint64_t cols) {
  std::vector<float> row(cols);
  std::vector<double> out(rows * cols);
  const uint64_t rb = row_bytes(type, cols);
  for (uint64_t r = 0; r < rows; ++r) {
    quant::dequantize_row(type, data + r * rb, row.data(), cols);
    std::copy(row.begin(), row.end(), out.begin() + r * cols);
  }
  return out;
}

double normalized_error(const float* a, const double* b, uint64_t n) {
  double num = 0, den = 0;
  for (uint64_t i = 0; i < n; ++i) {
    num += (a[i] - b[i]) * (a[i] - b[i]);
    den += b[i] * b[i];
  }
  if (den == 0) return num == 0 ? 0 : INFINITY;
  return std::sqrt(num / den);
}

}  // namespace mixcl::reference
