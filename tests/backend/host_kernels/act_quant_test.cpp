// The AVX2 activation quantizer must give bit-identical blocks to the portable one (the SIMD and generic
// matmul paths check each other through it), on random rows, ties, zero blocks and odd values.
#include "backend/host/kernels/act_quant.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "backend/host/kernels/matmul.h"

namespace mixcl::backend::kernels {
namespace {

// Quantizes `x` both ways and compares the bytes; returns the portable result for further checks.
std::vector<uint8_t> check_same(ActKind kind, const std::vector<float>& x, const char* what) {
  const uint64_t bytes = act_row_bytes(kind, x.size());
  std::vector<uint8_t> a(bytes, 0xAA), b(bytes, 0x55);
  quantize_act_row(kind, x.data(), x.size(), a.data());
  quantize_act_row_avx2(kind, x.data(), x.size(), b.data());
  for (uint64_t i = 0; i < bytes; ++i) {
    if (a[i] != b[i]) {
      ADD_FAILURE() << what << ": kind " << static_cast<int>(kind) << " differs first at byte " << i << " of "
                    << bytes;
      break;
    }
  }
  return a;
}

class ActQuantTest : public ::testing::TestWithParam<ActKind> {
 protected:
  void SetUp() override {
    if (detect_kernel_isa() != KernelIsa::kAvx2) GTEST_SKIP() << "this CPU has no AVX2";
  }
};

TEST_P(ActQuantTest, RandomRowsMatchPortable) {
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (uint64_t n : {256u, 512u, 4096u, 7168u}) {
    std::vector<float> x(n);
    for (float& v : x) v = nd(rng) * 3.0f;
    x[n / 3] = 60.0f;  // an outlier, as real activations have
    check_same(GetParam(), x, "random");
  }
}

TEST_P(ActQuantTest, TiesZerosAndOddValuesMatchPortable) {
  std::vector<float> x(1024, 0.0f);
  // Block 0: exact half-way codes (amax 127 gives d = 1, so k + 0.5 must round to even).
  for (int i = 0; i < 32; ++i) x[i] = static_cast<float>(i - 16) + 0.5f;
  x[31] = 127.0f;
  // Block 1 (elements 32..63) stays zero. Elements 256..511: equal magnitudes of both signs, so the sign
  // of the first largest decides the Q8_K scale sign.
  for (int i = 256; i < 512; ++i) x[i] = (i % 3 == 0) ? -5.0f : 5.0f;
  // Elements 512..767: subnormals and tiny values next to normal ones.
  for (int i = 512; i < 768; ++i) x[i] = std::ldexp(static_cast<float>(i % 7) - 3.0f, -140 + (i % 20));
  // Elements 768..1023: a NaN and an infinity in otherwise normal blocks.
  for (int i = 768; i < 1024; ++i) x[i] = static_cast<float>(i % 11) - 5.0f;
  x[800] = std::numeric_limits<float>::quiet_NaN();
  x[900] = std::numeric_limits<float>::infinity();
  const auto q = check_same(GetParam(), x, "edge values");
  if (GetParam() == ActKind::kQ8x32) {
    // Hand check of block 0: d = 1, codes round half to even: -15.5 -> -16, -14.5 -> -14, 0.5 -> 0.
    const auto* b = reinterpret_cast<const ActQ8x32*>(q.data());
    EXPECT_EQ(b[0].d, 1.0f);
    EXPECT_EQ(b[0].qs[0], -16);
    EXPECT_EQ(b[0].qs[1], -14);
    EXPECT_EQ(b[0].qs[16], 0);
    EXPECT_EQ(b[0].qs[17], 2);
    EXPECT_EQ(b[1].d, 0.0f);
  }
}

INSTANTIATE_TEST_SUITE_P(Kinds, ActQuantTest,
                         ::testing::Values(ActKind::kQ8x32, ActKind::kQ8K, ActKind::kF32));

}  // namespace
}  // namespace mixcl::backend::kernels
