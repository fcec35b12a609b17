// quantize_row(): error bounds per format on Gaussian data (tight: each bound is within 1.3x of the error
// measured when it was set, see docs/quant.md), edge-case blocks, and the error messages.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/half.h"
#include "model/quant/quant.h"
#include "tests/model/quant/quant_test_util.h"
#include "tests/support/errors.h"

namespace mixcl::quant {
namespace {

using ::mixcl::test::error_of;

using test::decode;
using test::encode;
using test::gaussian;
using test::relative_rmse;

constexpr size_t kRows = 7;      // odd number of rows ...
constexpr size_t kCols = 2304;   // ... of 9 super-blocks / 72 small blocks each

struct Bound {
  DType type;
  double gaussian;   // relative RMSE bound on N(0,1) rows
  double negative;   // relative RMSE bound on -(|N(0,1)| + 0.1) rows
  double constant;   // max relative error on a constant row
  double outlier;    // relative error of a single 1000x outlier
};

// RMSE bounds are the values measured when they were set (seeds below) times ~1.15, so a bound is always
// within 1.3x of the measurement. Constant/outlier bounds come from the formats: f16 rounding of the block
// scale (2^-11 relative) plus sub-scale rounding, and for MXFP4 its grid (largest element in [8,16) steps
// of the E8M0 scale is clamped to 12: up to 25% off).
constexpr double kF16Exact = 6e-4;
const Bound kBounds[] = {
    {DType::F32, 0.0, 0.0, 0.0, 0.0},
    {DType::F16, 2.4e-4, 2.4e-4, 4.9e-4, 4.9e-4},
    {DType::BF16, 1.9e-3, 1.9e-3, 3.9e-3, 3.9e-3},
    {DType::Q8_0, 0.0062, 0.0060, kF16Exact, kF16Exact},
    {DType::Q8_1, 0.0062, 0.0060, kF16Exact, kF16Exact},
    {DType::Q8_K, 0.0078, 0.0077, 1e-6, 1e-6},
    {DType::Q4_0, 0.099, 0.097, kF16Exact, kF16Exact},
    {DType::Q4_1, 0.089, 0.047, kF16Exact, kF16Exact},
    {DType::Q5_0, 0.049, 0.047, kF16Exact, kF16Exact},
    {DType::Q5_1, 0.044, 0.0228, kF16Exact, kF16Exact},
    {DType::Q2_K, 0.34, 0.199, kF16Exact, kF16Exact},
    {DType::Q3_K, 0.174, 0.168, kF16Exact, kF16Exact},
    {DType::Q4_K, 0.082, 0.0437, kF16Exact, kF16Exact},
    {DType::Q5_K, 0.042, 0.0226, kF16Exact, kF16Exact},
    {DType::Q6_K, 0.0203, 0.0199, kF16Exact, kF16Exact},
    {DType::MXFP4, 0.131, 0.131, 0.25, 0.25},
    {DType::IQ4_NL, 0.088, 0.0843, kF16Exact, kF16Exact},
    {DType::IQ4_XS, 0.088, 0.085, kF16Exact, kF16Exact},
};

// Quantizes and decodes `x` row by row.
std::vector<float> round_trip(DType type, const std::vector<float>& x, size_t cols) {
  std::vector<float> y(x.size());
  std::vector<uint8_t> q(row_bytes(type, cols));
  for (size_t r = 0; r < x.size() / cols; ++r) {
    quantize_row(type, x.data() + r * cols, q.data(), cols);
    dequantize_row(type, q.data(), y.data() + r * cols, cols);
  }
  return y;
}

// Checks `measured` against `bound`, and that the bound is tight (within 1.3x of the measurement).
void expect_tight(const char* what, DType type, double measured, double bound) {
  std::printf("  %-6s %-9s measured %.6g  bound %.6g\n", std::string(dtype_name(type)).c_str(), what, measured, bound);
  EXPECT_LE(measured, bound) << dtype_name(type) << " " << what;
  if (bound > 0) {
    EXPECT_GE(measured * 1.3, bound) << dtype_name(type) << " " << what << ": bound is not tight";
  }
}

TEST(Quantize, GaussianRelativeRmseWithinTightBound) {
  const auto x = gaussian(kRows * kCols, 42);
  for (const auto& b : kBounds) expect_tight("gaussian", b.type, relative_rmse(round_trip(b.type, x, kCols), x), b.gaussian);
}

TEST(Quantize, GaussianBoundHoldsAtOtherScales) {
  // Real weights have sigma ~0.02; the error must not depend on the scale (no f16 scale underflow here).
  for (float sigma : {0.02f, 300.0f}) {
    const auto x = gaussian(kRows * kCols, 42, 0.0f, sigma);
    for (const auto& b : kBounds)
      EXPECT_LE(relative_rmse(round_trip(b.type, x, kCols), x), b.gaussian) << dtype_name(b.type) << " " << sigma;
  }
}

TEST(Quantize, NegativeOnlyRowsWithinTightBound) {
  auto x = gaussian(kRows * kCols, 43);
  for (auto& v : x) v = -(std::fabs(v) + 0.1f);
  for (const auto& b : kBounds) expect_tight("negative", b.type, relative_rmse(round_trip(b.type, x, kCols), x), b.negative);
}

TEST(Quantize, ConstantRowsAreReproduced) {
  for (float c : {0.7f, -0.7f, 3.0f}) {
    const std::vector<float> x(kCols, c);
    for (const auto& b : kBounds) {
      const auto y = round_trip(b.type, x, kCols);
      double worst = 0;
      for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::fabs(static_cast<double>(y[i]) - c) / std::fabs(c));
      std::printf("  %-6s constant %g: max rel err %.6g\n", std::string(dtype_name(b.type)).c_str(), c, worst);
      EXPECT_LE(worst, b.constant) << dtype_name(b.type) << " c=" << c;
    }
  }
}

TEST(Quantize, AllZeroRowsDecodeToZero) {
  const std::vector<float> x(kCols, 0.0f);
  for (const auto& b : kBounds) {
    const auto y = round_trip(b.type, x, kCols);
    for (size_t i = 0; i < y.size(); ++i) ASSERT_EQ(y[i], 0.0f) << dtype_name(b.type) << " i=" << i;
  }
}

TEST(Quantize, HugeOutlierIsKeptAndOtherBlocksAreUnaffected) {
  const auto base = gaussian(kCols, 44);
  auto x = base;
  constexpr size_t kAt = 300;  // in super-block 1 and 32-element block 9
  x[kAt] = 1000.0f;
  for (const auto& b : kBounds) {
    const auto qx = encode(b.type, x), qbase = encode(b.type, base);
    const auto y = decode(b.type, qx, kCols);
    for (float v : y) ASSERT_TRUE(std::isfinite(v)) << dtype_name(b.type);
    const double rel = std::fabs(y[kAt] - 1000.0) / 1000.0;
    std::printf("  %-6s outlier rel err %.6g\n", std::string(dtype_name(b.type)).c_str(), rel);
    EXPECT_LE(rel, b.outlier) << dtype_name(b.type);
    // Blocks (super-blocks for K-quants) that do not hold the outlier encode exactly as without it.
    const auto info = dtype_info(b.type);
    const size_t blk = kAt / info.block_elems;
    for (size_t i = 0; i < qx.size(); ++i) {
      if (i / info.block_bytes == blk) continue;
      ASSERT_EQ(qx[i], qbase[i]) << dtype_name(b.type) << " byte " << i;
    }
  }
}

TEST(Quantize, PlainFloatTypesRoundCorrectly) {
  auto x = gaussian(1001, 45, 0.0f, 300.0f);
  x[3] = std::numeric_limits<float>::infinity();
  x[4] = 1e6f;  // above f16 range
  EXPECT_EQ(decode(DType::F32, encode(DType::F32, x), x.size()), x);
  const auto f16 = decode(DType::F16, encode(DType::F16, x), x.size());
  const auto bf16 = decode(DType::BF16, encode(DType::BF16, x), x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(f16[i], fp16_to_fp32(fp32_to_fp16(x[i]))) << i;
    EXPECT_EQ(bf16[i], bf16_to_fp32(fp32_to_bf16(x[i]))) << i;
  }
  EXPECT_EQ(f16[4], std::numeric_limits<float>::infinity());
}

TEST(Quantize, Q8_KBlockSumsMatchCodes) {
  const auto x = gaussian(256 * 3, 46);
  const auto q = encode(DType::Q8_K, x);
  for (int blk = 0; blk < 3; ++blk) {
    const uint8_t* p = q.data() + 292 * blk;
    for (int g = 0; g < 16; ++g) {
      int sum = 0;
      for (int e = 0; e < 16; ++e) sum += static_cast<int8_t>(p[4 + 16 * g + e]);
      int16_t stored;
      std::memcpy(&stored, p + 260 + 2 * g, 2);
      EXPECT_EQ(stored, sum) << blk << " " << g;
    }
  }
}

TEST(Quantize, Q8_1StoresScaledCodeSum) {
  const auto x = gaussian(32 * 5, 47);
  const auto q = encode(DType::Q8_1, x);
  for (int blk = 0; blk < 5; ++blk) {
    const uint8_t* p = q.data() + 36 * blk;
    float amax = 0;
    for (int e = 0; e < 32; ++e) amax = std::max(amax, std::fabs(x[32 * blk + e]));
    uint16_t d, s;
    std::memcpy(&d, p, 2);
    std::memcpy(&s, p + 2, 2);
    EXPECT_EQ(d, fp32_to_fp16(amax / 127));
    int sum = 0;
    for (int e = 0; e < 32; ++e) sum += static_cast<int8_t>(p[4 + e]);
    EXPECT_EQ(s, fp32_to_fp16(amax / 127 * static_cast<float>(sum))) << blk;  // unrounded d, as ggml does
  }
}

TEST(Quantize, ParallelRowsMatchRowByRow) {
  constexpr uint64_t kRowsN = 9, kN = 512;
  const auto x = gaussian(kRowsN * kN, 48);
  for (DType t : {DType::Q4_K, DType::Q8_0, DType::IQ4_XS, DType::BF16}) {
    const uint64_t stride = row_bytes(t, kN);
    std::vector<uint8_t> serial(stride * kRowsN), parallel(stride * kRowsN);
    for (uint64_t r = 0; r < kRowsN; ++r) quantize_row(t, x.data() + r * kN, serial.data() + r * stride, kN);
    quantize_rows(t, x.data(), parallel.data(), kRowsN, kN);
    EXPECT_EQ(parallel, serial) << dtype_name(t);
  }
}

TEST(Quantize, ClearErrors) {
  std::vector<float> x(256, 1.0f);
  std::vector<uint8_t> buf(4096);
  const std::string unsupported = error_of([&] { quantize_row(DType::IQ2_XXS, x.data(), buf.data(), 256); });
  EXPECT_NE(unsupported.find("IQ2_XXS"), std::string::npos) << unsupported;
  EXPECT_NE(unsupported.find("Q4_K"), std::string::npos) << unsupported;  // lists what is supported
  const std::string unsupported_dq = error_of([&] { dequantize_row(DType::TQ1_0, buf.data(), x.data(), 256); });
  EXPECT_NE(unsupported_dq.find("TQ1_0"), std::string::npos) << unsupported_dq;
  const std::string unknown = error_of([&] { dequantize_row(static_cast<DType>(4), buf.data(), x.data(), 32); });
  EXPECT_NE(unknown.find("4"), std::string::npos) << unknown;
  const std::string ragged = error_of([&] { quantize_row(DType::Q4_K, x.data(), buf.data(), 128); });
  EXPECT_NE(ragged.find("128"), std::string::npos) << ragged;
  EXPECT_NE(ragged.find("256"), std::string::npos) << ragged;
  EXPECT_NE(ragged.find("Q4_K"), std::string::npos) << ragged;
  const std::string ragged_dq = error_of([&] { dequantize_row(DType::Q8_0, buf.data(), x.data(), 33); });
  EXPECT_NE(ragged_dq.find("Q8_0"), std::string::npos) << ragged_dq;
  x[70] = std::numeric_limits<float>::quiet_NaN();
  const std::string nan = error_of([&] { quantize_row(DType::Q8_0, x.data(), buf.data(), 256); });
  EXPECT_NE(nan.find("element 70"), std::string::npos) << nan;
  x[70] = 1e30f;
  const std::string huge = error_of([&] { quantize_row(DType::Q8_0, x.data(), buf.data(), 256); });
  EXPECT_NE(huge.find("block 2"), std::string::npos) << huge;
  EXPECT_NE(huge.find("f16"), std::string::npos) << huge;
  std::vector<float> rows(256 * 5, 1.0f);
  rows[3 * 256 + 7] = std::numeric_limits<float>::infinity();
  rows[4 * 256 + 9] = std::numeric_limits<float>::infinity();
  const std::string bad_row = error_of([&] { quantize_rows(DType::Q4_K, rows.data(), buf.data(), 5, 256); });
  EXPECT_EQ(bad_row.rfind("row 3: ", 0), 0u) << bad_row;  // the lowest failing row
  EXPECT_NE(bad_row.find("element 7"), std::string::npos) << bad_row;
  EXPECT_NE(error_of([&] { quantize_rows(DType::Q4_K, rows.data(), buf.data(), 5, 100); }).find("100"),
            std::string::npos);
  EXPECT_TRUE(can_quantize(DType::Q4_K));
  EXPECT_FALSE(can_quantize(DType::IQ2_XXS));
  EXPECT_TRUE(can_dequantize(DType::IQ4_XS));
  EXPECT_FALSE(can_dequantize(DType::I32));
}

}  // namespace
}  // namespace mixcl::quant
