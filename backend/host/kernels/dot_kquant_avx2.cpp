// AVX2 kernels for the 256-element K-quant formats against Q8_K activations (gguf.md §4.7, §5.2).
// Each super-block is decoded once into unsigned 8-bit codes plus 16-bit scale vectors, then dotted
// with up to 4 tokens; offsets and mins are applied through the activation's bsums.
#include "backend/host/kernels/avx2_common.h"
#include "common/dtype.h"
#include "common/quant_blocks.h"

namespace mixcl::backend::kernels {
namespace avx2 {
namespace {

/// Activation super-block `blk` of token row `t`.
static inline const BlockQ8_K& act_block(const uint8_t* a, uint64_t a_stride, int t, uint64_t blk) {
  return reinterpret_cast<const BlockQ8_K*>(a + t * a_stride)[blk];
}

/// 16 i16 lanes: lanes 0..7 = s[g], lanes 8..15 = s[g+1] (one 32-code run spans two 16-groups).
static inline __m256i scale_pair(const int16_t* s, int g) {
  return _mm256_set_m128i(_mm_set1_epi16(s[g + 1]), _mm_set1_epi16(s[g]));
}

/// A decoded super-block: 8 runs of 32 codes (elements 32r..32r+31; unsigned, or signed when Dec::kSigned)
/// and their i16 scales.
struct Decoded {
  __m256i q[8];
  __m256i sc[8];   // per-run scale vector for madd
  __m256i bias16;  // 16 i16 lanes multiplied with bsums: the per-16-group offset/min terms
  float d;         // multiplies Σ sc*Σq*qa
  float dbias;     // multiplies Σ bias16*bsums
};

template <class Dec, int N>
static void run_k(uint64_t cols, const uint8_t* w, const uint8_t* a, uint64_t a_stride, float* out) {
  const uint64_t nb = cols / 256;
  __m256 acc[N];
  for (int t = 0; t < N; ++t) acc[t] = _mm256_setzero_ps();
  Decoded dec;
  for (uint64_t blk = 0; blk < nb; ++blk) {
    Dec::decode(w + blk * Dec::kBytes, dec);
    const BlockQ8_K* ab[N];
    __m256i sumi[N];
    for (int t = 0; t < N; ++t) {
      ab[t] = &act_block(a, a_stride, t, blk);
      sumi[t] = _mm256_setzero_si256();
    }
    // Run-outer, token-inner: each decoded run is loaded once for all tokens.
    for (int r = 0; r < 8; ++r) {
      const __m256i q = dec.q[r], sc = dec.sc[r];
      const __m256i qabs = Dec::kSigned ? _mm256_sign_epi8(q, q) : q;
      for (int t = 0; t < N; ++t) {
        const __m256i qa = load256(ab[t]->qs + 32 * r);
        const __m256i p = _mm256_maddubs_epi16(qabs, Dec::kSigned ? _mm256_sign_epi8(qa, q) : qa);
        sumi[t] = _mm256_add_epi32(sumi[t], _mm256_madd_epi16(p, sc));
      }
    }
    for (int t = 0; t < N; ++t) {
      acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(dec.d * ab[t]->d), _mm256_cvtepi32_ps(sumi[t]), acc[t]);
      if constexpr (Dec::kBias) {
        const __m256i bias = _mm256_madd_epi16(load256(ab[t]->bsums), dec.bias16);
        acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(dec.dbias * ab[t]->d), _mm256_cvtepi32_ps(bias), acc[t]);
      }
    }
  }
  for (int t = 0; t < N; ++t) out[t] = hsum(acc[t]);
}

/// Q4_K on its own path (the format that matters most for decode): scales unpacked with 32-bit
/// arithmetic, per-run scale vectors by byte shuffle, nibbles split once per 64 elements for all tokens.
template <int N>
static void run_q4k(uint64_t cols, const uint8_t* w, const uint8_t* a, uint64_t a_stride, float* out) {
  const uint64_t nb = cols / 256;
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  // Byte-shuffle controls: broadcast i16 lane r of a 128-bit half to all 8 lanes.
  __m256i bcast[8];
  for (int r = 0; r < 8; ++r) bcast[r] = _mm256_set1_epi16(static_cast<int16_t>((2 * r + 1) << 8 | (2 * r)));
  const __m128i dup_mins = _mm_setr_epi8(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15);
  __m256 acc[N];
  for (int t = 0; t < N; ++t) acc[t] = _mm256_setzero_ps();
  for (uint64_t blk = 0; blk < nb; ++blk) {
    const auto& b = reinterpret_cast<const BlockQ4_K*>(w)[blk];
    if constexpr (N == 1) {  // decode streams from DRAM: ask for the lines 4 super-blocks ahead
      prefetch_ahead(b.scales);
      prefetch_ahead(b.qs + 60);
      prefetch_ahead(b.qs + 124);
    }
    // 12 packed bytes -> bytes 0..7 = 6-bit scales, 8..15 = 6-bit mins (gguf.md §4.7.3).
    uint32_t u[4];
    __builtin_memcpy(u, b.scales, 12);
    u[3] = ((u[2] >> 4) & 0x0f0f0f0f) | (((u[1] >> 6) & 0x03030303) << 4);
    const uint32_t mins_lo = u[1] & 0x3f3f3f3f;
    u[1] = (u[2] & 0x0f0f0f0f) | (((u[0] >> 6) & 0x03030303) << 4);
    u[2] = mins_lo;
    u[0] &= 0x3f3f3f3f;
    const __m128i sm = _mm_loadu_si128(reinterpret_cast<const __m128i*>(u));
    const __m256i sc16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sm));
    const __m256i mins16 = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(sm, dup_mins));
    const float d = f16(b.d), dmin = f16(b.dmin);
    const BlockQ8_K* ab[N];
    __m256i sumi[N];
    for (int t = 0; t < N; ++t) {
      ab[t] = &act_block(a, a_stride, t, blk);
      sumi[t] = _mm256_setzero_si256();
    }
    for (int c = 0; c < 4; ++c) {
      const __m256i v = load256(b.qs + 32 * c);
      const __m256i lo = _mm256_and_si256(v, m4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
      const __m256i s_lo = _mm256_shuffle_epi8(sc16, bcast[2 * c]);
      const __m256i s_hi = _mm256_shuffle_epi8(sc16, bcast[2 * c + 1]);
      for (int t = 0; t < N; ++t) {
        const __m256i p_lo = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, load256(ab[t]->qs + 64 * c)), s_lo);
        const __m256i p_hi =
            _mm256_madd_epi16(_mm256_maddubs_epi16(hi, load256(ab[t]->qs + 64 * c + 32)), s_hi);
        sumi[t] = _mm256_add_epi32(sumi[t], _mm256_add_epi32(p_lo, p_hi));
      }
    }
    for (int t = 0; t < N; ++t) {
      const __m256 da = _mm256_broadcast_ss(&ab[t]->d);
      const __m256i bias = _mm256_madd_epi16(load256(ab[t]->bsums), mins16);
      acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_set1_ps(d), da), _mm256_cvtepi32_ps(sumi[t]), acc[t]);
      acc[t] = _mm256_fnmadd_ps(_mm256_mul_ps(_mm256_set1_ps(dmin), da), _mm256_cvtepi32_ps(bias), acc[t]);
    }
  }
  for (int t = 0; t < N; ++t) out[t] = hsum(acc[t]);
}

