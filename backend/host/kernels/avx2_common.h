#pragma once
// Helpers shared by the *_avx2.cpp kernel files only (they are compiled with -mavx2 -mfma -mf16c).
// Everything here is `static` so no AVX2 instance of an inline function can be picked by the linker for
// code that runs on CPUs without AVX2.
#include <immintrin.h>

#include <cstdint>

#include "backend/host/kernels/dot_kernels.h"

namespace mixcl::backend::kernels::avx2 {

/// Sum of the 8 lanes.
static inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

/// IEEE half bits -> f32 (F16C).
static inline float f16(uint16_t h) {
  return _cvtsh_ss(h);
}

/// Unaligned 32-byte load.
static inline __m256i load256(const void* p) {
  return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}

/// Pairwise sums of signed×signed int8 products: 8 lanes of Σ over 4 bytes of x*y.
static inline __m256i dot_i8_signed(__m256i x, __m256i y) {
  // maddubs wants unsigned × signed: move x's sign onto y.
  const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
  return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

/// Unsigned (0..127) × signed int8 products summed over 4 bytes: 8 i32 lanes.
static inline __m256i dot_u8_i8(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

/// 16 bytes of packed nibbles -> 32 bytes: low nibbles in bytes 0..15, high nibbles in 16..31 (ggml order).
/// A broadcast load and one variable shift of the upper half: two ALU ops for 32 codes.
static inline __m256i nibbles_32(const uint8_t* qs) {
  const __m256i v = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qs)));
  return _mm256_and_si256(_mm256_srlv_epi64(v, _mm256_setr_epi64x(0, 0, 4, 4)), _mm256_set1_epi8(0x0F));
}

/// An IEEE half broadcast to 8 f32 lanes (no scalar round trip).
static inline __m256 bcast_f16(uint16_t h) {
  return _mm256_cvtph_ps(_mm_set1_epi16(static_cast<short>(h)));
}

/// Expands 32 bits to 32 bytes: byte i is 0xFF when bit i is set, else 0.
static inline __m256i bits_to_bytes(uint32_t x) {
  const __m256i shuf =
      _mm256_setr_epi64x(0x0000000000000000, 0x0101010101010101, 0x0202020202020202, 0x0303030303030303);
  __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(x)), shuf);
  bytes = _mm256_or_si256(bytes, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
  return _mm256_cmpeq_epi8(bytes, _mm256_set1_epi64x(-1));
}

/// How far ahead of the weight block being decoded the one-token (decode) kernels prefetch: the hardware
/// streamer alone leaves the core waiting on DRAM. It must cover DRAM latency x per-core stream rate: 576 B
/// lost 10-15% of whole-model decode against 2-4 KiB (docs/host_kernels.md).
constexpr int kPrefetchBytes = 3072;

/// Prefetches the weight line kPrefetchBytes ahead of p into L1.
static inline void prefetch_ahead(const void* p) {
  _mm_prefetch(static_cast<const char*>(p) + kPrefetchBytes, _MM_HINT_T0);
}

/// Runs Kern::template run<N>(...) for N = ntok (1..4).
template <class Kern>
static void dispatch_ntok(uint64_t cols, const uint8_t* w, const uint8_t* a, uint64_t a_stride, int ntok,
                          float* out) {
  switch (ntok) {
    case 1:
      Kern::template run<1>(cols, w, a, a_stride, out);
      break;
    case 2:
      Kern::template run<2>(cols, w, a, a_stride, out);
      break;
    case 3:
      Kern::template run<3>(cols, w, a, a_stride, out);
      break;
    default:
      Kern::template run<4>(cols, w, a, a_stride, out);
      break;
  }
}

}  // namespace mixcl::backend::kernels::avx2
