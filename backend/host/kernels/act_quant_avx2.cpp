// AVX2 activation quantization: the same arithmetic as act_quant.cpp (same products, round-half-even,
// same clamps, same first-largest-magnitude rule for Q8_K), so the codes and scales are bit-identical to
// the portable quantizer while no per-element libm call remains (nearbyint is a call at -march=x86-64).
#include <cstring>

#include "backend/host/kernels/act_quant.h"
#include "backend/host/kernels/avx2_common.h"

namespace mixcl::backend::kernels {
namespace avx2 {
namespace {

/// |v| lane-wise (clears the sign bit).
static inline __m256 abs_ps(__m256 v) {
  return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v);
}

/// Max of |v| over n (multiple of 8) floats; NaN lanes are ignored as std::fmax ignores them.
static inline float amax_of(const float* v, int n) {
  __m256 m = _mm256_setzero_ps();
  // max_ps returns its second operand when either is NaN: put the running max second.
  for (int i = 0; i < n; i += 8) m = _mm256_max_ps(abs_ps(_mm256_loadu_ps(v + i)), m);
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

/// Rounds 32 floats (already scaled) half-to-even, clamps to [lo, 127], packs them to 32 int8 in order
/// and returns their i32 partial sums. A NaN becomes lo when kLowFirst (fmin(127, fmax(lo, x)) in the
/// scalar code), else 127 (fmin(127, x)): max_ps/min_ps return their second operand on NaN.
template <bool kLowFirst>
static inline __m256i round_pack32(const __m256 x[4], __m256 lo, int8_t* dst) {
  const __m256 hi = _mm256_set1_ps(127.0f);
  __m256i q[4];
  for (int j = 0; j < 4; ++j) {
    const __m256 r = _mm256_round_ps(x[j], _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m256 c =
        kLowFirst ? _mm256_min_ps(_mm256_max_ps(r, lo), hi) : _mm256_max_ps(_mm256_min_ps(r, hi), lo);
    q[j] = _mm256_cvttps_epi32(c);
  }
  // packs interleave 128-bit halves: 0 2 | 1 3 order per 4-lane group; permute back to 0..31.
  const __m256i p01 = _mm256_packs_epi32(q[0], q[1]), p23 = _mm256_packs_epi32(q[2], q[3]);
  const __m256i p = _mm256_packs_epi16(p01, p23);
  const __m256i ordered = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), ordered);
  return _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
}

static inline int hsum_i32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

void quantize_q8x32(const float* x, uint64_t n, ActQ8x32* out) {
  const __m256 lo = _mm256_set1_ps(-127.0f);
  for (uint64_t b = 0; b < n / 32; ++b) {
    const float* v = x + b * 32;
    const float d = amax_of(v, 32) / 127.0f;
    const float id = d > 0.0f ? 1.0f / d : 0.0f;
    const __m256 vid = _mm256_set1_ps(id);
    __m256 s[4];
    for (int j = 0; j < 4; ++j) s[j] = _mm256_mul_ps(_mm256_loadu_ps(v + 8 * j), vid);
    const int sum = hsum_i32(round_pack32<true>(s, lo, out[b].qs));
    out[b].d = d;
    out[b].s = d * static_cast<float>(sum);
  }
}

void quantize_q8k(const float* x, uint64_t n, BlockQ8_K* out) {
  const __m256 lo = _mm256_set1_ps(-128.0f);  // never reached: |iscale·v| <= 127 up to rounding
  for (uint64_t b = 0; b < n / 256; ++b) {
    const float* v = x + b * 256;
    BlockQ8_K& o = out[b];
    const float amax = amax_of(v, 256);
    if (!(amax > 0.0f)) {
      std::memset(&o, 0, sizeof(o));
      continue;
    }
    // The first element whose magnitude is amax gives the sign, as the scalar scan does.
    float max = 0.0f;
    const __m256 va = _mm256_set1_ps(amax);
    for (int i = 0; i < 256; i += 8) {
      const int mask = _mm256_movemask_ps(_mm256_cmp_ps(abs_ps(_mm256_loadu_ps(v + i)), va, _CMP_EQ_OQ));
      if (mask) {
        max = v[i + __builtin_ctz(static_cast<unsigned>(mask))];
        break;
      }
    }
    const float iscale = -127.0f / max;
    const __m256 vs = _mm256_set1_ps(iscale);
    for (int c = 0; c < 8; ++c) {
      __m256 s[4];
      for (int j = 0; j < 4; ++j) s[j] = _mm256_mul_ps(vs, _mm256_loadu_ps(v + 32 * c + 8 * j));
      round_pack32<false>(s, lo, o.qs + 32 * c);
    }
    // bsums: 16-element group sums of the stored codes.
    for (int g = 0; g < 16; ++g) {
      const __m256i q0 =
          _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(o.qs + 16 * g)));
      const __m256i q1 =
          _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(o.qs + 16 * g + 8)));
      o.bsums[g] = static_cast<int16_t>(hsum_i32(_mm256_add_epi32(q0, q1)));
    }
    o.d = 1.0f / iscale;
  }
}

}  // namespace
}  // namespace avx2

/// AVX2 twin of quantize_act_row (bit-identical output). Call only on CPUs with AVX2.
void quantize_act_row_avx2(ActKind kind, const float* x, uint64_t cols, uint8_t* dst) {
  switch (kind) {
    case ActKind::kF32:
      std::memcpy(dst, x, cols * 4);
      break;
    case ActKind::kQ8x32:
      avx2::quantize_q8x32(x, cols, reinterpret_cast<ActQ8x32*>(dst));
      break;
    case ActKind::kQ8K:
      avx2::quantize_q8k(x, cols, reinterpret_cast<BlockQ8_K*>(dst));
      break;
  }
}

}  // namespace mixcl::backend::kernels