/// Q6_K built in registers run by run (a whole decoded super-block would spill): 6-bit codes from the low
/// nibbles and the 2-bit high parts, per-16 i8 scales by byte shuffle, the +32 offset through bsums.
template <int N>
static void run_q6k(uint64_t cols, const uint8_t* w, const uint8_t* a, uint64_t a_stride, float* out) {
  const uint64_t nb = cols / 256;
  const __m256i m4 = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30);
  // Shuffle controls for run k of a half: i16 lane 2k in the low 128 bits, lane 2k+1 in the high 128 bits.
  __m256i pick[4];
  for (int k = 0; k < 4; ++k)
    pick[k] = _mm256_set_m128i(_mm_set1_epi16(static_cast<int16_t>((4 * k + 3) << 8 | (4 * k + 2))),
                               _mm_set1_epi16(static_cast<int16_t>((4 * k + 1) << 8 | (4 * k))));
  __m256 acc[N];
  for (int t = 0; t < N; ++t) acc[t] = _mm256_setzero_ps();
  for (uint64_t blk = 0; blk < nb; ++blk) {
    const auto& b = reinterpret_cast<const BlockQ6_K*>(w)[blk];
    if constexpr (N == 1) {  // 210-byte blocks: the four lines a block can start in, kPrefetchBytes ahead
      prefetch_ahead(b.ql);
      prefetch_ahead(b.ql + 64);
      prefetch_ahead(b.qh);
      prefetch_ahead(b.qh + 63);
    }
    const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scales)));
    // Scales of each half (s[0..7], s[8..15]) in both 128-bit lanes, for the in-lane shuffles.
    const __m256i sc_half[2] = {_mm256_permute2x128_si256(sc16, sc16, 0x00),
                                _mm256_permute2x128_si256(sc16, sc16, 0x11)};
    const BlockQ8_K* ab[N];
    __m256i sumi[N];
    for (int t = 0; t < N; ++t) {
      ab[t] = &act_block(a, a_stride, t, blk);
      sumi[t] = _mm256_setzero_si256();
    }
    for (int n = 0; n < 2; ++n) {
      const __m256i ql0 = load256(b.ql + 64 * n), ql1 = load256(b.ql + 64 * n + 32);
      const __m256i qh = load256(b.qh + 32 * n);
      const __m256i sc = sc_half[n];
      const __m256i q[4] = {
          _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m30)),
          _mm256_or_si256(_mm256_and_si256(ql1, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m30)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4), _mm256_and_si256(qh, m30)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                          _mm256_and_si256(_mm256_srli_epi16(qh, 2), m30))};
      for (int k = 0; k < 4; ++k) {
        const __m256i s = _mm256_shuffle_epi8(sc, pick[k]);
        for (int t = 0; t < N; ++t) {
          const __m256i p = _mm256_maddubs_epi16(q[k], load256(ab[t]->qs + 128 * n + 32 * k));
          sumi[t] = _mm256_add_epi32(sumi[t], _mm256_madd_epi16(p, s));
        }
      }
    }
    const float d = f16(b.d);
    for (int t = 0; t < N; ++t) {
      const __m256 dd = _mm256_set1_ps(d * ab[t]->d);
      const __m256i bias = _mm256_madd_epi16(load256(ab[t]->bsums), sc16);
      acc[t] = _mm256_fmadd_ps(dd, _mm256_cvtepi32_ps(_mm256_sub_epi32(sumi[t], _mm256_slli_epi32(bias, 5))),
                               acc[t]);
    }
  }
  for (int t = 0; t < N; ++t) out[t] = hsum(acc[t]);
}

