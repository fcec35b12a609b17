// AVX2 kernels for float weights (FMA) and 32-element block formats (8-bit integer dot products against
// ActQ8x32 activations). One decoded weight block is reused for up to 4 tokens.
#include "backend/host/kernels/avx2_common.h"
#include "common/dtype.h"
#include "common/quant_blocks.h"

namespace mixcl::backend::kernels {

DotKernel avx2_dot_kernel_k(uint32_t type);  // dot_kquant_avx2.cpp

namespace avx2 {
namespace {

// ---- float weights ----

struct LoadF32 {
  static constexpr int kBytes = 4;
  static __m256 load8(const uint8_t* p) { return _mm256_loadu_ps(reinterpret_cast<const float*>(p)); }
  static float load1(const uint8_t* p) {
    float v;
    __builtin_memcpy(&v, p, 4);
    return v;
  }
};
struct LoadF16 {
  static constexpr int kBytes = 2;
  static __m256 load8(const uint8_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static float load1(const uint8_t* p) {
    uint16_t h;
    __builtin_memcpy(&h, p, 2);
    return f16(h);
  }
};
struct LoadBF16 {
  static constexpr int kBytes = 2;
  static __m256 load8(const uint8_t* p) {
    const __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
  }
  static float load1(const uint8_t* p) {
    uint16_t h;
    __builtin_memcpy(&h, p, 2);
    const uint32_t bits = static_cast<uint32_t>(h) << 16;
    float v;
    __builtin_memcpy(&v, &bits, 4);
    return v;
  }
};

template <class L, int N>
void dot_float_n(uint64_t cols, const uint8_t* w, const uint8_t* a, uint64_t a_stride, float* out) {
  const float* x[N];
  for (int t = 0; t < N; ++t) x[t] = reinterpret_cast<const float*>(a + t * a_stride);
  // Two accumulators per token hide the FMA latency when N is small.
  __m256 acc0[N], acc1[N];
  for (int t = 0; t < N; ++t) acc0[t] = acc1[t] = _mm256_setzero_ps();
  uint64_t i = 0;
  for (; i + 16 <= cols; i += 16) {
    const __m256 w0 = L::load8(w + i * L::kBytes);
    const __m256 w1 = L::load8(w + (i + 8) * L::kBytes);
    for (int t = 0; t < N; ++t) {
      acc0[t] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x[t] + i), acc0[t]);
      acc1[t] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x[t] + i + 8), acc1[t]);
    }
  }
  for (; i + 8 <= cols; i += 8) {
    const __m256 w0 = L::load8(w + i * L::kBytes);
    for (int t = 0; t < N; ++t) acc0[t] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x[t] + i), acc0[t]);
  }
  for (int t = 0; t < N; ++t) {
    float s = hsum(_mm256_add_ps(acc0[t], acc1[t]));
    for (uint64_t j = i; j < cols; ++j) s += L::load1(w + j * L::kBytes) * x[t][j];
    out[t] = s;
  }
}

template <class L>
void dot_float(uint64_t cols, const uint8_t* w, const uint8_t* a, uint64_t a_stride, int ntok, float* out) {
  switch (ntok) {
    case 1:
      dot_float_n<L, 1>(cols, w, a, a_stride, out);
      break;
    case 2:
      dot_float_n<L, 2>(cols, w, a, a_stride, out);
      break;
    case 3:
      dot_float_n<L, 3>(cols, w, a, a_stride, out);
      break;
    default:
      dot_float_n<L, 4>(cols, w, a, a_stride, out);
      break;
  }
}

// ---- 32-element blocks: each Prep decodes one weight block into codes, a scale and an offset factor ----

/// One decoded weight block: codes (signed int8, or unsigned 0..127), scale (in all lanes), and the factor
/// of s_a.
struct Prepped {
  __m256i q;
  __m256 d;
  float off;  // added as off * s_a (s_a = d_a * Σqa): the min of Q4_1/Q5_1, or -8d / -16d for Q4_0/Q5_0
};

