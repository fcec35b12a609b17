// dequantize_row() against an independent per-element decoder written here straight from the gguf.md §4
// formulas (byte offsets from the spec tables, the spec's index decompositions), evaluated in double.
// Every product the spec writes is exact in f32, so the double result rounded once to f32 must equal the
// f32 decoder bit for bit.
#include <gtest/gtest.h>

#include <cfloat>
#include <cstring>
#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include "common/dtype.h"
#include "model/quant/quant.h"
#include "tests/model/quant/quant_test_util.h"

namespace mixcl::quant {
namespace {

using test::f16_to_double;

uint16_t u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
int low(uint8_t b) { return b & 0xF; }
int high(uint8_t b) { return b >> 4; }
// Nibble for element e of a 32-element block: low nibbles are elements 0..15, high nibbles 16..31.
int nib(const uint8_t* qs, int e) { return e < 16 ? low(qs[e]) : high(qs[e - 16]); }

constexpr int kKV[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};
constexpr int kT[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

// Writes the block's values (double) into y; one function per format, spec §4.x in the comment.
using RefDecoder = std::function<void(const uint8_t*, double*)>;

void ref_q8_0(const uint8_t* b, double* y) {  // §4.2
  for (int e = 0; e < 32; ++e) y[e] = f16_to_double(u16(b)) * static_cast<int8_t>(b[2 + e]);
}
void ref_q4_0(const uint8_t* b, double* y) {  // §4.3
  for (int e = 0; e < 32; ++e) y[e] = f16_to_double(u16(b)) * (nib(b + 2, e) - 8);
}
void ref_q4_1(const uint8_t* b, double* y) {  // §4.4
  for (int e = 0; e < 32; ++e) y[e] = f16_to_double(u16(b)) * nib(b + 4, e) + f16_to_double(u16(b + 2));
}
void ref_q5_0(const uint8_t* b, double* y) {  // §4.5
  const uint32_t qh = b[2] | (b[3] << 8) | (b[4] << 16) | (static_cast<uint32_t>(b[5]) << 24);
  for (int e = 0; e < 32; ++e) {
    const int q = nib(b + 6, e) | static_cast<int>(((qh >> e) & 1) << 4);
    y[e] = f16_to_double(u16(b)) * (q - 16);
  }
}
void ref_q5_1(const uint8_t* b, double* y) {  // §4.6
  const uint32_t qh = b[4] | (b[5] << 8) | (b[6] << 16) | (static_cast<uint32_t>(b[7]) << 24);
  for (int e = 0; e < 32; ++e) {
    const int q = nib(b + 8, e) | static_cast<int>(((qh >> e) & 1) << 4);
    y[e] = f16_to_double(u16(b)) * q + f16_to_double(u16(b + 2));
  }
}
void ref_q2_k(const uint8_t* b, double* y) {  // §4.7.1
  const uint8_t *scales = b, *qs = b + 16;
  const double d = f16_to_double(u16(b + 80)), dmin = f16_to_double(u16(b + 82));
  for (int n = 0; n < 2; ++n)
    for (int j = 0; j < 4; ++j)
      for (int h = 0; h < 2; ++h)
        for (int l = 0; l < 16; ++l) {
          const int e = 128 * n + 32 * j + 16 * h + l;
          const int q = (qs[32 * n + 16 * h + l] >> (2 * j)) & 3;
          const int g = 8 * n + 2 * j + h;
          y[e] = d * (scales[g] & 0xF) * q - dmin * (scales[g] >> 4);
        }
}
void ref_q3_k(const uint8_t* b, double* y) {  // §4.7.2
  const uint8_t *hmask = b, *qs = b + 32, *s = b + 96;
  const double d = f16_to_double(u16(b + 108));
  auto sc = [&](int g) {
    const int lo4 = g < 8 ? (s[g] & 0xF) : (s[g - 8] >> 4);
    const int hi2 = (s[8 + (g % 4)] >> (2 * (g / 4))) & 3;
    return (lo4 | (hi2 << 4)) - 32;
  };
  for (int n = 0; n < 2; ++n)
    for (int j = 0; j < 4; ++j)
      for (int h = 0; h < 2; ++h)
        for (int l = 0; l < 16; ++l) {
          const int e = 128 * n + 32 * j + 16 * h + l;
          const int q2 = (qs[32 * n + 16 * h + l] >> (2 * j)) & 3;
          const int hbit = (hmask[16 * h + l] >> (4 * n + j)) & 1;
          y[e] = d * sc(e / 16) * (q2 - (hbit ? 0 : 4));
        }
}
// §4.7.3 scale/min unpacking.
void k_scale_min(const uint8_t* s, int b, int& sc, int& m) {
  if (b < 4) {
    sc = s[b] & 63;
    m = s[b + 4] & 63;
  } else {
    sc = (s[b + 4] & 0xF) | ((s[b - 4] >> 6) << 4);
    m = (s[b + 4] >> 4) | ((s[b] >> 6) << 4);
  }
}
void ref_q4_k(const uint8_t* b, double* y) {  // §4.7.4
  const double d = f16_to_double(u16(b)), dmin = f16_to_double(u16(b + 2));
  const uint8_t* qs = b + 16;
  for (int c = 0; c < 4; ++c)
    for (int h = 0; h < 2; ++h)
      for (int l = 0; l < 32; ++l) {
        const int e = 64 * c + 32 * h + l;
        const int q = h == 0 ? low(qs[32 * c + l]) : high(qs[32 * c + l]);
        int sc, m;
        k_scale_min(b + 4, 2 * c + h, sc, m);
        y[e] = d * sc * q - dmin * m;
      }
}
void ref_q5_k(const uint8_t* b, double* y) {  // §4.7.5
  const double d = f16_to_double(u16(b)), dmin = f16_to_double(u16(b + 2));
  const uint8_t *qh = b + 16, *qs = b + 48;
  for (int c = 0; c < 4; ++c)
    for (int h = 0; h < 2; ++h)
      for (int l = 0; l < 32; ++l) {
        const int e = 64 * c + 32 * h + l;
        const int low4 = h == 0 ? low(qs[32 * c + l]) : high(qs[32 * c + l]);
        const int q = low4 + 16 * ((qh[l] >> (2 * c + h)) & 1);
        int sc, m;
        k_scale_min(b + 4, e / 32, sc, m);
        y[e] = d * sc * q - dmin * m;
      }
}
void ref_q6_k(const uint8_t* b, double* y) {  // §4.7.6
  const uint8_t *ql = b, *qh = b + 128;
  const auto* scales = reinterpret_cast<const int8_t*>(b + 192);
  const double d = f16_to_double(u16(b + 208));
  for (int n = 0; n < 2; ++n)
    for (int k = 0; k < 4; ++k)
      for (int l = 0; l < 32; ++l) {
        const int e = 128 * n + 32 * k + l;
        const uint8_t byte = ql[64 * n + 32 * (k & 1) + l];
        const int low4 = k < 2 ? (byte & 0xF) : (byte >> 4);
        const int hi2 = (qh[32 * n + l] >> (2 * k)) & 3;
        y[e] = d * scales[e / 16] * ((low4 | (hi2 << 4)) - 32);
      }
}
void ref_mxfp4(const uint8_t* b, double* y) {  // §4.8
  for (int e = 0; e < 32; ++e) y[e] = kKV[nib(b + 1, e)] * std::ldexp(1.0, b[0] - 128);
}
void ref_iq4_nl(const uint8_t* b, double* y) {  // §4.9
  for (int e = 0; e < 32; ++e) y[e] = f16_to_double(u16(b)) * kT[nib(b + 2, e)];
}
void ref_iq4_xs(const uint8_t* b, double* y) {  // §4.10
  const double d = f16_to_double(u16(b));
  const uint16_t scales_h = u16(b + 2);
  const uint8_t *scales_l = b + 4, *qs = b + 8;
  for (int sb = 0; sb < 8; ++sb)
    for (int h = 0; h < 2; ++h)
      for (int l = 0; l < 16; ++l) {
        const int ls = ((scales_l[sb / 2] >> (4 * (sb % 2))) & 0xF) | (((scales_h >> (2 * sb)) & 3) << 4);
        const uint8_t byte = qs[16 * sb + l];
        y[32 * sb + 16 * h + l] = d * (ls - 32) * kT[h == 0 ? (byte & 0xF) : (byte >> 4)];
      }
}
void ref_q8_k(const uint8_t* b, double* y) {  // §4.7.7
  float d;
  std::memcpy(&d, b, 4);
  for (int e = 0; e < 256; ++e) y[e] = static_cast<double>(d) * static_cast<int8_t>(b[4 + e]);
}

// Rounds a double that is an exact f32 product/sum result to f32 (saturating to inf like f32 arithmetic).
float to_f32(double v) {
  if (std::isnan(v)) return NAN;
  if (std::fabs(v) > static_cast<double>(FLT_MAX)) return std::copysign(INFINITY, static_cast<float>(v > 0 ? 1 : -1));
  return static_cast<float>(v);
}

struct Case {
  DType type;
  RefDecoder ref;
  std::vector<int> f16_offsets;  // byte offsets of f16 fields (kept finite in the "finite" variant)
};

const std::vector<Case>& cases() {
  static const std::vector<Case> kCases = {
      {DType::Q8_0, ref_q8_0, {0}},       {DType::Q4_0, ref_q4_0, {0}},          {DType::Q4_1, ref_q4_1, {0, 2}},
      {DType::Q5_0, ref_q5_0, {0}},       {DType::Q5_1, ref_q5_1, {0, 2}},       {DType::Q2_K, ref_q2_k, {80, 82}},
      {DType::Q3_K, ref_q3_k, {108}},     {DType::Q4_K, ref_q4_k, {0, 2}},       {DType::Q5_K, ref_q5_k, {0, 2}},
      {DType::Q6_K, ref_q6_k, {208}},     {DType::MXFP4, ref_mxfp4, {}},         {DType::IQ4_NL, ref_iq4_nl, {0}},
      {DType::IQ4_XS, ref_iq4_xs, {0}},   {DType::Q8_K, ref_q8_k, {}},
  };
  return kCases;
}

// Random blocks (an odd number of them); with `finite`, f16 fields are drawn from the finite values only.
void check_random(const Case& c, bool finite, uint32_t seed) {
  const DTypeInfo info = dtype_info(c.type);
  constexpr int kBlocks = 37;
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<uint8_t> data(info.block_bytes * kBlocks);
  for (auto& v : data) v = static_cast<uint8_t>(byte(rng));
  for (int blk = 0; blk < kBlocks; ++blk) {
    uint8_t* b = data.data() + blk * info.block_bytes;
    if (c.type == DType::Q8_K) {  // f32 scale: keep it a normal finite number
      const float d = std::ldexp(std::uniform_real_distribution<float>(-1, 1)(rng), byte(rng) % 40 - 20);
      std::memcpy(b, &d, 4);
    }
    if (finite)
      for (int off : c.f16_offsets)
        if ((b[off + 1] & 0x7C) == 0x7C) b[off + 1] = static_cast<uint8_t>(b[off + 1] & 0xBF);  // exponent 31 -> 15
  }
  std::vector<float> got(info.block_elems * kBlocks);
  dequantize_row(c.type, data.data(), got.data(), got.size());
  std::vector<double> ref(info.block_elems);
  int nan_count = 0;
  for (int blk = 0; blk < kBlocks; ++blk) {
    c.ref(data.data() + blk * info.block_bytes, ref.data());
    for (uint32_t e = 0; e < info.block_elems; ++e) {
      const float want = to_f32(ref[e]), have = got[blk * info.block_elems + e];
      nan_count += std::isnan(want);
      ASSERT_TRUE(test::same_float(have, want))
          << dtype_name(c.type) << " block " << blk << " e=" << e << ": got " << have << ", want " << want;
    }
  }
  if (finite) {
    EXPECT_EQ(nan_count, 0) << dtype_name(c.type);
  }
}

TEST(DequantReference, RandomBlocksWithFiniteScalesMatchBitForBit) {
  uint32_t seed = 1;
  for (const auto& c : cases())
    for (int rep = 0; rep < 8; ++rep) check_random(c, true, seed++);
}

TEST(DequantReference, RandomBytesIncludingInfAndNanScalesMatch) {
  uint32_t seed = 1000;
  for (const auto& c : cases())
    for (int rep = 0; rep < 8; ++rep) check_random(c, false, seed++);
}

TEST(DequantReference, Mxfp4EveryExponentMatches) {
  std::vector<uint8_t> data(17 * 256);
  for (int E = 0; E < 256; ++E) {
    data[17 * E] = static_cast<uint8_t>(E);
    for (int k = 0; k < 16; ++k) data[17 * E + 1 + k] = static_cast<uint8_t>(k * 17 + E);  // all codes, varied
  }
  std::vector<float> got(32 * 256);
  dequantize_row(DType::MXFP4, data.data(), got.data(), got.size());
  double ref[32];
  for (int E = 0; E < 256; ++E) {
    ref_mxfp4(data.data() + 17 * E, ref);
    for (int e = 0; e < 32; ++e) ASSERT_TRUE(test::same_float(got[32 * E + e], to_f32(ref[e]))) << E << " " << e;
  }
}

TEST(DequantReference, PlainTypesMatch) {
  std::mt19937 rng(7);
  std::vector<uint8_t> data(2 * 4097);
  for (auto& v : data) v = static_cast<uint8_t>(rng());
  std::vector<float> got(4097);
  dequantize_row(DType::F16, data.data(), got.data(), got.size());
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_TRUE(test::same_float(got[i], to_f32(f16_to_double(u16(&data[2 * i]))))) << i;
  dequantize_row(DType::BF16, data.data(), got.data(), got.size());
  for (size_t i = 0; i < got.size(); ++i) {
    const uint32_t bits = static_cast<uint32_t>(u16(&data[2 * i])) << 16;
    float want;
    std::memcpy(&want, &bits, 4);
    ASSERT_TRUE(test::same_float(got[i], want)) << i;
  }
  std::vector<float> f32(1025);
  for (auto& v : f32) v = std::uniform_real_distribution<float>(-5, 5)(rng);
  std::vector<float> back(f32.size());
  dequantize_row(DType::F32, f32.data(), back.data(), back.size());
  EXPECT_EQ(back, f32);
}

}  // namespace
}  // namespace mixcl::quant
