#pragma once
// Double-precision reference for the host matmul kernels, and the one table of matmul cases shared by the
// tests (tests/backend/host_kernels) and the benchmark (bench/bench_host_matmul.cpp). The table and the
// data generator are header-only so the benchmark can use them without linking the reference library.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "common/dtype.h"
#include "common/half.h"
#include "model/quant/quant.h"

namespace mixcl::reference {

/// One matmul case: `rows` weight rows of `cols` elements of `type`, times `m` activation rows.
struct MatmulCase {
  DType type;
  uint64_t rows;
  uint64_t cols;
  uint64_t m;
};

/// Every weight format the host kernels support.
inline std::vector<DType> matmul_types() {
  return {DType::F32,  DType::F16,  DType::BF16,  DType::Q8_0,   DType::Q4_0, DType::Q4_1,
          DType::Q5_0, DType::Q5_1, DType::MXFP4, DType::IQ4_NL, DType::Q2_K, DType::Q3_K,
          DType::Q4_K, DType::Q5_K, DType::Q6_K,  DType::IQ4_XS};
}

/// The table: every format × odd row counts (not multiples of the 16-row tile or the thread count),
/// 1..9 blocks per row, m in {1, 2, 3, 7, 33} (512 for a few), plus 2048×1408 / 1408×2048 shapes.
inline std::vector<MatmulCase> matmul_cases() {
  std::vector<MatmulCase> cases;
  for (DType t : matmul_types()) {
    const uint64_t b = dtype_info(t).block_elems;
    // Float formats have 1-element blocks: use odd element counts instead, tails of the 8/16-wide loops.
    const uint64_t c1 = b == 1 ? 2 : b, c3 = b == 1 ? 67 : 3 * b, c9 = b == 1 ? 291 : 9 * b;
    cases.push_back({t, 1, c1, 1});
    cases.push_back({t, 5, c3, 2});
    cases.push_back({t, 17, c9, 3});
    cases.push_back({t, 37, c3, 7});
    cases.push_back({t, 33, c9, 33});
    cases.push_back({t, 19, c1, 5});
  }
  for (DType t : {DType::Q8_0, DType::Q4_K, DType::MXFP4, DType::Q6_K, DType::F16}) {
    const uint64_t b = dtype_info(t).block_elems;
    cases.push_back({t, 21, b == 1 ? 129 : 4 * b, 512});
  }
  for (DType t : {DType::Q8_0, DType::MXFP4}) {  // 1408 is not a multiple of 256: 32-element formats only
    cases.push_back({t, 2048, 1408, 1});
    cases.push_back({t, 1408, 2048, 3});
  }
  cases.push_back({DType::Q4_K, 1408, 2048, 1});
  cases.push_back({DType::Q4_K, 2048, 1536, 2});
  return cases;
}

/// Operands of one case.
struct MatmulData {
  std::vector<uint8_t> w;  // rows × row_bytes(type, cols)
  std::vector<float> x;    // m × cols
};

/// Random operands: N(0,1) weights with per-row magnitudes spanning 100×, quantized with quant::quantize_row
/// (formats without a quantizer get random codes and finite scales);
/// N(0,1) activations with a few large outliers and, when there are several blocks, an all-zero block.
inline MatmulData make_matmul_data(const MatmulCase& c, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
  MatmulData d;
  const uint64_t rb = row_bytes(c.type, c.cols);
  d.w.resize(c.rows * rb);
  std::vector<float> row(c.cols);
  for (uint64_t r = 0; r < c.rows; ++r) {
    const float mag = std::pow(10.0f, uni(rng));
    if (!quant::can_quantize(c.type)) {  // no quantizer (IQ4_XS): random codes, a finite f16 scale per block
      const DTypeInfo info = dtype_info(c.type);
      uint8_t* dst = d.w.data() + r * rb;
      for (uint64_t i = 0; i < rb; ++i) dst[i] = static_cast<uint8_t>(rng());
      for (uint64_t b = 0; b < c.cols / info.block_elems; ++b) {
        const uint16_t h = fp32_to_fp16(mag * 0.002f * (1.0f + uni(rng)));  // d is the first field
        std::memcpy(dst + b * info.block_bytes, &h, 2);
      }
      continue;
    }
    for (auto& v : row) v = mag * normal(rng);
    quant::quantize_row(c.type, row.data(), d.w.data() + r * rb, c.cols);
  }
  d.x.resize(c.m * c.cols);
  for (auto& v : d.x) v = normal(rng);
  for (uint64_t i = 0; i < c.m; ++i) {
    d.x[i * c.cols + rng() % c.cols] *= 20.0f;  // outliers as in real activations
    if (c.cols >= 512 && i % 3 == 1)
      for (uint64_t k = 256; k < 512; ++k) d.x[i * c.cols + k] = 0.0f;
  }
  return d;
}

/// Reference results of a case, each [m][rows].
struct MatmulReference {
  std::vector<double> exact;      // Σ W x: dequantized weights (quant::dequantize_row), exact activations
  std::vector<double> quantized;  // Σ W x̂: activations rounded to 8-bit blocks the way the kernels do
  std::vector<double> abs_sum;    // Σ |W| |x̂|: scale of the f32 rounding error of the kernels
  std::vector<double> act_bound;  // Σ |W| amax(x's block)/254: the most activation rounding can move y
  double rms = 0.0;               // rms of `exact` over the whole output
};

/// Computes every reference quantity in double precision. Integer-dot formats pair with 8-bit activation
/// blocks: 32-element formats with (f32 d = amax/127, round half even), 256-element ones with Q8_K
/// (gguf.md §4.7.7); float formats use the activations as they are.
MatmulReference reference_matmul(DType type, const uint8_t* w, uint64_t rows, uint64_t cols, const float* x,
                                 uint64_t m);

/// x rounded to 8-bit blocks of `block` elements (32 or 256) as the kernels do, back in f32.
std::vector<float> quantize_activations(const float* x, uint64_t n, uint32_t block);

}  // namespace mixcl::reference