/// 2^(E-128) for every E8M0 byte E: the MXFP4 scale with kMxfp4Values' doubled magnitudes folded in.
/// E = 0, 1 give the subnormals 2^-128, 2^-127.
/// (A plain array built by a builtin at compile time: no library inline code in this -mavx2 file.)
struct E8m0Table {
  float v[256];
};
constexpr E8m0Table kE8m0Table = [] {
  E8m0Table t{};
  for (uint32_t e = 0; e < 256; ++e)
    t.v[e] = __builtin_bit_cast(float, e >= 2 ? (e - 1) << 23 : 0x00200000u << e);
  return t;
}();
constexpr const float* kE8m0Half = kE8m0Table.v;

struct PrepQ8_0 {
  static constexpr int kBytes = 34;
  static constexpr bool kSigned = true, kOffset = false;
  static Prepped prep(const uint8_t* p) {
    const auto& b = *reinterpret_cast<const BlockQ8_0*>(p);
    return {load256(b.qs), bcast_f16(b.d), 0.0f};
  }
};
struct PrepQ4_0 {
  static constexpr int kBytes = 18;
  static constexpr bool kSigned = false, kOffset = true;
  static Prepped prep(const uint8_t* p) {
    const auto& b = *reinterpret_cast<const BlockQ4_0*>(p);
    const __m256 d = bcast_f16(b.d);
    return {nibbles_32(b.qs), d, -8.0f * _mm256_cvtss_f32(d)};
  }
};
struct PrepQ4_1 {
  static constexpr int kBytes = 20;
  static constexpr bool kSigned = false, kOffset = true;
  static Prepped prep(const uint8_t* p) {
    const auto& b = *reinterpret_cast<const BlockQ4_1*>(p);
    return {nibbles_32(b.qs), bcast_f16(b.d), f16(b.m)};
  }
};
static inline __m256i q5_codes(const uint8_t* qs, const uint8_t* qh) {
  uint32_t bits;
  __builtin_memcpy(&bits, qh, 4);
  return _mm256_or_si256(nibbles_32(qs), _mm256_and_si256(bits_to_bytes(bits), _mm256_set1_epi8(0x10)));
}
struct PrepQ5_0 {
  static constexpr int kBytes = 22;
  static constexpr bool kSigned = false, kOffset = true;
  static Prepped prep(const uint8_t* p) {
    const auto& b = *reinterpret_cast<const BlockQ5_0*>(p);
    const __m256 d = bcast_f16(b.d);
    return {q5_codes(b.qs, b.qh), d, -16.0f * _mm256_cvtss_f32(d)};
  }
};
struct PrepQ5_1 {
  static constexpr int kBytes = 24;
  static constexpr bool kSigned = false, kOffset = true;
  static Prepped prep(const uint8_t* p) {
    const auto& b = *reinterpret_cast<const BlockQ5_1*>(p);
    return {q5_codes(b.qs, b.qh), bcast_f16(b.d), f16(b.m)};
  }
};
/// The e2m1 codes (doubled, signed int8) of kMxfp4Values in both 128-bit halves, for pshufb.
static inline __m256i mxfp4_table() {
  return _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kMxfp4Values)));
}
struct PrepMxfp4 {
  static constexpr int kBytes = 17;
  static constexpr bool kSigned = true, kOffset = false;
  static Prepped prep(const uint8_t* p) {
    const auto& b = *reinterpret_cast<const BlockMXFP4*>(p);
    return {_mm256_shuffle_epi8(mxfp4_table(), nibbles_32(b.qs)), _mm256_broadcast_ss(&kE8m0Half[b.e]), 0.0f};
  }
};
struct PrepIq4nl {
  static constexpr int kBytes = 18;
  static constexpr bool kSigned = true, kOffset = false;
  static Prepped prep(const uint8_t* p) {
    const auto& b = *reinterpret_cast<const BlockIQ4_NL*>(p);
    const __m256i table =
        _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4nlValues)));
    return {_mm256_shuffle_epi8(table, nibbles_32(b.qs)), bcast_f16(b.d), 0.0f};
  }
};

