// common/half.h against double-precision references: every f16/bf16 pattern, every f16 rounding tie and
// many random f32 values.
#include "common/half.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

namespace mixcl {
namespace {

float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

uint32_t to_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// Value of an f16 pattern from the IEEE definition, in double.
double f16_value(uint16_t h) {
  const int sign = h >> 15, exp = (h >> 10) & 0x1F, mant = h & 0x3FF;
  double v;
  if (exp == 0x1F)
    v = mant ? std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::infinity();
  else if (exp == 0)
    v = std::ldexp(static_cast<double>(mant), -24);
  else
    v = std::ldexp(static_cast<double>(1024 + mant), exp - 25);
  return sign ? -v : v;
}

// Nearest f16 of a finite f32, ties to even, computed in double over the sorted positive f16 values;
// 0x7C00 stands for 2^16 as IEEE overflow rounding prescribes (values >= 65520 become inf).
uint16_t f16_reference(float f) {
  static const std::vector<double> kMagnitudes = [] {
    std::vector<double> v;
    for (uint32_t h = 0; h < 0x7C00; ++h) v.push_back(f16_value(static_cast<uint16_t>(h)));
    v.push_back(65536.0);
    return v;
  }();
  const double a = std::fabs(static_cast<double>(f));
  const uint16_t sign = std::signbit(f) ? 0x8000 : 0;
  if (a >= 65536.0) return sign | 0x7C00;
  const auto it = std::upper_bound(kMagnitudes.begin(), kMagnitudes.end(), a);  // first value > a
  const auto hi = static_cast<uint16_t>(it - kMagnitudes.begin());
  const auto lo = static_cast<uint16_t>(hi - 1);
  const double dlo = a - kMagnitudes[lo], dhi = kMagnitudes[hi] - a;
  uint16_t pick;
  if (dlo < dhi)
    pick = lo;
  else if (dhi < dlo)
    pick = hi;
  else
    pick = (lo & 1) ? hi : lo;
  return sign | pick;
}

// Nearest bf16 of a finite f32, ties to even, in double (neighbours are the truncation and the next pattern).
uint16_t bf16_reference(float f) {
  const uint32_t u = to_bits(f);
  const uint16_t trunc = static_cast<uint16_t>(u >> 16);
  const uint16_t up = static_cast<uint16_t>(trunc + 1);  // next magnitude (may carry into the exponent / inf)
  const double a = std::fabs(static_cast<double>(f));
  const double vlo = std::fabs(static_cast<double>(from_bits(static_cast<uint32_t>(trunc) << 16)));
  const uint32_t up_bits = static_cast<uint32_t>(up) << 16;
  const double vhi = (up_bits & 0x7FFFFFFFu) == 0x7F800000u ? std::ldexp(1.0, 128)
                                                             : std::fabs(static_cast<double>(from_bits(up_bits)));
  const double dlo = a - vlo, dhi = vhi - a;
  if (dlo < dhi) return trunc;
  if (dhi < dlo) return up;
  return (trunc & 1) ? up : trunc;
}

TEST(Half, EveryF16PatternDecodesToItsIeeeValue) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = fp16_to_fp32(static_cast<uint16_t>(h));
    const double ref = f16_value(static_cast<uint16_t>(h));
    if (std::isnan(ref)) {
      ASSERT_TRUE(std::isnan(f)) << std::hex << h;
      ASSERT_EQ(to_bits(f) >> 31, h >> 15) << std::hex << h;
    } else {
      ASSERT_EQ(static_cast<double>(f), ref) << std::hex << h;
      ASSERT_EQ(std::signbit(f), (h >> 15) != 0) << std::hex << h;  // -0 stays -0
    }
  }
}

TEST(Half, EveryF16PatternRoundTrips) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const uint16_t back = fp32_to_fp16(fp16_to_fp32(static_cast<uint16_t>(h)));
    if ((h & 0x7C00) == 0x7C00 && (h & 0x3FF)) {  // NaN: stays NaN, quiet, sign and low payload kept
      EXPECT_EQ(back & 0x7E00, 0x7E00) << std::hex << h;
      EXPECT_EQ(back & 0x81FF, h & 0x81FF) << std::hex << h;
    } else {
      ASSERT_EQ(back, h) << std::hex << h;
    }
  }
}

