// Hand-built blocks for every format: bytes written out here, expected values worked out by hand from
// gguf.md §4 and written as literals, plus the self-check values of §4.12.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <limits>
#include <map>
#include <vector>

#include "model/quant/quant.h"
#include "tests/model/quant/quant_test_util.h"

namespace mixcl::quant {
namespace {

using test::decode;
using test::put16;

// Expected output of one block: value per group of `group` elements, with some elements overridden.
std::vector<float> expand(int n, int group, const std::vector<float>& per_group, const std::map<int, float>& over) {
  std::vector<float> out(n);
  for (int e = 0; e < n; ++e) out[e] = per_group[e / group];
  for (auto [e, v] : over) out[e] = v;
  return out;
}

// A block of `size` bytes filled with `fill`, whose first bytes are `head`.
std::vector<uint8_t> block(size_t size, uint8_t fill, std::initializer_list<uint8_t> head) {
  std::vector<uint8_t> b(size, fill);
  std::copy(head.begin(), head.end(), b.begin());
  return b;
}

void expect_decodes(DType type, const std::vector<uint8_t>& bytes, const std::vector<float>& expected) {
  ASSERT_EQ(bytes.size(), row_bytes(type, expected.size()));
  const auto got = decode(type, bytes, expected.size());
  for (size_t e = 0; e < expected.size(); ++e) EXPECT_EQ(got[e], expected[e]) << dtype_name(type) << " e=" << e;
}

TEST(DequantVectors, PlainTypes) {
  expect_decodes(DType::F32, {0x00, 0x00, 0xC0, 0x3F, 0x00, 0x00, 0x10, 0xC0}, {1.5f, -2.25f});
  std::vector<uint8_t> f16;
  for (uint16_t h : {0x3C00, 0xC000, 0x0001, 0x7BFF, 0x3555, 0x8400}) put16(f16, h);
  expect_decodes(DType::F16, f16, {1.0f, -2.0f, 5.9604644775390625e-08f, 65504.0f, 0.333251953125f,
                                   -6.103515625e-05f});
  std::vector<uint8_t> inf;
  put16(inf, 0x7C00);
  EXPECT_EQ(decode(DType::F16, inf, 1)[0], std::numeric_limits<float>::infinity());
  std::vector<uint8_t> bf16;
  for (uint16_t h : {0x3F80, 0xC040, 0x4049, 0x0001}) put16(bf16, h);
  expect_decodes(DType::BF16, bf16, {1.0f, -3.0f, 3.140625f, 9.18354961579912115600575419705e-41f});
}

TEST(DequantVectors, SelfCheckValuesOfTheSpec) {
  std::vector<uint8_t> q8 = {0x00, 0x3C};
  for (int e = 0; e < 32; ++e) q8.push_back(static_cast<uint8_t>(static_cast<int8_t>(e - 16)));
  std::vector<float> want(32);
  for (int e = 0; e < 32; ++e) want[e] = static_cast<float>(e - 16);
  expect_decodes(DType::Q8_0, q8, want);

  std::vector<uint8_t> q4 = block(18, 0x9F, {0x00, 0x38});
  expect_decodes(DType::Q4_0, q4, expand(32, 16, {3.5f, 0.5f}, {}));

  std::vector<uint8_t> mx = block(17, 0x71, {127});
  expect_decodes(DType::MXFP4, mx, expand(32, 16, {0.5f, 6.0f}, {}));
}

TEST(DequantVectors, Q8_0AndActivationFormats) {
  std::vector<uint8_t> q8 = block(34, 0x00, {0x00, 0x41, 0x01, 0xFF, 0x7F, 0x80});  // d = 2.5; qs = 1, -1, 127, -128, 0...
  expect_decodes(DType::Q8_0, q8, expand(32, 32, {0.0f}, {{0, 2.5f}, {1, -2.5f}, {2, 317.5f}, {3, -320.0f}}));

  std::vector<uint8_t> q81 = block(36, 0x00, {0x00, 0xBC, 0x55, 0x55, 0x05, 0xFB});  // d = -1, s ignored by decoding
  expect_decodes(DType::Q8_1, q81, expand(32, 32, {-0.0f}, {{0, -5.0f}, {1, 5.0f}}));

  std::vector<uint8_t> q8k = block(292, 0x00, {0x00, 0x00, 0x80, 0x3E, 0x80});  // d = 0.25f (f32), qs[0] = -128
  q8k[4 + 255] = 0x7F;
  expect_decodes(DType::Q8_K, q8k, expand(256, 256, {0.0f}, {{0, -32.0f}, {255, 31.75f}}));
}

TEST(DequantVectors, Q4_0) {
  // d = -1; codes: e0 = 0, e16 = 8, e1 = 3, e17 = 15, all others 8.
  std::vector<uint8_t> b = block(18, 0x88, {0x00, 0xBC, 0x80, 0xF3});
  expect_decodes(DType::Q4_0, b, expand(32, 32, {-0.0f}, {{0, 8.0f}, {16, -0.0f}, {1, 5.0f}, {17, -7.0f}}));
}

TEST(DequantVectors, Q4_1) {
  // d = 0.5, m = -3: y = 0.5*q - 3.
  std::vector<uint8_t> b = block(20, 0x00, {0x00, 0x38, 0x00, 0xC2, 0xF0});
  b[4 + 5] = 0x7A;
  expect_decodes(DType::Q4_1, b, expand(32, 32, {-3.0f}, {{0, -3.0f}, {16, 4.5f}, {5, 2.0f}, {21, 0.5f}}));
}

TEST(DequantVectors, Q5_0) {
  // d = 1, qh bits 0 and 31 set; qs[0] = 0x3F, qs[15] = 0xA0.
  std::vector<uint8_t> b = block(22, 0x00, {0x00, 0x3C, 0x01, 0x00, 0x00, 0x80, 0x3F});
  b[6 + 15] = 0xA0;
  expect_decodes(DType::Q5_0, b, expand(32, 32, {-16.0f}, {{0, 15.0f}, {16, -13.0f}, {15, -16.0f}, {31, 10.0f}}));
}

TEST(DequantVectors, Q5_1) {
  // d = 2, m = 1, qh bits 1 and 16; qs[0] = 0x01, qs[1] = 0x5C.
  std::vector<uint8_t> b = block(24, 0x00, {0x00, 0x40, 0x00, 0x3C, 0x02, 0x00, 0x01, 0x00, 0x01, 0x5C});
  expect_decodes(DType::Q5_1, b, expand(32, 32, {1.0f}, {{0, 3.0f}, {16, 33.0f}, {1, 57.0f}, {17, 11.0f}}));
}

TEST(DequantVectors, Q2_K) {
  // scale/min nibbles: group 0 = (0,0), group 5 = (15,3), group 15 = (2,15), others (1,2); d = 1, dmin = 0.5.
  std::vector<uint8_t> b(84, 0x00);
  for (int g = 0; g < 16; ++g) b[g] = 0x21;
  b[0] = 0x00;
  b[5] = 0x3F;
  b[15] = 0xF2;
  b[16 + 0] = 0xE4;        // elements 0, 32, 64, 96 get codes 0, 1, 2, 3
  b[16 + 18] = 0x30;       // element 82 (n0 j2 h1 l2) gets code 3
  b[16 + 63] = 0x80;       // element 255 (n1 j3 h1 l15) gets code 2
  b[80] = 0x00, b[81] = 0x3C, b[82] = 0x00, b[83] = 0x38;
  std::vector<float> groups(16, -1.0f);  // code 0: -0.5*2
  groups[0] = 0.0f;
  groups[5] = -1.5f;
  groups[15] = -7.5f;
  expect_decodes(DType::Q2_K, b,
                 expand(256, 16, groups, {{32, 0.0f}, {64, 1.0f}, {96, 2.0f}, {82, 43.5f}, {255, -3.5f}}));
}

TEST(DequantVectors, Q3_KWithSignedScales) {
  // Raw 6-bit scales: g0 = 0 (-32), g1 = 63 (31), g9 = 31 (-1), g12 = 37 (5), others 33 (1); d = 0.5.
  std::vector<uint8_t> b(110, 0x00);  // hmask 0 and qs 0: every code is -4
  const uint8_t scales[12] = {0x10, 0xFF, 0x11, 0x11, 0x51, 0x11, 0x11, 0x11, 0xA8, 0x9B, 0xAA, 0xAA};
  for (int i = 0; i < 12; ++i) b[96 + i] = scales[i];
  b[108] = 0x00, b[109] = 0x38;
  b[32 + 16] = 0x03, b[16] = 0x01;         // element 16 (g1): q2 = 3, high bit set -> q = 3
  b[32 + 54] = 0x01;                        // element 150 (g9): q2 = 1, no high bit -> q = -3
  b[32 + 40] = 0x20, b[8] = 0x40;           // element 200 (g12): q2 = 2, high bit (bit 6) -> q = 2
  std::vector<float> groups(16, -2.0f);     // 0.5 * 1 * -4
  groups[0] = 64.0f;
  groups[1] = -62.0f;
  groups[9] = 2.0f;
  groups[12] = -10.0f;
  expect_decodes(DType::Q3_K, b, expand(256, 16, groups, {{16, 46.5f}, {150, 1.5f}, {200, 5.0f}}));
}

// Scale/min bytes with (sc, m) = (1,0) (2,1) (63,0) (0,63) (17,33) (5,2) (48,3) (1,62) for sub-blocks 0..7.
const uint8_t kK4Scales[12] = {0x41, 0x02, 0xFF, 0x00, 0x80, 0x01, 0x00, 0xFF, 0x11, 0x25, 0x30, 0xE1};

TEST(DequantVectors, Q4_K) {
  std::vector<uint8_t> b = block(144, 0x00, {0x00, 0x3C, 0x00, 0x40});  // d = 1, dmin = 2
  std::copy(kK4Scales, kK4Scales + 12, b.begin() + 4);
  b[16 + 0] = 0xF3;    // e0 q=3 (b0), e32 q=15 (b1)
  b[16 + 71] = 0x5A;   // e135 q=10 (b4), e167 q=5 (b5)
  b[16 + 127] = 0x90;  // e223 q=0 (b6), e255 q=9 (b7)
  expect_decodes(DType::Q4_K, b,
                 expand(256, 32, {0.0f, -2.0f, 0.0f, -126.0f, -66.0f, -4.0f, -6.0f, -124.0f},
                        {{0, 3.0f}, {32, 28.0f}, {135, 104.0f}, {167, 21.0f}, {223, -6.0f}, {255, -115.0f}}));
}

TEST(DequantVectors, Q5_K) {
  std::vector<uint8_t> b = block(176, 0x00, {0x00, 0x38, 0x00, 0x3C});  // d = 0.5, dmin = 1
  std::copy(kK4Scales, kK4Scales + 12, b.begin() + 4);
  b[16 + 3] = 0x81;    // qh[3]: 5th bit of e3 (c0 h0) and e227 (c3 h1)
  b[16 + 20] = 0x10;   // qh[20]: 5th bit of e148 (c2 h0)
  b[48 + 3] = 0x2F;    // e3 low 15, e35 low 2
  b[48 + 99] = 0x70;   // e195 low 0, e227 low 7
  expect_decodes(DType::Q5_K, b,
                 expand(256, 32, {0.0f, -1.0f, 0.0f, -63.0f, -33.0f, -2.0f, -3.0f, -62.0f},
                        {{3, 15.5f}, {35, 1.0f}, {195, -3.0f}, {227, -50.5f}, {148, 103.0f}}));
}

TEST(DequantVectors, Q6_KWithSignedScales) {
  std::vector<uint8_t> b(210, 0x00);  // ql = qh = 0: every code is -32
  for (int g = 0; g < 16; ++g) b[192 + g] = 0x01;
  b[192 + 0] = 0x80;  // -128
  b[192 + 1] = 0x7F;  // 127
  b[192 + 5] = 0xFD;  // -3
  b[208] = 0x00, b[209] = 0x38;  // d = 0.5
  b[0] = 0x0F, b[128 + 0] = 0x03;     // e0: q = 63 - 32 = 31
  b[21] = 0xA0, b[128 + 21] = 0x20;   // e85 (n0 k2 l21): q = (10 | 32) - 32 = 10
  b[122] = 0x50, b[128 + 58] = 0x40;  // e250 (n1 k3 l26): q = (5 | 16) - 32 = -11
  b[16] = 0x01, b[128 + 16] = 0x02;   // e16 (n0 k0 l16): q = (1 | 32) - 32 = 1
  std::vector<float> groups(16, -16.0f);  // 0.5 * 1 * -32
  groups[0] = 2048.0f;
  groups[1] = -2032.0f;
  groups[5] = 48.0f;
  expect_decodes(DType::Q6_K, b, expand(256, 16, groups, {{0, -1984.0f}, {85, -15.0f}, {250, -5.5f}, {16, 63.5f}}));
}

TEST(DequantVectors, Mxfp4IncludingSubnormalAndHugeExponents) {
  std::vector<uint8_t> b(17 * 4, 0x00);
  b[0] = 0, b[1] = 0x71;            // E = 0: scale 2^-128 (f32 subnormal)
  b[17] = 1, b[18] = 0xF9;          // E = 1: scale 2^-127 (subnormal), negative codes
  b[34] = 130, b[36] = 0x5C;        // E = 130: scale 4
  b[51] = 255, b[52] = 0x21;        // E = 255: scale 2^127
  std::vector<float> want(128, 0.0f);
  want[0] = 0x1p-128f;
  want[16] = 0x3p-126f;   // 12 * 2^-128
  want[32] = -0x1p-127f;  // code 9 = -1
  want[48] = -0x3p-125f;  // code 15 = -12
  want[65] = -16.0f;      // code 12 = -4
  want[81] = 24.0f;       // code 5 = 6
  want[96] = 0x1p127f;    // code 1
  want[112] = std::numeric_limits<float>::infinity();  // code 2: 2 * 2^127 overflows like the reference
  expect_decodes(DType::MXFP4, b, want);
}

TEST(DequantVectors, Iq4Nl) {
  std::vector<uint8_t> b = block(18, 0x88, {0x00, 0x3C, 0xF0});  // d = 1
  b[2 + 3] = 0x78;
  const std::vector<uint8_t> b2 = [] {
    std::vector<uint8_t> v = block(18, 0x0F, {0x00, 0xB8});  // d = -0.5
    return v;
  }();
  b.insert(b.end(), b2.begin(), b2.end());
  std::vector<float> want = expand(64, 32, {1.0f, 0.0f}, {{0, -127.0f}, {16, 113.0f}, {3, 1.0f}, {19, -10.0f}});
  for (int e = 32; e < 64; ++e) want[e] = e < 48 ? -56.5f : 63.5f;
  expect_decodes(DType::IQ4_NL, b, want);
}

TEST(DequantVectors, Iq4XsWithNegativeScales) {
  // ls = 0, 63, 31, 32, 33, 16, 48, 1 for sub-blocks 0..7 -> ls - 32 = -32, 31, -1, 0, 1, -16, 16, -31.
  std::vector<uint8_t> b = block(136, 0x88, {0x00, 0x3C, 0x9C, 0x36, 0xF0, 0x0F, 0x01, 0x10});  // d = 1, codes 8 (T = 1)
  b[8 + 0] = 0x80;      // e0 code 0 (-127), e16 code 8
  b[8 + 83] = 0xF8;     // e163 code 8, e179 code 15 (113)
  b[8 + 127] = 0x18;    // e239 code 8, e255 code 1 (-104)
  expect_decodes(DType::IQ4_XS, b,
                 expand(256, 32, {-32.0f, 31.0f, -1.0f, 0.0f, 1.0f, -16.0f, 16.0f, -31.0f},
                        {{0, 4064.0f}, {179, -1808.0f}, {255, 3224.0f}}));
}

}  // namespace
}  // namespace mixcl::quant
