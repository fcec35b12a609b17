// Encoders for the 256-element K-quants: per-sub-block scale (and min) search, then the sub-block scales
// are themselves quantized against one f16 super-block scale and the codes re-derived from the stored
// scales (see docs/quant.md).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/half.h"
#include "common/quant_blocks.h"
#include "model/quant/codecs.h"
#include "model/quant/scale_search.h"

namespace mixcl::quant::detail {
namespace {

template <class Block>
void store(uint8_t* dst, uint64_t i, const Block& b) {
  std::memcpy(dst + i * sizeof(Block), &b, sizeof(Block));
}

// Packs 2-bit codes L[0..256) as Q2_K/Q3_K do: byte 32n + (e%32) holds elements 32 apart, shift 2*j.
void pack_2bit(const uint8_t* L, uint8_t* qs) {
  for (int n = 0; n < 2; ++n)
    for (int l = 0; l < 32; ++l) {
      const uint8_t* p = L + 128 * n + l;
      qs[32 * n + l] = static_cast<uint8_t>((p[0] & 3) | ((p[32] & 3) << 2) | ((p[64] & 3) << 4) | ((p[96] & 3) << 6));
    }
}

// Packs eight 6-bit scales and mins into the 12-byte layout of §4.7.3.
void pack_scale_min(const uint8_t* sc, const uint8_t* m, uint8_t* s) {
  std::memset(s, 0, 12);
  for (int b = 0; b < 8; ++b) {
    if (b < 4) {
      s[b] = sc[b];
      s[b + 4] = m[b];
    } else {
      s[b + 4] = static_cast<uint8_t>((sc[b] & 0xF) | ((m[b] & 0xF) << 4));
      s[b - 4] |= static_cast<uint8_t>((sc[b] >> 4) << 6);
      s[b] |= static_cast<uint8_t>((m[b] >> 4) << 6);
    }
  }
}

// Scale/min search of the eight 32-element sub-blocks of a Q4_K/Q5_K block, quantization of the
// scales/mins to 6 bits, and codes L (0..nmax) re-derived from the stored values.
void fit_k4(const float* x, int nmax, float rmin, int nstep, uint16_t& d16, uint16_t& dmin16, uint8_t* packed,
            uint8_t* L) {
  float scales[8], mins[8], w[32];
  float max_scale = 0, max_min = 0;
  for (int b = 0; b < 8; ++b) {
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += x[32 * b + l] * x[32 * b + l];
    const float av_x = std::sqrt(sum_x2 / 32);
    // Weight large magnitudes more (relative to the sub-block's rms) so outliers are reproduced well.
    for (int l = 0; l < 32; ++l) w[l] = av_x + std::fabs(x[32 * b + l]);
    scales[b] = fit_scale_min(32, nmax, x + 32 * b, w, L + 32 * b, &mins[b], rmin, 0.1f, nstep, false);
    max_scale = std::max(max_scale, scales[b]);
    max_min = std::max(max_min, mins[b]);
  }
  const float inv_scale = max_scale > 0 ? 63 / max_scale : 0;
  const float inv_min = max_min > 0 ? 63 / max_min : 0;
  uint8_t ls[8], lm[8];
  for (int b = 0; b < 8; ++b) {
    ls[b] = static_cast<uint8_t>(std::clamp(nearest_int(inv_scale * scales[b]), 0, 63));
    lm[b] = static_cast<uint8_t>(std::clamp(nearest_int(inv_min * mins[b]), 0, 63));
  }
  pack_scale_min(ls, lm, packed);
  d16 = scale_to_fp16(max_scale / 63);
  dmin16 = scale_to_fp16(max_min / 63);
  const float d = fp16_to_fp32(d16), dmin = fp16_to_fp32(dmin16);
  for (int b = 0; b < 8; ++b) {
    const float ds = d * static_cast<float>(ls[b]);
    if (ds == 0) continue;
    const float dm = dmin * static_cast<float>(lm[b]);
    for (int l = 0; l < 32; ++l)
      L[32 * b + l] = static_cast<uint8_t>(std::clamp(nearest_int((x[32 * b + l] + dm) / ds), 0, nmax));
  }
}

void q_q4_k(const float* x, uint8_t* dst, uint64_t nb) {
  uint8_t L[256];
  for (uint64_t i = 0; i < nb; ++i, x += 256) {
    BlockQ4_K b;
    fit_k4(x, 15, -1.0f, 20, b.d, b.dmin, b.scales, L);
    for (int c = 0; c < 4; ++c)
      for (int l = 0; l < 32; ++l)
        b.qs[32 * c + l] = static_cast<uint8_t>(L[64 * c + l] | (L[64 * c + 32 + l] << 4));
    store(dst, i, b);
  }
}

void q_q5_k(const float* x, uint8_t* dst, uint64_t nb) {
  uint8_t L[256];
  for (uint64_t i = 0; i < nb; ++i, x += 256) {
    BlockQ5_K b;
    fit_k4(x, 31, -0.5f, 15, b.d, b.dmin, b.scales, L);
    std::memset(b.qh, 0, sizeof(b.qh));
    for (int c = 0; c < 4; ++c)
      for (int l = 0; l < 32; ++l) {
        const int q0 = L[64 * c + l], q1 = L[64 * c + 32 + l];
        b.qs[32 * c + l] = static_cast<uint8_t>((q0 & 0xF) | ((q1 & 0xF) << 4));
        b.qh[l] |= static_cast<uint8_t>(((q0 >> 4) << (2 * c)) | ((q1 >> 4) << (2 * c + 1)));
      }
    store(dst, i, b);
  }
}

void q_q2_k(const float* x, uint8_t* dst, uint64_t nb) {
  uint8_t L[256];
  float w[16], scales[16], mins[16];
  for (uint64_t i = 0; i < nb; ++i, x += 256) {
    BlockQ2_K b;
    float max_scale = 0, max_min = 0;
    for (int g = 0; g < 16; ++g) {
      for (int l = 0; l < 16; ++l) w[l] = std::fabs(x[16 * g + l]);
      scales[g] = fit_scale_min(16, 3, x + 16 * g, w, L + 16 * g, &mins[g], -0.5f, 0.1f, 15, true);
      max_scale = std::max(max_scale, scales[g]);
      max_min = std::max(max_min, mins[g]);
    }
    const float inv_scale = max_scale > 0 ? 15 / max_scale : 0;
    const float inv_min = max_min > 0 ? 15 / max_min : 0;
    for (int g = 0; g < 16; ++g) {
      const int ls = std::clamp(nearest_int(inv_scale * scales[g]), 0, 15);
      const int lm = std::clamp(nearest_int(inv_min * mins[g]), 0, 15);
      b.scales[g] = static_cast<uint8_t>(ls | (lm << 4));
    }
    b.d = scale_to_fp16(max_scale / 15);
    b.dmin = scale_to_fp16(max_min / 15);
    const float d = fp16_to_fp32(b.d), dmin = fp16_to_fp32(b.dmin);
    for (int g = 0; g < 16; ++g) {
      const float ds = d * static_cast<float>(b.scales[g] & 0xF);
      if (ds == 0) continue;
      const float dm = dmin * static_cast<float>(b.scales[g] >> 4);
      for (int l = 0; l < 16; ++l)
        L[16 * g + l] = static_cast<uint8_t>(std::clamp(nearest_int((x[16 * g + l] + dm) / ds), 0, 3));
    }
    pack_2bit(L, b.qs);
    store(dst, i, b);
  }
}

void q_q3_k(const float* x, uint8_t* dst, uint64_t nb) {
  int8_t Ls[256];
  uint8_t L[256];
  float scales[16];
  for (uint64_t i = 0; i < nb; ++i, x += 256) {
    BlockQ3_K b{};
    float max_scale = 0, amax = 0;
    for (int g = 0; g < 16; ++g) {
      scales[g] = fit_symmetric_greedy(16, 4, x + 16 * g, Ls + 16 * g);
      if (std::fabs(scales[g]) > amax) {
        amax = std::fabs(scales[g]);
        max_scale = scales[g];
      }
    }
    if (max_scale != 0) {
      const float iscale = -32 / max_scale;  // the largest sub-block scale becomes -32 (its sign goes into d)
      for (int g = 0; g < 16; ++g) {
        const int l = std::clamp(nearest_int(iscale * scales[g]), -32, 31) + 32;
        if (g < 8)
          b.scales[g] = static_cast<uint8_t>(l & 0xF);
        else
          b.scales[g - 8] |= static_cast<uint8_t>((l & 0xF) << 4);
        b.scales[8 + g % 4] |= static_cast<uint8_t>((l >> 4) << (2 * (g / 4)));
      }
      b.d = scale_to_fp16(1 / iscale);
    }
    const float d = fp16_to_fp32(b.d);
    for (int g = 0; g < 16; ++g) {
      const int lo4 = g < 8 ? (b.scales[g] & 0xF) : (b.scales[g - 8] >> 4);
      const int sc = (lo4 | (((b.scales[8 + g % 4] >> (2 * (g / 4))) & 3) << 4)) - 32;
      const float ds = d * static_cast<float>(sc);
      for (int l = 0; l < 16; ++l) {
        const int e = 16 * g + l;
        const int q = ds != 0 ? std::clamp(nearest_int(x[e] / ds), -4, 3) : Ls[e];
        L[e] = static_cast<uint8_t>(q + 4);
      }
    }
    for (int e = 0; e < 256; ++e)
      if (L[e] > 3) b.hmask[e % 32] |= static_cast<uint8_t>(1u << (e / 32));  // bit set = no -4 offset
    pack_2bit(L, b.qs);
    store(dst, i, b);
  }
}

void q_q6_k(const float* x, uint8_t* dst, uint64_t nb) {
  int8_t Ls[256];
  uint8_t L[256];
  float scales[16];
  for (uint64_t i = 0; i < nb; ++i, x += 256) {
    BlockQ6_K b{};
    float max_scale = 0, amax = 0;
    for (int g = 0; g < 16; ++g) {
      scales[g] = fit_symmetric_grid(16, 32, x + 16 * g, Ls + 16 * g);
      if (std::fabs(scales[g]) > amax) {
        amax = std::fabs(scales[g]);
        max_scale = scales[g];
      }
    }
    if (amax >= kGroupEps) {
      const float iscale = -128 / max_scale;
      b.d = scale_to_fp16(1 / iscale);
      for (int g = 0; g < 16; ++g)
        b.scales[g] = static_cast<int8_t>(std::clamp(nearest_int(iscale * scales[g]), -128, 127));
    }
    const float d = fp16_to_fp32(b.d);
    for (int g = 0; g < 16; ++g) {
      const float ds = d * static_cast<float>(b.scales[g]);
      for (int l = 0; l < 16; ++l) {
        const int e = 16 * g + l;
        const int q = ds != 0 ? std::clamp(nearest_int(x[e] / ds), -32, 31) : Ls[e];
        L[e] = static_cast<uint8_t>(q + 32);
      }
    }
    for (int n = 0; n < 2; ++n)
      for (int l = 0; l < 32; ++l) {
        const uint8_t* p = L + 128 * n + l;
        b.ql[64 * n + l] = static_cast<uint8_t>((p[0] & 0xF) | ((p[64] & 0xF) << 4));
        b.ql[64 * n + 32 + l] = static_cast<uint8_t>((p[32] & 0xF) | ((p[96] & 0xF) << 4));
        b.qh[32 * n + l] = static_cast<uint8_t>((p[0] >> 4) | ((p[32] >> 4) << 2) | ((p[64] >> 4) << 4) | ((p[96] >> 4) << 6));
      }
    store(dst, i, b);
  }
}

}  // namespace

QuantFn quant_fn_kquant(DType type) {
  switch (type) {
    case DType::Q2_K: return q_q2_k;
    case DType::Q3_K: return q_q3_k;
    case DType::Q4_K: return q_q4_k;
    case DType::Q5_K: return q_q5_k;
    case DType::Q6_K: return q_q6_k;
    default: return nullptr;
  }
}

}  // namespace mixcl::quant::detail