/// Σ over one block of weight codes × activation codes: 8 i32 lanes.
template <class P>
static inline __m256 block_sum(const Prepped& r, const ActQ8x32& ab) {
  const __m256i qa = load256(ab.qs);
  const __m256i s = P::kSigned ? dot_i8_signed(r.q, qa) : dot_u8_i8(r.q, qa);
  return _mm256_cvtepi32_ps(s);
}

template <class P, int N>
void dot32_n(uint64_t cols, const uint8_t* w, const uint8_t* a, uint64_t a_stride, float* out) {
  const uint64_t nb = cols / 32;
  const ActQ8x32* act[N];
#pragma GCC unroll 4
  for (int t = 0; t < N; ++t) act[t] = reinterpret_cast<const ActQ8x32*>(a + t * a_stride);
  __m256 acc[N];
  float off[N];
#pragma GCC unroll 4
  for (int t = 0; t < N; ++t) {
    acc[t] = _mm256_setzero_ps();
    off[t] = 0.0f;
  }
  uint64_t blk = 0;
  if constexpr (N == 1) {  // decode: two blocks per step on two accumulators hide the FMA latency
    __m256 acc1 = _mm256_setzero_ps();
    for (; blk + 2 <= nb; blk += 2) {
      prefetch_ahead(w + blk * P::kBytes);
      const Prepped r0 = P::prep(w + blk * P::kBytes), r1 = P::prep(w + (blk + 1) * P::kBytes);
      const ActQ8x32& a0 = act[0][blk];
      const ActQ8x32& a1 = act[0][blk + 1];
      acc[0] = _mm256_fmadd_ps(_mm256_mul_ps(r0.d, _mm256_broadcast_ss(&a0.d)), block_sum<P>(r0, a0), acc[0]);
      acc1 = _mm256_fmadd_ps(_mm256_mul_ps(r1.d, _mm256_broadcast_ss(&a1.d)), block_sum<P>(r1, a1), acc1);
      if constexpr (P::kOffset) off[0] += r0.off * a0.s + r1.off * a1.s;
    }
    acc[0] = _mm256_add_ps(acc[0], acc1);
  }
  for (; blk < nb; ++blk) {
    const Prepped r = P::prep(w + blk * P::kBytes);
    // The |w| half of the sign trick is shared by all tokens.
    const __m256i qabs = P::kSigned ? _mm256_sign_epi8(r.q, r.q) : r.q;
#pragma GCC unroll 4
    for (int t = 0; t < N; ++t) {
      const ActQ8x32& ab = act[t][blk];
      const __m256i qa = load256(ab.qs);
      const __m256i p = _mm256_maddubs_epi16(qabs, P::kSigned ? _mm256_sign_epi8(qa, r.q) : qa);
      const __m256i s = _mm256_madd_epi16(p, _mm256_set1_epi16(1));
      acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(r.d, _mm256_broadcast_ss(&ab.d)), _mm256_cvtepi32_ps(s), acc[t]);
      if constexpr (P::kOffset) off[t] += r.off * ab.s;
    }
  }
#pragma GCC unroll 4
  for (int t = 0; t < N; ++t) out[t] = hsum(acc[t]) + off[t];
}

