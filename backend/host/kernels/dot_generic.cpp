// Portable scalar kernels: decode each weight block to f32 (gguf.md §4), dot it with the dequantized
// activation block in f32 and scale per block. A different route to the same sum as the integer SIMD
// kernels, so the two paths check each other.
#include <cstring>

#include "backend/host/kernels/dot_kernels.h"
#include "common/dtype.h"
#include "common/half.h"
#include "common/quant_blocks.h"

namespace mixcl::backend::kernels {
namespace {

// ---- block decoders: one block -> B floats ----

template <class Block>
const Block& as_block(const uint8_t* p) {
  return *reinterpret_cast<const Block*>(p);
}

inline int nib32(const uint8_t* qs, int e) {
  return e < 16 ? (qs[e] & 0xF) : (qs[e - 16] >> 4);
}

void decode_q8_0(const uint8_t* p, float* y) {
  const auto& b = as_block<BlockQ8_0>(p);
  const float d = fp16_to_fp32(b.d);
  for (int e = 0; e < 32; ++e) y[e] = d * b.qs[e];
}
void decode_q4_0(const uint8_t* p, float* y) {
  const auto& b = as_block<BlockQ4_0>(p);
  const float d = fp16_to_fp32(b.d);
  for (int e = 0; e < 32; ++e) y[e] = d * static_cast<float>(nib32(b.qs, e) - 8);
}
void decode_q4_1(const uint8_t* p, float* y) {
  const auto& b = as_block<BlockQ4_1>(p);
  const float d = fp16_to_fp32(b.d), m = fp16_to_fp32(b.m);
  for (int e = 0; e < 32; ++e) y[e] = d * static_cast<float>(nib32(b.qs, e)) + m;
}
void decode_q5_0(const uint8_t* p, float* y) {
  const auto& b = as_block<BlockQ5_0>(p);
  const float d = fp16_to_fp32(b.d);
  uint32_t qh;
  std::memcpy(&qh, b.qh, 4);
  for (int e = 0; e < 32; ++e)
    y[e] = d * static_cast<float>((nib32(b.qs, e) | static_cast<int>(((qh >> e) & 1) << 4)) - 16);
}
void decode_q5_1(const uint8_t* p, float* y) {
  const auto& b = as_block<BlockQ5_1>(p);
  const float d = fp16_to_fp32(b.d), m = fp16_to_fp32(b.m);
  uint32_t qh;
  std::memcpy(&qh, b.qh, 4);
  for (int e = 0; e < 32; ++e)
    y[e] = d * static_cast<float>(nib32(b.qs, e) | static_cast<int>(((qh >> e) & 1) << 4)) + m;
}
void decode_mxfp4(const uint8_t* p, float* y) {
  const auto& b = as_block<BlockMXFP4>(p);
  // 2^(E-128) built from bits; E = 0 and 1 are the subnormals 2^-128, 2^-127.
  const uint32_t bits = b.e >= 2 ? static_cast<uint32_t>(b.e - 1) << 23 : 0x00200000u << b.e;
  float scale;
  std::memcpy(&scale, &bits, 4);
  for (int e = 0; e < 32; ++e) y[e] = static_cast<float>(kMxfp4Values[nib32(b.qs, e)]) * scale;
}
void decode_iq4_nl(const uint8_t* p, float* y) {
  const auto& b = as_block<BlockIQ4_NL>(p);
  const float d = fp16_to_fp32(b.d);
  for (int e = 0; e < 32; ++e) y[e] = d * static_cast<float>(kIq4nlValues[nib32(b.qs, e)]);
}

void decode_q2_k(const uint8_t* p, float* y) {
  const auto& b = as_block<BlockQ2_K>(p);
  const float d = fp16_to_fp32(b.d), dmin = fp16_to_fp32(b.dmin);
  for (int e = 0; e < 256; ++e) {
    const int n = e / 128, j = (e / 32) % 4, h = (e / 16) % 2, l = e % 16, g = e / 16;
    const int q = (b.qs[32 * n + 16 * h + l] >> (2 * j)) & 3;
    y[e] = d * static_cast<float>(b.scales[g] & 0xF) * static_cast<float>(q) -
           dmin * static_cast<float>(b.scales[g] >> 4);
  }
}
void decode_q3_k(const uint8_t* p, float* y) {
  const auto& b = as_block<BlockQ3_K>(p);
  const float d = fp16_to_fp32(b.d);
  for (int e = 0; e < 256; ++e) {
    const int n = e / 128, j = (e / 32) % 4, h = (e / 16) % 2, l = e % 16, g = e / 16;
    const int lo4 = g < 8 ? (b.scales[g] & 0xF) : (b.scales[g - 8] >> 4);
    const int hi2 = (b.scales[8 + g % 4] >> (2 * (g / 4))) & 3;
    const int sc = (lo4 | (hi2 << 4)) - 32;
    const int q2 = (b.qs[32 * n + 16 * h + l] >> (2 * j)) & 3;
    const int hbit = (b.hmask[16 * h + l] >> (4 * n + j)) & 1;
    y[e] = d * static_cast<float>(sc) * static_cast<float>(q2 - (hbit ? 0 : 4));
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
void decode_q4_k(const uint8_t* p, float* y) {
  const auto& b = as_block<BlockQ4_K>(p);
  const float d = fp16_to_fp32(b.d), dmin = fp16_to_fp32(b.dmin);
  for (int e = 0; e < 256; ++e) {
    const int c = e / 64, h = (e / 32) % 2, l = e % 32;
    int sc, m;
    scale_min_k4(b.scales, e / 32, &sc, &m);
    const uint8_t byte = b.qs[32 * c + l];
    const int q = h == 0 ? (byte & 0xF) : (byte >> 4);
    y[e] = d * static_cast<float>(sc) * static_cast<float>(q) - dmin * static_cast<float>(m);
  }
}
void decode_q5_k(const uint8_t* p, float* y) {
  const auto& b = as_block<BlockQ5_K>(p);
  const float d = fp16_to_fp32(b.d), dmin = fp16_to_fp32(b.dmin);
  for (int e = 0; e < 256; ++e) {
    const int c = e / 64, h = (e / 32) % 2, l = e % 32;
    int sc, m;
    scale_min_k4(b.scales, e / 32, &sc, &m);
    const uint8_t byte = b.qs[32 * c + l];
    const int q = (h == 0 ? (byte & 0xF) : (byte >> 4)) + 16 * ((b.qh[l] >> (2 * c + h)) & 1);
    y[e] = d * static_cast<float>(sc) * static_cast<float>(q) - dmin * static_cast<float>(m);
  }
}
void decode_q6_k(const uint8_t* p, float* y) {
  const auto& b = as_block<BlockQ6_K>(p);
  const float d = fp16_to_fp32(b.d);
  for (int e = 0; e < 256; ++e) {
    const int n = e / 128, k = (e / 32) % 4, l = e % 32;
    const uint8_t byte = b.ql[64 * n + 32 * (k & 1) + l];
    const int low4 = k < 2 ? (byte & 0xF) : (byte >> 4);
    const int hi2 = (b.qh[32 * n + l] >> (2 * k)) & 3;
    y[e] = d * static_cast<float>(b.scales[e / 16]) * static_cast<float>((low4 | (hi2 << 4)) - 32);
  }
}
void decode_iq4_xs(const uint8_t* p, float* y) {
  const auto& b = as_block<BlockIQ4_XS>(p);
  const float d = fp16_to_fp32(b.d);
  for (int e = 0; e < 256; ++e) {
    const int sb = e / 32, h = (e / 16) % 2, l = e % 16;
    const int ls = ((b.scales_l[sb / 2] >> (4 * (sb % 2))) & 0xF) | (((b.scales_h >> (2 * sb)) & 3) << 4);
    const uint8_t byte = b.qs[16 * sb + l];
    const int code = h == 0 ? (byte & 0xF) : (byte >> 4);
    y[e] = d * static_cast<float>(ls - 32) * static_cast<float>(kIq4nlValues[code]);
  }
}

using DecodeFn = void (*)(const uint8_t*, float*);

// Quantized weights against 8-bit activations: per block, f32 Σ w*qa, then × d_a.
template <DecodeFn kDecode, int kElems, int kBytes, ActKind kAct>
void dot_quant(uint64_t cols, const uint8_t* w, const uint8_t* a, uint64_t a_stride, int ntok, float* out) {
  float acc[kMaxDotTokens] = {};
  float wf[kElems];
  const uint64_t nb = cols / kElems;
  for (uint64_t blk = 0; blk < nb; ++blk) {
    kDecode(w + blk * kBytes, wf);
    for (int t = 0; t < ntok; ++t) {
      const int8_t* qa;
      float da;
      if constexpr (kAct == ActKind::kQ8K) {
        const auto& ab = *reinterpret_cast<const BlockQ8_K*>(a + t * a_stride + blk * sizeof(BlockQ8_K));
        qa = ab.qs;
        da = ab.d;
      } else {
        const auto& ab = *reinterpret_cast<const ActQ8x32*>(a + t * a_stride + blk * sizeof(ActQ8x32));
        qa = ab.qs;
        da = ab.d;
      }
      float s = 0.0f;
      for (int e = 0; e < kElems; ++e) s += wf[e] * static_cast<float>(qa[e]);
      acc[t] += s * da;
    }
  }
  for (int t = 0; t < ntok; ++t) out[t] = acc[t];
}

float load_f32(const uint8_t* p, uint64_t i) {
  float v;
  std::memcpy(&v, p + 4 * i, 4);
  return v;
}
float load_f16(const uint8_t* p, uint64_t i) {
  uint16_t h;
  std::memcpy(&h, p + 2 * i, 2);
  return fp16_to_fp32(h);
}
float load_bf16(const uint8_t* p, uint64_t i) {
  uint16_t h;
  std::memcpy(&h, p + 2 * i, 2);
  return bf16_to_fp32(h);
}

// Float weights against f32 activations.
template <float (*kLoad)(const uint8_t*, uint64_t)>
void dot_float(uint64_t cols, const uint8_t* w, const uint8_t* a, uint64_t a_stride, int ntok, float* out) {
  for (int t = 0; t < ntok; ++t) {
    const float* x = reinterpret_cast<const float*>(a + t * a_stride);
    float s = 0.0f;
    for (uint64_t i = 0; i < cols; ++i) s += kLoad(w, i) * x[i];
    out[t] = s;
  }
}

}  // namespace

DotKernel generic_dot_kernel(uint32_t type) {
  constexpr auto k32 = ActKind::kQ8x32;
  constexpr auto k256 = ActKind::kQ8K;
  switch (static_cast<DType>(type)) {
    case DType::F32:
      return {ActKind::kF32, dot_float<load_f32>};
    case DType::F16:
      return {ActKind::kF32, dot_float<load_f16>};
    case DType::BF16:
      return {ActKind::kF32, dot_float<load_bf16>};
    case DType::Q8_0:
      return {k32, dot_quant<decode_q8_0, 32, 34, k32>};
    case DType::Q4_0:
      return {k32, dot_quant<decode_q4_0, 32, 18, k32>};
    case DType::Q4_1:
      return {k32, dot_quant<decode_q4_1, 32, 20, k32>};
    case DType::Q5_0:
      return {k32, dot_quant<decode_q5_0, 32, 22, k32>};
    case DType::Q5_1:
      return {k32, dot_quant<decode_q5_1, 32, 24, k32>};
    case DType::MXFP4:
      return {k32, dot_quant<decode_mxfp4, 32, 17, k32>};
    case DType::IQ4_NL:
      return {k32, dot_quant<decode_iq4_nl, 32, 18, k32>};
    case DType::Q2_K:
      return {k256, dot_quant<decode_q2_k, 256, 84, k256>};
    case DType::Q3_K:
      return {k256, dot_quant<decode_q3_k, 256, 110, k256>};
    case DType::Q4_K:
      return {k256, dot_quant<decode_q4_k, 256, 144, k256>};
    case DType::Q5_K:
      return {k256, dot_quant<decode_q5_k, 256, 176, k256>};
    case DType::Q6_K:
      return {k256, dot_quant<decode_q6_k, 256, 210, k256>};
    case DType::IQ4_XS:
      return {k256, dot_quant<decode_iq4_xs, 256, 136, k256>};
    default:
      return {};
  }
}

}  // namespace mixcl::backend::kernels
