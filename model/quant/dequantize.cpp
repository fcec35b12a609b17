// Reference block decoders, written straight from gguf.md §4: plain loops, products in f32 left to right.
#include <cstring>

#include "common/half.h"
#include "common/quant_blocks.h"
#include "model/quant/codecs.h"

namespace mixcl::quant::detail {
namespace {

// Copies one block out of the byte stream (no alignment or aliasing assumptions on `src`).
template <class Block>
Block load(const uint8_t* src, uint64_t i) {
  Block b;
  std::memcpy(&b, src + i * sizeof(Block), sizeof(Block));
  return b;
}

// Nibble of element e (0..31) with the "low nibbles first, then high nibbles" order of §4.3.
inline int nibble32(const uint8_t* qs, int e) { return e < 16 ? (qs[e] & 0xF) : (qs[e - 16] >> 4); }

void dq_f32(const uint8_t* src, float* dst, uint64_t n) { std::memcpy(dst, src, n * sizeof(float)); }

void dq_f16(const uint8_t* src, float* dst, uint64_t n) {
  for (uint64_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, src + 2 * i, 2);
    dst[i] = fp16_to_fp32(h);
  }
}

void dq_bf16(const uint8_t* src, float* dst, uint64_t n) {
  for (uint64_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, src + 2 * i, 2);
    dst[i] = bf16_to_fp32(h);
  }
}

void dq_q8_0(const uint8_t* src, float* dst, uint64_t nb) {
  for (uint64_t i = 0; i < nb; ++i, dst += 32) {
    const auto b = load<BlockQ8_0>(src, i);
    const float d = fp16_to_fp32(b.d);
    for (int e = 0; e < 32; ++e) dst[e] = d * static_cast<float>(b.qs[e]);
  }
}

void dq_q8_1(const uint8_t* src, float* dst, uint64_t nb) {
  for (uint64_t i = 0; i < nb; ++i, dst += 32) {
    const auto b = load<BlockQ8_1>(src, i);
    const float d = fp16_to_fp32(b.d);
    for (int e = 0; e < 32; ++e) dst[e] = d * static_cast<float>(b.qs[e]);
  }
}

void dq_q4_0(const uint8_t* src, float* dst, uint64_t nb) {
  for (uint64_t i = 0; i < nb; ++i, dst += 32) {
    const auto b = load<BlockQ4_0>(src, i);
    const float d = fp16_to_fp32(b.d);
    for (int e = 0; e < 32; ++e) dst[e] = d * static_cast<float>(nibble32(b.qs, e) - 8);
  }
}

void dq_q4_1(const uint8_t* src, float* dst, uint64_t nb) {
  for (uint64_t i = 0; i < nb; ++i, dst += 32) {
    const auto b = load<BlockQ4_1>(src, i);
    const float d = fp16_to_fp32(b.d), m = fp16_to_fp32(b.m);
    for (int e = 0; e < 32; ++e) dst[e] = d * static_cast<float>(nibble32(b.qs, e)) + m;
  }
}

void dq_q5_0(const uint8_t* src, float* dst, uint64_t nb) {
  for (uint64_t i = 0; i < nb; ++i, dst += 32) {
    const auto b = load<BlockQ5_0>(src, i);
    const float d = fp16_to_fp32(b.d);
    uint32_t qh;
    std::memcpy(&qh, b.qh, 4);
    for (int e = 0; e < 32; ++e) {
      const int q = nibble32(b.qs, e) | static_cast<int>(((qh >> e) & 1u) << 4);
      dst[e] = d * static_cast<float>(q - 16);
    }
  }
}

void dq_q5_1(const uint8_t* src, float* dst, uint64_t nb) {
  for (uint64_t i = 0; i < nb; ++i, dst += 32) {
    const auto b = load<BlockQ5_1>(src, i);
    const float d = fp16_to_fp32(b.d), m = fp16_to_fp32(b.m);
    uint32_t qh;
    std::memcpy(&qh, b.qh, 4);
    for (int e = 0; e < 32; ++e) {
      const int q = nibble32(b.qs, e) | static_cast<int>(((qh >> e) & 1u) << 4);
      dst[e] = d * static_cast<float>(q) + m;
    }
  }
}

