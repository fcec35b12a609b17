#include "backend/host/ops/row_decode.h"

#include <bit>
#include <cstring>

#include "common/half.h"
#include "common/quant_blocks.h"

namespace mixcl::backend::ops {
namespace {

// Each decoder follows gguf.md §4 with its evaluation order (super-block scale × sub-block scale first),
// so the result is bit-identical to the reference dequantizer.

template <class Block>
const Block* blocks(const uint8_t* src) {
  return reinterpret_cast<const Block*>(src);
}

uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

void decode_q8_0(const uint8_t* src, float* y, uint64_t nb) {
  for (uint64_t b = 0; b < nb; ++b, y += 32) {
    const BlockQ8_0& x = blocks<BlockQ8_0>(src)[b];
    const float d = fp16_to_fp32(x.d);
    for (int e = 0; e < 32; ++e) y[e] = d * x.qs[e];
  }
}

void decode_q4_0(const uint8_t* src, float* y, uint64_t nb) {
  for (uint64_t b = 0; b < nb; ++b, y += 32) {
    const BlockQ4_0& x = blocks<BlockQ4_0>(src)[b];
    const float d = fp16_to_fp32(x.d);
    for (int e = 0; e < 16; ++e) {
      y[e] = d * ((x.qs[e] & 0xF) - 8);
      y[e + 16] = d * ((x.qs[e] >> 4) - 8);
    }
  }
}

void decode_q4_1(const uint8_t* src, float* y, uint64_t nb) {
  for (uint64_t b = 0; b < nb; ++b, y += 32) {
    const BlockQ4_1& x = blocks<BlockQ4_1>(src)[b];
    const float d = fp16_to_fp32(x.d), m = fp16_to_fp32(x.m);
    for (int e = 0; e < 16; ++e) {
      y[e] = d * (x.qs[e] & 0xF) + m;
      y[e + 16] = d * (x.qs[e] >> 4) + m;
    }
  }
}

void decode_q5_0(const uint8_t* src, float* y, uint64_t nb) {
  for (uint64_t b = 0; b < nb; ++b, y += 32) {
    const BlockQ5_0& x = blocks<BlockQ5_0>(src)[b];
    const float d = fp16_to_fp32(x.d);
    const uint32_t qh = load_u32(x.qh);
    for (int e = 0; e < 16; ++e) {
      y[e] = d * (static_cast<int>((x.qs[e] & 0xF) | (((qh >> e) & 1) << 4)) - 16);
      y[e + 16] = d * (static_cast<int>((x.qs[e] >> 4) | (((qh >> (e + 16)) & 1) << 4)) - 16);
    }
  }
}

void decode_q5_1(const uint8_t* src, float* y, uint64_t nb) {
  for (uint64_t b = 0; b < nb; ++b, y += 32) {
    const BlockQ5_1& x = blocks<BlockQ5_1>(src)[b];
    const float d = fp16_to_fp32(x.d), m = fp16_to_fp32(x.m);
    const uint32_t qh = load_u32(x.qh);
    for (int e = 0; e < 16; ++e) {
      y[e] = d * static_cast<int>((x.qs[e] & 0xF) | (((qh >> e) & 1) << 4)) + m;
      y[e + 16] = d * static_cast<int>((x.qs[e] >> 4) | (((qh >> (e + 16)) & 1) << 4)) + m;
    }
  }
}

float e8m0_half(uint8_t e) {  // 2^(e-128) by bit construction (subnormal for e <= 1)
  const uint32_t bits = e < 2 ? (0x00200000u << e) : (static_cast<uint32_t>(e) - 1) << 23;
  return std::bit_cast<float>(bits);
}

void decode_mxfp4(const uint8_t* src, float* y, uint64_t nb) {
  for (uint64_t b = 0; b < nb; ++b, y += 32) {
    const BlockMXFP4& x = blocks<BlockMXFP4>(src)[b];
    const float d = e8m0_half(x.e);
    for (int e = 0; e < 16; ++e) {
      y[e] = kMxfp4Values[x.qs[e] & 0xF] * d;
      y[e + 16] = kMxfp4Values[x.qs[e] >> 4] * d;
    }
  }
}

void decode_iq4_nl(const uint8_t* src, float* y, uint64_t nb) {
  for (uint64_t b = 0; b < nb; ++b, y += 32) {
    const BlockIQ4_NL& x = blocks<BlockIQ4_NL>(src)[b];
    const float d = fp16_to_fp32(x.d);
    for (int e = 0; e < 16; ++e) {
      y[e] = d * kIq4nlValues[x.qs[e] & 0xF];
      y[e + 16] = d * kIq4nlValues[x.qs[e] >> 4];
    }
  }
}

void decode_iq4_xs(const uint8_t* src, float* y, uint64_t nb) {
  for (uint64_t b = 0; b < nb; ++b, y += 256) {
    const BlockIQ4_XS& x = blocks<BlockIQ4_XS>(src)[b];
    const float d = fp16_to_fp32(x.d);
    for (int sb = 0; sb < 8; ++sb) {
      const int ls = ((x.scales_l[sb / 2] >> (4 * (sb % 2))) & 0xF) | (((x.scales_h >> (2 * sb)) & 3) << 4);
      const float dl = d * (ls - 32);
      for (int l = 0; l < 16; ++l) {
        y[32 * sb + l] = dl * kIq4nlValues[x.qs[16 * sb + l] & 0xF];
        y[32 * sb + 16 + l] = dl * kIq4nlValues[x.qs[16 * sb + l] >> 4];
      }
    }
  }
}

void decode_q2_k(const uint8_t* src, float* y, uint64_t nb) {
  for (uint64_t b = 0; b < nb; ++b, y += 256) {
    const BlockQ2_K& x = blocks<BlockQ2_K>(src)[b];
    const float d = fp16_to_fp32(x.d), dmin = fp16_to_fp32(x.dmin);
    for (int e = 0; e < 256; ++e) {
      const int n = e / 128, j = (e / 32) % 4, h = (e / 16) % 2, l = e % 16, g = e / 16;
      const int q = (x.qs[32 * n + 16 * h + l] >> (2 * j)) & 3;
      const float dl = d * (x.scales[g] & 0xF), ml = dmin * (x.scales[g] >> 4);
      y[e] = dl * q - ml;
    }
  }
}

void decode_q3_k(const uint8_t* src, float* y, uint64_t nb) {
  for (uint64_t b = 0; b < nb; ++b, y += 256) {
    const BlockQ3_K& x = blocks<BlockQ3_K>(src)[b];
    const float d = fp16_to_fp32(x.d);
    float dl[16];
    for (int g = 0; g < 16; ++g) {
      const int lo4 = g < 8 ? (x.scales[g] & 0xF) : (x.scales[g - 8] >> 4);
      const int hi2 = (x.scales[8 + g % 4] >> (2 * (g / 4))) & 3;
      dl[g] = d * ((lo4 | (hi2 << 4)) - 32);
    }
    for (int e = 0; e < 256; ++e) {
      const int n = e / 128, j = (e / 32) % 4, h = (e / 16) % 2, l = e % 16;
      const int q2 = (x.qs[32 * n + 16 * h + l] >> (2 * j)) & 3;
      const int hbit = (x.hmask[16 * h + l] >> (4 * n + j)) & 1;
      y[e] = dl[e / 16] * (q2 - (hbit ? 0 : 4));
    }
  }
}

void scale_min_k4(const uint8_t* s, int b, int* sc, int* m) {
  if (b < 4) {
    *sc = s[b] & 63;
    *m = s[b + 4] & 63;
  } else {
    *sc = (s[b + 4] & 0xF) | ((s[b - 4] >> 6) << 4);
    *m = (s[b + 4] >> 4) | ((s[b] >> 6) << 4);
  }
}

void decode_q4_k(const uint8_t* src, float* y, uint64_t nb) {
  for (uint64_t b = 0; b < nb; ++b, y += 256) {
    const BlockQ4_K& x = blocks<BlockQ4_K>(src)[b];
    const float d = fp16_to_fp32(x.d), dmin = fp16_to_fp32(x.dmin);
    for (int c = 0; c < 4; ++c) {
      for (int h = 0; h < 2; ++h) {
        int sc, m;
        scale_min_k4(x.scales, 2 * c + h, &sc, &m);
        const float dl = d * sc, ml = dmin * m;
        for (int l = 0; l < 32; ++l) {
          const int q = h == 0 ? (x.qs[32 * c + l] & 0xF) : (x.qs[32 * c + l] >> 4);
          y[64 * c + 32 * h + l] = dl * q - ml;
        }
      }
    }
  }
}

void decode_q5_k(const uint8_t* src, float* y, uint64_t nb) {
  for (uint64_t b = 0; b < nb; ++b, y += 256) {
    const BlockQ5_K& x = blocks<BlockQ5_K>(src)[b];
    const float d = fp16_to_fp32(x.d), dmin = fp16_to_fp32(x.dmin);
    for (int c = 0; c < 4; ++c) {
      for (int h = 0; h < 2; ++h) {
        int sc, m;
        scale_min_k4(x.scales, 2 * c + h, &sc, &m);
        const float dl = d * sc, ml = dmin * m;
        for (int l = 0; l < 32; ++l) {
          const int low4 = h == 0 ? (x.qs[32 * c + l] & 0xF) : (x.qs[32 * c + l] >> 4);
          const int q = low4 + 16 * ((x.qh[l] >> (2 * c + h)) & 1);
          y[64 * c + 32 * h + l] = dl * q - ml;
        }
      }
    }
  }
}

void decode_q6_k(const uint8_t* src, float* y, uint64_t nb) {
  for (uint64_t b = 0; b < nb; ++b, y += 256) {
    const BlockQ6_K& x = blocks<BlockQ6_K>(src)[b];
    const float d = fp16_to_fp32(x.d);
    for (int e = 0; e < 256; ++e) {
      const int n = e / 128, k = (e / 32) % 4, l = e % 32;
      const uint8_t byte = x.ql[64 * n + 32 * (k & 1) + l];
      const int low4 = k < 2 ? (byte & 0xF) : (byte >> 4);
      const int hi2 = (x.qh[32 * n + l] >> (2 * k)) & 3;
      y[e] = d * x.scales[e / 16] * ((low4 | (hi2 << 4)) - 32);
    }
  }
}

using DecodeFn = void (*)(const uint8_t*, float*, uint64_t);

DecodeFn decoder_for(DType type) {
  switch (type) {
    case DType::Q8_0:
      return decode_q8_0;
    case DType::Q4_0:
      return decode_q4_0;
    case DType::Q4_1:
      return decode_q4_1;
    case DType::Q5_0:
      return decode_q5_0;
    case DType::Q5_1:
      return decode_q5_1;
    case DType::MXFP4:
      return decode_mxfp4;
    case DType::IQ4_NL:
      return decode_iq4_nl;
    case DType::IQ4_XS:
      return decode_iq4_xs;
    case DType::Q2_K:
      return decode_q2_k;
    case DType::Q3_K:
      return decode_q3_k;
    case DType::Q4_K:
      return decode_q4_k;
    case DType::Q5_K:
      return decode_q5_k;
    case DType::Q6_K:
      return decode_q6_k;
    default:
      return nullptr;
  }
}

}  // namespace

bool can_decode_row(DType type) {
  return type == DType::F32 || type == DType::F16 || type == DType::BF16 || decoder_for(type) != nullptr;
}

bool decode_row(DType type, const uint8_t* src, float* dst, uint64_t n) {
  switch (type) {
    case DType::F32:
      std::memcpy(dst, src, n * 4);
      return true;
    case DType::F16:
      for (uint64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        dst[i] = fp16_to_fp32(h);
      }
      return true;
    case DType::BF16:
      for (uint64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        dst[i] = bf16_to_fp32(h);
      }
      return true;
    default:
      break;
  }
  const DecodeFn fn = decoder_for(type);
  if (!fn) return false;
  fn(src, dst, n / dtype_info(type).block_elems);
  return true;
}

}  // namespace mixcl::backend::ops