/// MXFP4 decode (one token), four blocks per step on two accumulators: a block's 32 codes come from one
/// broadcast load, one variable shift, a mask and a table lookup; its scale is one table load.
void dot_mxfp4_1(uint64_t cols, const uint8_t* w, const uint8_t* a, float* out) {
  const uint64_t nb = cols / 32;
  const auto* blocks = reinterpret_cast<const BlockMXFP4*>(w);
  const auto* act = reinterpret_cast<const ActQ8x32*>(a);
  const __m256i table = mxfp4_table();
  const __m256i shift = _mm256_setr_epi64x(0, 0, 4, 4);
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  auto block = [&](uint64_t i) {
    const BlockMXFP4& b = blocks[i];
    const __m256i v = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs)));
    const __m256i q = _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srlv_epi64(v, shift), m4));
    const __m256i s = dot_i8_signed(q, load256(act[i].qs));
    return _mm256_mul_ps(_mm256_cvtepi32_ps(s), _mm256_broadcast_ss(&kE8m0Half[b.e]));
  };
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  uint64_t i = 0;
  for (; i + 4 <= nb; i += 4) {
    prefetch_ahead(blocks + i);
    acc0 = _mm256_fmadd_ps(block(i), _mm256_broadcast_ss(&act[i].d), acc0);
    acc1 = _mm256_fmadd_ps(block(i + 1), _mm256_broadcast_ss(&act[i + 1].d), acc1);
    acc0 = _mm256_fmadd_ps(block(i + 2), _mm256_broadcast_ss(&act[i + 2].d), acc0);
    acc1 = _mm256_fmadd_ps(block(i + 3), _mm256_broadcast_ss(&act[i + 3].d), acc1);
  }
  for (; i < nb; ++i) acc0 = _mm256_fmadd_ps(block(i), _mm256_broadcast_ss(&act[i].d), acc0);
  *out = hsum(_mm256_add_ps(acc0, acc1));
}

void dot_mxfp4(uint64_t cols, const uint8_t* w, const uint8_t* a, uint64_t a_stride, int ntok, float* out) {
  switch (ntok) {
    case 1:
      dot_mxfp4_1(cols, w, a, out);
      break;
    case 2:
      dot32_n<PrepMxfp4, 2>(cols, w, a, a_stride, out);
      break;
    case 3:
      dot32_n<PrepMxfp4, 3>(cols, w, a, a_stride, out);
      break;
    default:
      dot32_n<PrepMxfp4, 4>(cols, w, a, a_stride, out);
      break;
  }
}

template <class P>
void dot32(uint64_t cols, const uint8_t* w, const uint8_t* a, uint64_t a_stride, int ntok, float* out) {
  switch (ntok) {
    case 1:
      dot32_n<P, 1>(cols, w, a, a_stride, out);
      break;
    case 2:
      dot32_n<P, 2>(cols, w, a, a_stride, out);
      break;
    case 3:
      dot32_n<P, 3>(cols, w, a, a_stride, out);
      break;
    default:
      dot32_n<P, 4>(cols, w, a, a_stride, out);
      break;
  }
}

}  // namespace
}  // namespace avx2

DotKernel avx2_dot_kernel(uint32_t type) {
  using namespace avx2;
  constexpr auto k32 = ActKind::kQ8x32;
  switch (static_cast<DType>(type)) {
    case DType::F32:
      return {ActKind::kF32, dot_float<LoadF32>};
    case DType::F16:
      return {ActKind::kF32, dot_float<LoadF16>};
    case DType::BF16:
      return {ActKind::kF32, dot_float<LoadBF16>};
    case DType::Q8_0:
      return {k32, dot32<PrepQ8_0>};
    case DType::Q4_0:
      return {k32, dot32<PrepQ4_0>};
    case DType::Q4_1:
      return {k32, dot32<PrepQ4_1>};
    case DType::Q5_0:
      return {k32, dot32<PrepQ5_0>};
    case DType::Q5_1:
      return {k32, dot32<PrepQ5_1>};
    case DType::MXFP4:
      return {k32, dot_mxfp4};
    case DType::IQ4_NL:
      return {k32, dot32<PrepIq4nl>};
    default:
      return avx2_dot_kernel_k(type);
  }
}

}  // namespace mixcl::backend::kernels