void dq_q2_k(const uint8_t* src, float* dst, uint64_t nb) {
  for (uint64_t i = 0; i < nb; ++i, dst += 256) {
    const auto b = load<BlockQ2_K>(src, i);
    const float d = fp16_to_fp32(b.d), dmin = fp16_to_fp32(b.dmin);
    for (int e = 0; e < 256; ++e) {
      const int n = e / 128, j = (e / 32) % 4, hl = e % 32;  // hl = 16*h + l
      const int q = (b.qs[32 * n + hl] >> (2 * j)) & 3;
      const int g = e / 16;
      dst[e] = d * static_cast<float>(b.scales[g] & 0xF) * static_cast<float>(q) -
               dmin * static_cast<float>(b.scales[g] >> 4);
    }
  }
}

// Signed 6-bit scale of 16-element group g of a Q3_K block (§4.7.2).
int q3k_scale(const uint8_t* s, int g) {
  const int lo4 = g < 8 ? (s[g] & 0xF) : (s[g - 8] >> 4);
  const int hi2 = (s[8 + g % 4] >> (2 * (g / 4))) & 3;
  return (lo4 | (hi2 << 4)) - 32;
}

void dq_q3_k(const uint8_t* src, float* dst, uint64_t nb) {
  for (uint64_t i = 0; i < nb; ++i, dst += 256) {
    const auto b = load<BlockQ3_K>(src, i);
    const float d = fp16_to_fp32(b.d);
    for (int e = 0; e < 256; ++e) {
      const int n = e / 128, j = (e / 32) % 4, hl = e % 32;
      const int q2 = (b.qs[32 * n + hl] >> (2 * j)) & 3;
      const int hbit = (b.hmask[hl] >> (4 * n + j)) & 1;
      const int q = q2 - (hbit ? 0 : 4);
      dst[e] = d * static_cast<float>(q3k_scale(b.scales, e / 16)) * static_cast<float>(q);
    }
  }
}

// 6-bit scale and min of 32-element sub-block b of a Q4_K/Q5_K block (§4.7.3).
void k4_scale_min(const uint8_t* s, int b, int& sc, int& m) {
  if (b < 4) {
    sc = s[b] & 63;
    m = s[b + 4] & 63;
  } else {
    sc = (s[b + 4] & 0xF) | ((s[b - 4] >> 6) << 4);
    m = (s[b + 4] >> 4) | ((s[b] >> 6) << 4);
  }
}

void dq_q4_k(const uint8_t* src, float* dst, uint64_t nb) {
  for (uint64_t i = 0; i < nb; ++i, dst += 256) {
    const auto b = load<BlockQ4_K>(src, i);
    const float d = fp16_to_fp32(b.d), dmin = fp16_to_fp32(b.dmin);
    for (int e = 0; e < 256; ++e) {
      const int c = e / 64, h = (e / 32) % 2, l = e % 32;
      const uint8_t byte = b.qs[32 * c + l];
      const int q = h == 0 ? (byte & 0xF) : (byte >> 4);
      int sc, m;
      k4_scale_min(b.scales, e / 32, sc, m);
      dst[e] = d * static_cast<float>(sc) * static_cast<float>(q) - dmin * static_cast<float>(m);
    }
  }
}

void dq_q5_k(const uint8_t* src, float* dst, uint64_t nb) {
  for (uint64_t i = 0; i < nb; ++i, dst += 256) {
    const auto b = load<BlockQ5_K>(src, i);
    const float d = fp16_to_fp32(b.d), dmin = fp16_to_fp32(b.dmin);
    for (int e = 0; e < 256; ++e) {
      const int c = e / 64, h = (e / 32) % 2, l = e % 32;
      const uint8_t byte = b.qs[32 * c + l];
      const int low4 = h == 0 ? (byte & 0xF) : (byte >> 4);
      const int hi = (b.qh[l] >> (2 * c + h)) & 1;
      const int q = low4 + 16 * hi;
      int sc, m;
      k4_scale_min(b.scales, e / 32, sc, m);
      dst[e] = d * static_cast<float>(sc) * static_cast<float>(q) - dmin * static_cast<float>(m);
    }
  }
}

