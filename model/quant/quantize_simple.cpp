// Round-to-nearest encoders for the plain, 32-element and activation formats (scale choices as in the
// ggml reference quantizers; see docs/quant.md).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/error.h"
#include "common/half.h"
#include "common/quant_blocks.h"
#include "model/quant/codecs.h"
#include "model/quant/scale_search.h"

namespace mixcl::quant::detail {

uint16_t scale_to_fp16(float scale) {
  const uint16_t h = fp32_to_fp16(scale);
  if ((h & 0x7FFFu) >= 0x7C00u)
    fail("block scale {} does not fit in f16 (values too large for this format; store the tensor as F32/BF16)",
         scale);
  return h;
}

namespace {

template <class Block>
void store(uint8_t* dst, uint64_t i, const Block& b) {
  std::memcpy(dst + i * sizeof(Block), &b, sizeof(Block));
}

// Largest magnitude of x[0..n) and the element that has it (with its sign).
void signed_absmax(const float* x, int n, float& amax, float& max) {
  amax = 0;
  max = 0;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
}

// Stores 32 4-bit codes in the "low nibbles = elements 0..15, high nibbles = 16..31" order.
void pack_nibbles32(const uint8_t* q, uint8_t* qs) {
  for (int j = 0; j < 16; ++j) qs[j] = static_cast<uint8_t>(q[j] | (q[j + 16] << 4));
}

void q_f32(const float* x, uint8_t* dst, uint64_t n) { std::memcpy(dst, x, n * sizeof(float)); }

void q_f16(const float* x, uint8_t* dst, uint64_t n) {
  for (uint64_t i = 0; i < n; ++i) {
    const uint16_t h = fp32_to_fp16(x[i]);
    std::memcpy(dst + 2 * i, &h, 2);
  }
}

void q_bf16(const float* x, uint8_t* dst, uint64_t n) {
  for (uint64_t i = 0; i < n; ++i) {
    const uint16_t h = fp32_to_bf16(x[i]);
    std::memcpy(dst + 2 * i, &h, 2);
  }
}

void q_q8_0(const float* x, uint8_t* dst, uint64_t nb) {
  for (uint64_t i = 0; i < nb; ++i, x += 32) {
    float amax, max;
    signed_absmax(x, 32, amax, max);
    const float d = amax / 127;
    const float id = d != 0 ? 1 / d : 0;
    BlockQ8_0 b;
    b.d = scale_to_fp16(d);
    for (int e = 0; e < 32; ++e) b.qs[e] = static_cast<int8_t>(std::round(x[e] * id));
    store(dst, i, b);
  }
}

void q_q8_1(const float* x, uint8_t* dst, uint64_t nb) {
  for (uint64_t i = 0; i < nb; ++i, x += 32) {
    float amax, max;
    signed_absmax(x, 32, amax, max);
    const float d = amax / 127;
    const float id = d != 0 ? 1 / d : 0;
    BlockQ8_1 b;
    int sum = 0;
    for (int e = 0; e < 32; ++e) {
      b.qs[e] = static_cast<int8_t>(std::round(x[e] * id));
      sum += b.qs[e];
    }
    b.d = scale_to_fp16(d);
    b.s = scale_to_fp16(static_cast<float>(sum) * d);
    store(dst, i, b);
  }
}

void q_q4_0(const float* x, uint8_t* dst, uint64_t nb) {
  for (uint64_t i = 0; i < nb; ++i, x += 32) {
    float amax, max;
    signed_absmax(x, 32, amax, max);
    const float d = max / -8;  // the largest magnitude lands exactly on code 0 (value -8*d)
    const float id = d != 0 ? 1 / d : 0;
    BlockQ4_0 b;
    b.d = scale_to_fp16(d);
    uint8_t q[32];
    for (int e = 0; e < 32; ++e) q[e] = static_cast<uint8_t>(std::min(15, static_cast<int>(x[e] * id + 8.5f)));
    pack_nibbles32(q, b.qs);
    store(dst, i, b);
  }
}

void q_q4_1(const float* x, uint8_t* dst, uint64_t nb) {
  for (uint64_t i = 0; i < nb; ++i, x += 32) {
    const auto [lo, hi] = std::minmax_element(x, x + 32);
    const float min = *lo, d = (*hi - min) / 15;
    const float id = d != 0 ? 1 / d : 0;
    BlockQ4_1 b;
    b.d = scale_to_fp16(d);
    b.m = scale_to_fp16(min);
    uint8_t q[32];
    for (int e = 0; e < 32; ++e)
      q[e] = static_cast<uint8_t>(std::min(15, static_cast<int>((x[e] - min) * id + 0.5f)));
    pack_nibbles32(q, b.qs);
    store(dst, i, b);
  }
}

void q_q5_0(const float* x, uint8_t* dst, uint64_t nb) {
  for (uint64_t i = 0; i < nb; ++i, x += 32) {
    float amax, max;
    signed_absmax(x, 32, amax, max);
    const float d = max / -16;
    const float id = d != 0 ? 1 / d : 0;
    BlockQ5_0 b;
    b.d = scale_to_fp16(d);
    uint8_t q[32];
    uint32_t qh = 0;
    for (int e = 0; e < 32; ++e) {
      const int v = std::min(31, static_cast<int>(x[e] * id + 16.5f));
      q[e] = static_cast<uint8_t>(v & 0xF);
      qh |= static_cast<uint32_t>(v >> 4) << e;
    }
    pack_nibbles32(q, b.qs);
    std::memcpy(b.qh, &qh, 4);
    store(dst, i, b);
  }
}

void q_q5_1(const float* x, uint8_t* dst, uint64_t nb) {
  for (uint64_t i = 0; i < nb; ++i, x += 32) {
    const auto [lo, hi] = std::minmax_element(x, x + 32);
    const float min = *lo, d = (*hi - min) / 31;
    const float id = d != 0 ? 1 / d : 0;
    BlockQ5_1 b;
    b.d = scale_to_fp16(d);
    b.m = scale_to_fp16(min);
    uint8_t q[32];
    uint32_t qh = 0;
    for (int e = 0; e < 32; ++e) {
      const int v = std::min(31, static_cast<int>((x[e] - min) * id + 0.5f));
      q[e] = static_cast<uint8_t>(v & 0xF);
      qh |= static_cast<uint32_t>(v >> 4) << e;
    }
    pack_nibbles32(q, b.qs);
    std::memcpy(b.qh, &qh, 4);
    store(dst, i, b);
  }
}

void q_q8_k(const float* x, uint8_t* dst, uint64_t nb) {
  for (uint64_t i = 0; i < nb; ++i, x += 256) {
    float amax, max;
    signed_absmax(x, 256, amax, max);
    BlockQ8_K b{};
    if (amax != 0) {
      const float iscale = -127.0f / max;
      for (int e = 0; e < 256; ++e) b.qs[e] = static_cast<int8_t>(std::min(127, nearest_int(iscale * x[e])));
      b.d = 1 / iscale;
      for (int g = 0; g < 16; ++g) {
        int sum = 0;
        for (int e = 0; e < 16; ++e) sum += b.qs[16 * g + e];
        b.bsums[g] = static_cast<int16_t>(sum);
      }
    }
    store(dst, i, b);
  }
}

// Code whose table value (times `d`) is nearest to x; ties keep the lower code.
template <size_t N>
uint8_t nearest_code(const int8_t (&table)[N], float x, float d) {
  uint8_t best = 0;
  float best_err = std::fabs(static_cast<float>(table[0]) * d - x);
  for (size_t c = 1; c < N; ++c) {
    const float err = std::fabs(static_cast<float>(table[c]) * d - x);
    if (err < best_err) {
      best_err = err;
      best = static_cast<uint8_t>(c);
    }
  }
  return best;
}

void q_mxfp4(const float* x, uint8_t* dst, uint64_t nb) {
  for (uint64_t i = 0; i < nb; ++i, x += 32) {
    float amax, max;
    signed_absmax(x, 32, amax, max);
    // OCP MX rule: shared exponent = floor(log2(amax)) - 2 (E2M1's largest exponent), biased by 127.
    int e = amax > 0 ? static_cast<int>(std::floor(std::log2(amax))) - 2 + 127 : 0;
    e = std::clamp(e, 0, 254);
    BlockMXFP4 b;
    b.e = static_cast<uint8_t>(e);
    const float d = mxfp4_half_scale(b.e);
    uint8_t q[32];
    for (int k = 0; k < 32; ++k) q[k] = nearest_code(kMxfp4Values, x[k], d);
    pack_nibbles32(q, b.qs);
    store(dst, i, b);
  }
}

// Nearest IQ4_NL code of v (in table units): the number of table midpoints below v (ties keep the lower code).
inline uint8_t iq4nl_code(float v) {
  static constexpr float kMid[15] = {-115.5f, -93.5f, -74.0f, -57.0f, -42.0f, -28.5f, -16.0f, -4.5f,
                                     7.0f,    19.0f,  31.5f,  45.5f,  61.0f,  79.0f,  101.0f};
  int c = v > kMid[7] ? 8 : 0;  // binary search over the 15 midpoints
  c += v > kMid[c + 3] ? 4 : 0;
  c += v > kMid[c + 1] ? 2 : 0;
  c += v > kMid[c] ? 1 : 0;
  return static_cast<uint8_t>(c);
}

// IQ4_NL fit of 32 values: x^2-weighted least squares over 15 candidate grids; returns the scale (its
// sign maps the largest magnitude onto the table's negative end) and the codes of the best grid.
float fit_iq4nl(const float* x, uint8_t* codes) {
  float amax, max;
  signed_absmax(x, 32, amax, max);
  if (amax < kGroupEps) {
    std::fill(codes, codes + 32, iq4nl_code(0.0f));
    return 0;
  }
  float best_d = 0, best = -1, best_id = 0;
  constexpr int kTries = 7;
  for (int t = -kTries; t <= kTries; ++t) {
    // Grid t maps the largest magnitude to table value (-127 + t).
    const float id = (static_cast<float>(t) + static_cast<float>(kIq4nlValues[0])) / max;
    float sum_qx = 0, sum_q2 = 0;
    for (int k = 0; k < 32; ++k) {
      const float q = kIq4nlValues[iq4nl_code(id * x[k])];
      const float w = x[k] * x[k];
      sum_qx += w * q * x[k];
      sum_q2 += w * q * q;
    }
    if (sum_q2 > 0 && (best < 0 || sum_qx * sum_qx > best * sum_q2)) {
      best_d = sum_qx / sum_q2;
      best = best_d * sum_qx;
      best_id = id;
    }
  }
  for (int k = 0; k < 32; ++k) codes[k] = iq4nl_code(best_id * x[k]);
  return best_d;
}

// Codes of x[0..n) against the stored scale d (unchanged when d is 0: they then decode to 0 anyway).
void iq4nl_requantize(const float* x, int n, float d, uint8_t* codes) {
  if (d == 0) return;
  const float id = 1 / d;
  for (int k = 0; k < n; ++k) codes[k] = iq4nl_code(x[k] * id);
}

void q_iq4_nl(const float* x, uint8_t* dst, uint64_t nb) {
  for (uint64_t i = 0; i < nb; ++i, x += 32) {
    uint8_t q[32];
    const float d = fit_iq4nl(x, q);
    BlockIQ4_NL b;
    b.d = scale_to_fp16(d);
    iq4nl_requantize(x, 32, fp16_to_fp32(b.d), q);  // final codes against the scale actually stored
    pack_nibbles32(q, b.qs);
    store(dst, i, b);
  }
}

// IQ4_XS: IQ4_NL fits per 32-element sub-block, whose scales are then quantized to 6 bits (ls - 32) against
// one f16 super-block scale; codes are re-derived from the stored scales.
void q_iq4_xs(const float* x, uint8_t* dst, uint64_t nb) {
  uint8_t codes[256];
  float scales[8];
  for (uint64_t i = 0; i < nb; ++i, x += 256) {
    float max_scale = 0, amax = 0;
    for (int sb = 0; sb < 8; ++sb) {
      scales[sb] = fit_iq4nl(x + 32 * sb, codes + 32 * sb);
      if (std::fabs(scales[sb]) > amax) {
        amax = std::fabs(scales[sb]);
        max_scale = scales[sb];
      }
    }
    BlockIQ4_XS b{};
    b.d = scale_to_fp16(-max_scale / 32);  // the largest sub-block scale becomes ls - 32 = -32
    const float d = fp16_to_fp32(b.d);
    for (int sb = 0; sb < 8; ++sb) {
      const int l = d != 0 ? std::clamp(nearest_int(scales[sb] / d), -32, 31) : 0;
      const int ls = l + 32;
      b.scales_l[sb / 2] |= static_cast<uint8_t>((ls & 0xF) << (4 * (sb % 2)));
      b.scales_h |= static_cast<uint16_t>((ls >> 4) << (2 * sb));
      iq4nl_requantize(x + 32 * sb, 32, d * static_cast<float>(l), codes + 32 * sb);
      for (int k = 0; k < 16; ++k)
        b.qs[16 * sb + k] = static_cast<uint8_t>(codes[32 * sb + k] | (codes[32 * sb + 16 + k] << 4));
    }
    store(dst, i, b);
  }
}

}  // namespace

QuantFn quant_fn_simple(DType type) {
  switch (type) {
    case DType::F32: return q_f32;
    case DType::F16: return q_f16;
    case DType::BF16: return q_bf16;
    case DType::Q4_0: return q_q4_0;
    case DType::Q4_1: return q_q4_1;
    case DType::Q5_0: return q_q5_0;
    case DType::Q5_1: return q_q5_1;
    case DType::Q8_0: return q_q8_0;
    case DType::Q8_1: return q_q8_1;
    case DType::Q8_K: return q_q8_k;
    case DType::MXFP4: return q_mxfp4;
    case DType::IQ4_NL: return q_iq4_nl;
    case DType::IQ4_XS: return q_iq4_xs;
    default: return nullptr;
  }
}

}  // namespace mixcl::quant::detail