struct KernQ6K {
  template <int N>
  static void run(uint64_t cols, const uint8_t* w, const uint8_t* a, uint64_t a_stride, float* out) {
    run_q6k<N>(cols, w, a, a_stride, out);
  }
};

struct KernQ4K {
  template <int N>
  static void run(uint64_t cols, const uint8_t* w, const uint8_t* a, uint64_t a_stride, float* out) {
    run_q4k<N>(cols, w, a, a_stride, out);
  }
};

/// Kernel wrapper for dispatch_ntok.
template <class Dec>
struct KernK {
  template <int N>
  static void run(uint64_t cols, const uint8_t* w, const uint8_t* a, uint64_t a_stride, float* out) {
    run_k<Dec, N>(cols, w, a, a_stride, out);
  }
};

/// Fills sc[] from 16 per-group i16 scales.
static inline void scales_from_groups(const int16_t* s16, Decoded& dec) {
  for (int r = 0; r < 8; ++r) dec.sc[r] = scale_pair(s16, 2 * r);
}
/// Fills sc[] from 8 per-32 i16 scales.
static inline void scales_from_runs(const int16_t* s8, Decoded& dec) {
  for (int r = 0; r < 8; ++r) dec.sc[r] = _mm256_set1_epi16(s8[r]);
}

/// 6-bit scale/min pairs of Q4_K/Q5_K (gguf.md §4.7.3).
static inline void unpack_k4_scales(const uint8_t* s, int16_t* sc, int16_t* m) {
  for (int b = 0; b < 4; ++b) {
    sc[b] = s[b] & 63;
    m[b] = s[b + 4] & 63;
  }
  for (int b = 4; b < 8; ++b) {
    sc[b] = (s[b + 4] & 0xF) | ((s[b - 4] >> 6) << 4);
    m[b] = (s[b + 4] >> 4) | ((s[b] >> 6) << 4);
  }
}

/// bias16 for per-32 mins: group g (16 codes) gets the min of its run g/2.
static inline __m256i mins_per_group(const int16_t* m) {
  return _mm256_setr_epi16(m[0], m[0], m[1], m[1], m[2], m[2], m[3], m[3], m[4], m[4], m[5], m[5], m[6], m[6],
                           m[7], m[7]);
}

struct DecQ5K {
  static constexpr bool kSigned = false, kBias = true;
  static constexpr int kBytes = 176;
  static void decode(const uint8_t* p, Decoded& dec) {
    const auto& b = *reinterpret_cast<const BlockQ5_K*>(p);
    const __m256i mask = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
    const __m256i qh = load256(b.qh);
    for (int c = 0; c < 4; ++c) {
      const __m256i v = load256(b.qs + 32 * c);
      const __m256i h0 = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * c)), one);
      const __m256i h1 = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * c + 1)), one);
      dec.q[2 * c] = _mm256_or_si256(_mm256_and_si256(v, mask), _mm256_slli_epi16(h0, 4));
      dec.q[2 * c + 1] =
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(v, 4), mask), _mm256_slli_epi16(h1, 4));
    }
    int16_t sc[8], m[8];
    unpack_k4_scales(b.scales, sc, m);
    scales_from_runs(sc, dec);
    dec.bias16 = mins_per_group(m);
    dec.d = f16(b.d);
    dec.dbias = -f16(b.dmin);
  }
};