void dq_q6_k(const uint8_t* src, float* dst, uint64_t nb) {
  for (uint64_t i = 0; i < nb; ++i, dst += 256) {
    const auto b = load<BlockQ6_K>(src, i);
    const float d = fp16_to_fp32(b.d);
    for (int e = 0; e < 256; ++e) {
      const int n = e / 128, k = (e / 32) % 4, l = e % 32;
      const uint8_t byte = b.ql[64 * n + 32 * (k & 1) + l];
      const int low4 = k < 2 ? (byte & 0xF) : (byte >> 4);
      const int hi2 = (b.qh[32 * n + l] >> (2 * k)) & 3;
      const int q = (low4 | (hi2 << 4)) - 32;
      dst[e] = d * static_cast<float>(b.scales[e / 16]) * static_cast<float>(q);
    }
  }
}

void dq_q8_k(const uint8_t* src, float* dst, uint64_t nb) {
  for (uint64_t i = 0; i < nb; ++i, dst += 256) {
    const auto b = load<BlockQ8_K>(src, i);
    for (int e = 0; e < 256; ++e) dst[e] = b.d * static_cast<float>(b.qs[e]);
  }
}

}  // namespace

/// 2^(E-128) built from bits as ggml does (§4.8): subnormal for E <= 1, 2^127 for E = 255.
float mxfp4_half_scale(uint8_t e) {
  const uint32_t bits = e < 2 ? (0x00200000u << e) : (static_cast<uint32_t>(e - 1) << 23);
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

namespace {

void dq_mxfp4(const uint8_t* src, float* dst, uint64_t nb) {
  for (uint64_t i = 0; i < nb; ++i, dst += 32) {
    const auto b = load<BlockMXFP4>(src, i);
    const float d = mxfp4_half_scale(b.e);
    for (int e = 0; e < 32; ++e) dst[e] = static_cast<float>(kMxfp4Values[nibble32(b.qs, e)]) * d;
  }
}

void dq_iq4_nl(const uint8_t* src, float* dst, uint64_t nb) {
  for (uint64_t i = 0; i < nb; ++i, dst += 32) {
    const auto b = load<BlockIQ4_NL>(src, i);
    const float d = fp16_to_fp32(b.d);
    for (int e = 0; e < 32; ++e) dst[e] = d * static_cast<float>(kIq4nlValues[nibble32(b.qs, e)]);
  }
}

void dq_iq4_xs(const uint8_t* src, float* dst, uint64_t nb) {
  for (uint64_t i = 0; i < nb; ++i, dst += 256) {
    const auto b = load<BlockIQ4_XS>(src, i);
    const float d = fp16_to_fp32(b.d);
    for (int e = 0; e < 256; ++e) {
      const int sb = e / 32, h = (e / 16) % 2, l = e % 16;
      const int ls = ((b.scales_l[sb / 2] >> (4 * (sb % 2))) & 0xF) | (((b.scales_h >> (2 * sb)) & 3) << 4);
      const uint8_t byte = b.qs[16 * sb + l];
      const int code = h == 0 ? (byte & 0xF) : (byte >> 4);
      dst[e] = d * static_cast<float>(ls - 32) * static_cast<float>(kIq4nlValues[code]);
    }
  }
}

}  // namespace

DequantFn dequant_fn(DType type) {
  switch (type) {
    case DType::F32: return dq_f32;
    case DType::F16: return dq_f16;
    case DType::BF16: return dq_bf16;
    case DType::Q4_0: return dq_q4_0;
    case DType::Q4_1: return dq_q4_1;
    case DType::Q5_0: return dq_q5_0;
    case DType::Q5_1: return dq_q5_1;
    case DType::Q8_0: return dq_q8_0;
    case DType::Q8_1: return dq_q8_1;
    case DType::Q2_K: return dq_q2_k;
    case DType::Q3_K: return dq_q3_k;
    case DType::Q4_K: return dq_q4_k;
    case DType::Q5_K: return dq_q5_k;
    case DType::Q6_K: return dq_q6_k;
    case DType::Q8_K: return dq_q8_k;
    case DType::MXFP4: return dq_mxfp4;
    case DType::IQ4_NL: return dq_iq4_nl;
    case DType::IQ4_XS: return dq_iq4_xs;
    default: return nullptr;
  }
}

}  // namespace mixcl::quant::detail
