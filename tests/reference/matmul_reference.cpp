#include "tests/reference/matmul_reference.h"

#include <algorithm>
#include <cmath>

namespace mixcl::reference {

std::vector<float> quantize_activations(const float* x, uint64_t n, uint32_t block) {
  std::vector<float> out(n);
  for (uint64_t b0 = 0; b0 < n; b0 += block) {
    float amax = 0.0f, max = 0.0f;
    for (uint32_t k = 0; k < block; ++k) {
      if (std::fabs(x[b0 + k]) > amax) {
        amax = std::fabs(x[b0 + k]);
        max = x[b0 + k];
      }
    }
    if (amax == 0.0f) continue;  // all-zero block: scale 0, codes 0
    if (block == 32) {           // Q8_0-style, f32 scale
      const float d = amax / 127.0f, id = 1.0f / d;
      for (uint32_t k = 0; k < block; ++k)
        out[b0 + k] = d * std::clamp(std::nearbyint(x[b0 + k] * id), -127.0f, 127.0f);
    } else {  // Q8_K: scale from the signed maximum
      const float iscale = -127.0f / max, d = 1.0f / iscale;
      for (uint32_t k = 0; k < block; ++k)
        out[b0 + k] = d * std::min(127.0f, std::nearbyint(iscale * x[b0 + k]));
    }
  }
  return out;
}

MatmulReference reference_matmul(DType type, const uint8_t* w, uint64_t rows, uint64_t cols, const float* x,
                                 uint64_t m) {
  const uint32_t block = dtype_info(type).block_elems;
  const uint64_t rb = row_bytes(type, cols);
  std::vector<float> wf(rows * cols);
  for (uint64_t r = 0; r < rows; ++r) quant::dequantize_row(type, w + r * rb, wf.data() + r * cols, cols);

  MatmulReference ref;
  ref.exact.resize(m * rows);
  ref.quantized.resize(m * rows);
  ref.abs_sum.resize(m * rows);
  ref.act_bound.resize(m * rows);
  std::vector<float> xq;
  std::vector<double> amax(cols);
  double sq = 0.0;
  for (uint64_t i = 0; i < m; ++i) {
    const float* xi = x + i * cols;
    if (block == 1) {
      xq.assign(xi, xi + cols);
      std::fill(amax.begin(), amax.end(), 0.0);
    } else {
      xq = quantize_activations(xi, cols, block);
      for (uint64_t b0 = 0; b0 < cols; b0 += block) {
        double a = 0.0;
        for (uint32_t k = 0; k < block; ++k) a = std::max(a, std::fabs(static_cast<double>(xi[b0 + k])));
        std::fill(amax.begin() + b0, amax.begin() + b0 + block, a);
      }
    }
    for (uint64_t r = 0; r < rows; ++r) {
      const float* wr = wf.data() + r * cols;
      double e = 0.0, q = 0.0, s = 0.0, bound = 0.0;
      for (uint64_t k = 0; k < cols; ++k) {
        const double wk = wr[k];
        e += wk * xi[k];
        q += wk * xq[k];
        s += std::fabs(wk) * std::fabs(static_cast<double>(xq[k]));
        bound += std::fabs(wk) * amax[k] / 254.0;
      }
      ref.exact[i * rows + r] = e;
      ref.quantized[i * rows + r] = q;
      ref.abs_sum[i * rows + r] = s;
      ref.act_bound[i * rows + r] = bound;
      sq += e * e;
    }
  }
  ref.rms = std::sqrt(sq / static_cast<double>(m * rows));
  return ref;
}

}  // namespace mixcl::reference