struct DecQ2K {
  static constexpr bool kSigned = false, kBias = true;
  static constexpr int kBytes = 84;
  static void decode(const uint8_t* p, Decoded& dec) {
    const auto& b = *reinterpret_cast<const BlockQ2_K*>(p);
    const __m256i m2 = _mm256_set1_epi8(0x03);
    for (int n = 0; n < 2; ++n) {
      const __m256i v = load256(b.qs + 32 * n);
      for (int j = 0; j < 4; ++j)
        dec.q[4 * n + j] = _mm256_and_si256(_mm256_srl_epi16(v, _mm_cvtsi32_si128(2 * j)), m2);
    }
    int16_t s16[16], m16[16];
    for (int g = 0; g < 16; ++g) {
      s16[g] = b.scales[g] & 0xF;
      m16[g] = b.scales[g] >> 4;
    }
    scales_from_groups(s16, dec);
    dec.bias16 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(m16));
    dec.d = f16(b.d);
    dec.dbias = -f16(b.dmin);
  }
};

struct DecQ3K {
  static constexpr bool kSigned = false, kBias = true;
  static constexpr int kBytes = 110;
  static void decode(const uint8_t* p, Decoded& dec) {
    const auto& b = *reinterpret_cast<const BlockQ3_K*>(p);
    const __m256i m2 = _mm256_set1_epi8(0x03), one = _mm256_set1_epi8(1);
    const __m256i hm = load256(b.hmask);
    for (int n = 0; n < 2; ++n) {
      const __m256i v = load256(b.qs + 32 * n);
      for (int j = 0; j < 4; ++j) {
        const __m256i q2 = _mm256_and_si256(_mm256_srl_epi16(v, _mm_cvtsi32_si128(2 * j)), m2);
        const __m256i hb = _mm256_and_si256(_mm256_srl_epi16(hm, _mm_cvtsi32_si128(4 * n + j)), one);
        // q + 4 = q2 + 4*hbit in 0..7; the +4 comes back out through bsums.
        dec.q[4 * n + j] = _mm256_or_si256(q2, _mm256_slli_epi16(hb, 2));
      }
    }
    int16_t s16[16];
    for (int g = 0; g < 16; ++g) {
      const int lo4 = g < 8 ? (b.scales[g] & 0xF) : (b.scales[g - 8] >> 4);
      const int hi2 = (b.scales[8 + g % 4] >> (2 * (g / 4))) & 3;
      s16[g] = static_cast<int16_t>((lo4 | (hi2 << 4)) - 32);
    }
    scales_from_groups(s16, dec);
    dec.bias16 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s16));
    dec.d = f16(b.d);
    dec.dbias = -4.0f * dec.d;
  }
};

struct DecIq4xs {
  static constexpr bool kSigned = true, kBias = false;
  static constexpr int kBytes = 136;
  static void decode(const uint8_t* p, Decoded& dec) {
    const auto& b = *reinterpret_cast<const BlockIQ4_XS*>(p);
    const __m256i table =
        _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4nlValues)));
    int16_t s8[8];
    for (int r = 0; r < 8; ++r) {
      dec.q[r] = _mm256_shuffle_epi8(table, nibbles_32(b.qs + 16 * r));
      s8[r] = static_cast<int16_t>(
          (((b.scales_l[r / 2] >> (4 * (r % 2))) & 0xF) | (((b.scales_h >> (2 * r)) & 3) << 4)) - 32);
    }
    scales_from_runs(s8, dec);
    dec.d = f16(b.d);
  }
};

}  // namespace
}  // namespace avx2

/// AVX2 kernels for the 256-element formats (called from avx2_dot_kernel).
DotKernel avx2_dot_kernel_k(uint32_t type) {
  using namespace avx2;
  constexpr auto k256 = ActKind::kQ8K;
  switch (static_cast<DType>(type)) {
    case DType::Q2_K:
      return {k256, dispatch_ntok<KernK<DecQ2K>>};
    case DType::Q3_K:
      return {k256, dispatch_ntok<KernK<DecQ3K>>};
    case DType::Q4_K:
      return {k256, dispatch_ntok<KernQ4K>};
    case DType::Q5_K:
      return {k256, dispatch_ntok<KernK<DecQ5K>>};
    case DType::Q6_K:
      return {k256, dispatch_ntok<KernQ6K>};
    case DType::IQ4_XS:
      return {k256, dispatch_ntok<KernK<DecIq4xs>>};
    default:
      return {};
  }
}

}  // namespace mixcl::backend::kernels