TEST(Half, F32ToF16TiesAndNeighboursMatchReference) {
  // Every midpoint between consecutive f16 magnitudes (exact in f32) and the f32 values just around it.
  int checked = 0;
  for (uint32_t h = 0; h < 0x7C00; ++h) {
    const double lo = f16_value(static_cast<uint16_t>(h));
    const double hi = h + 1 == 0x7C00 ? 65536.0 : f16_value(static_cast<uint16_t>(h + 1));
    const float mid = static_cast<float>((lo + hi) / 2);
    ASSERT_EQ(static_cast<double>(mid), (lo + hi) / 2);
    for (float f : {mid, std::nextafter(mid, 0.0f), std::nextafter(mid, 1e9f), static_cast<float>(lo)}) {
      ASSERT_EQ(fp32_to_fp16(f), f16_reference(f)) << f;
      ASSERT_EQ(fp32_to_fp16(-f), f16_reference(-f)) << -f;
      checked += 2;
    }
  }
  EXPECT_GT(checked, 250000);
  // Named edges: the overflow threshold, the smallest subnormal and half of it.
  EXPECT_EQ(fp32_to_fp16(65504.0f), 0x7BFF);
  EXPECT_EQ(fp32_to_fp16(65519.996f), 0x7BFF);
  EXPECT_EQ(fp32_to_fp16(65520.0f), 0x7C00);
  EXPECT_EQ(fp32_to_fp16(0x1p-24f), 0x0001);
  EXPECT_EQ(fp32_to_fp16(0x1p-25f), 0x0000);           // tie to even (0)
  EXPECT_EQ(fp32_to_fp16(0x1.000002p-25f), 0x0001);    // just above the tie
  EXPECT_EQ(fp32_to_fp16(0x3p-25f), 0x0002);           // 1.5 ulp ties to even (2)
  EXPECT_EQ(fp32_to_fp16(0x1.ffcp-15f), 0x0400);       // largest subnormal + half ulp rounds to the smallest normal
  EXPECT_EQ(fp32_to_fp16(std::numeric_limits<float>::infinity()), 0x7C00);
  EXPECT_EQ(fp32_to_fp16(-std::numeric_limits<float>::infinity()), 0xFC00);
  EXPECT_EQ(fp32_to_fp16(-0.0f), 0x8000);
  EXPECT_EQ(fp32_to_fp16(std::numeric_limits<float>::denorm_min()), 0x0000);
  const uint16_t nan = fp32_to_fp16(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(nan & 0x7C00, 0x7C00);
  EXPECT_NE(nan & 0x3FF, 0);
  const uint16_t snan = fp32_to_fp16(from_bits(0x7F800001u));  // payload only in the dropped bits
  EXPECT_EQ(snan & 0x7C00, 0x7C00);
  EXPECT_NE(snan & 0x3FF, 0);
}

TEST(Half, F32ToF16RandomValuesMatchReference) {
  std::mt19937 rng(1234);
  std::uniform_int_distribution<uint32_t> bits;
  std::uniform_real_distribution<float> in_range(-70000.0f, 70000.0f);
  std::uniform_int_distribution<int> exponent(-30, 17);
  for (int i = 0; i < 300000; ++i) {
    float f;
    switch (i % 3) {
      case 0: f = from_bits(bits(rng)); break;                                         // any pattern
      case 1: f = in_range(rng); break;                                                // normal range
      default: f = std::ldexp(in_range(rng) / 70000.0f, exponent(rng)); break;  // subnormal..overflow
    }
    if (std::isnan(f)) continue;
    ASSERT_EQ(fp32_to_fp16(f), f16_reference(f)) << std::hexfloat << f;
  }
}

TEST(Half, EveryBf16PatternRoundTrips) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = bf16_to_fp32(static_cast<uint16_t>(h));
    ASSERT_EQ(to_bits(f), h << 16);
    const uint16_t back = fp32_to_bf16(f);
    if ((h & 0x7F80) == 0x7F80 && (h & 0x7F)) {
      EXPECT_TRUE((back & 0x7F80) == 0x7F80 && (back & 0x40)) << std::hex << h;  // NaN, quiet
      EXPECT_EQ(back & 0x8000, h & 0x8000);
    } else {
      ASSERT_EQ(back, h) << std::hex << h;
    }
  }
}

TEST(Half, F32ToBf16MatchesReference) {
  std::mt19937 rng(99);
  std::uniform_int_distribution<uint32_t> bits;
  for (int i = 0; i < 300000; ++i) {
    uint32_t u = bits(rng);
    if (i % 4 == 1) u = (u & 0xFFFF0000u) | 0x8000u;  // exact tie
    if (i % 4 == 2) u = (u & 0xFFFF0000u) | 0x7FFFu;  // just below a tie
    if (i % 4 == 3) u = (u & 0xFFFF0000u) | 0x8001u;  // just above a tie
    const float f = from_bits(u);
    if (std::isnan(f)) {
      const uint16_t b = fp32_to_bf16(f);
      ASSERT_TRUE((b & 0x7F80) == 0x7F80 && (b & 0x7F)) << std::hex << u;  // never turns into inf
      continue;
    }
    ASSERT_EQ(fp32_to_bf16(f), bf16_reference(f)) << std::hex << u;
  }
  EXPECT_EQ(fp32_to_bf16(from_bits(0x7F7FFFFFu)), 0x7F80);  // FLT_MAX rounds up to inf
  EXPECT_EQ(fp32_to_bf16(from_bits(0x7F7F7FFFu)), 0x7F7F);
  EXPECT_EQ(fp32_to_bf16(from_bits(0x3F808000u)), 0x3F80);  // tie, even stays
  EXPECT_EQ(fp32_to_bf16(from_bits(0x3F818000u)), 0x3F82);  // tie, odd rounds up
}

}  // namespace
}  // namespace mixcl
