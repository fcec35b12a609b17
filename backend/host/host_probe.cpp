#include "backend/host/host_probe.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstring>

namespace mixcl::backend {
namespace {

// Shares start at multiples of 64 floats (256 bytes) so every SIMD block but the last is whole.
constexpr uint64_t kShareAlign = 64;

std::pair<uint64_t, uint64_t> thread_share(uint64_t n, int t, int threads) {
  auto edge = [&](int k) {
    if (k >= threads) return n;
    return std::min(n, n / kShareAlign * k / threads * kShareAlign);
  };
  return {edge(t), edge(t + 1)};
}

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// ---- reads: 64 floats per step into independent accumulators (load-bound, never add-latency-bound) ----

double sum_generic(const float* p, uint64_t n) {
  float acc[16] = {};
  uint64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; ++j) acc[j] += p[i + j];
  double total = 0;
  for (; i < n; ++i) total += p[i];
  for (float a : acc) total += a;
  return total;
}

__attribute__((target("avx2,fma"))) double sum_avx2(const float* p, uint64_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  uint64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    a0 = _mm256_add_ps(a0, _mm256_loadu_ps(p + i));
    a1 = _mm256_add_ps(a1, _mm256_loadu_ps(p + i + 8));
    a2 = _mm256_add_ps(a2, _mm256_loadu_ps(p + i + 16));
    a3 = _mm256_add_ps(a3, _mm256_loadu_ps(p + i + 24));
    a4 = _mm256_add_ps(a4, _mm256_loadu_ps(p + i + 32));
    a5 = _mm256_add_ps(a5, _mm256_loadu_ps(p + i + 40));
    a6 = _mm256_add_ps(a6, _mm256_loadu_ps(p + i + 48));
    a7 = _mm256_add_ps(a7, _mm256_loadu_ps(p + i + 56));
  }
  const __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                                 _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, s);
  double total = 0;
  for (float v : lanes) total += v;
  for (; i < n; ++i) total += p[i];
  return total;
}

__attribute__((target("avx512f"))) double sum_avx512(const float* p, uint64_t n) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  uint64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    a0 = _mm512_add_ps(a0, _mm512_loadu_ps(p + i));
    a1 = _mm512_add_ps(a1, _mm512_loadu_ps(p + i + 16));
    a2 = _mm512_add_ps(a2, _mm512_loadu_ps(p + i + 32));
    a3 = _mm512_add_ps(a3, _mm512_loadu_ps(p + i + 48));
  }
  const __m512 s = _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3));
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, s);
  double total = 0;
  for (float v : lanes) total += v;
  for (; i < n; ++i) total += p[i];
  return total;
}

// ---- FMA chains: enough independent accumulators to cover FMA latency times the number of FMA pipes ----

constexpr uint32_t kGenericChains = 16, kAvx2Chains = 12, kAvx512Chains = 24;

float chain_start(uint32_t j) { return 1.0f + static_cast<float>(j) / 64.0f; }

double fma_generic(uint64_t iters) {
  float x[kGenericChains];
  for (uint32_t j = 0; j < kGenericChains; ++j) x[j] = chain_start(j);
  for (uint64_t i = 0; i < iters; ++i)
    for (uint32_t j = 0; j < kGenericChains; ++j) x[j] = x[j] * kHostFmaMul + kHostFmaAdd;  // no FMA unit assumed
  double total = 0;
  for (float v : x) total += v;
  return total;
}

__attribute__((target("avx2,fma"))) double fma_avx2(uint64_t iters) {
  __m256 x[kAvx2Chains];
  for (uint32_t j = 0; j < kAvx2Chains; ++j) x[j] = _mm256_set1_ps(chain_start(j));
  const __m256 m = _mm256_set1_ps(kHostFmaMul), a = _mm256_set1_ps(kHostFmaAdd);
  for (uint64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 12
    for (uint32_t j = 0; j < kAvx2Chains; ++j) x[j] = _mm256_fmadd_ps(x[j], m, a);
  }
  double total = 0;
  for (uint32_t j = 0; j < kAvx2Chains; ++j) {
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, x[j]);
    for (float v : lanes) total += v;
  }
  return total;
}

__attribute__((target("avx512f"))) double fma_avx512(uint64_t iters) {
  __m512 x[kAvx512Chains];
  for (uint32_t j = 0; j < kAvx512Chains; ++j) x[j] = _mm512_set1_ps(chain_start(j));
  const __m512 m = _mm512_set1_ps(kHostFmaMul), a = _mm512_set1_ps(kHostFmaAdd);
  for (uint64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 24
    for (uint32_t j = 0; j < kAvx512Chains; ++j) x[j] = _mm512_fmadd_ps(x[j], m, a);
  }
  double total = 0;
  for (uint32_t j = 0; j < kAvx512Chains; ++j) {
    alignas(64) float lanes[16];
    _mm512_store_ps(lanes, x[j]);
    for (float v : lanes) total += v;
  }
  return total;
}

}  // namespace

HostSimd host_probe_simd(const std::string& isa) {
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (isa == "avx512" && __builtin_cpu_supports("avx512f")) return HostSimd::kAvx512;
  if ((isa == "avx512" || isa == "avx2") && avx2) return HostSimd::kAvx2;
  return HostSimd::kGeneric;
}

const char* host_simd_name(HostSimd simd) {
  switch (simd) {
    case HostSimd::kAvx512: return "avx512";
    case HostSimd::kAvx2: return "avx2";
    case HostSimd::kGeneric: break;
  }
  return "generic";
}

void host_fill_random(float* data, uint64_t n, int threads, uint64_t seed) {
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    const auto [begin, end] = thread_share(n, t, omp_get_num_threads());
    uint64_t state = seed ^ (0xA0761D6478BD642Full * static_cast<uint64_t>(t + 1));
    for (uint64_t i = begin; i < end; ++i) {
      // 23 random mantissa bits under the exponent of 0.5: a uniform float in [0.5, 1).
      const uint32_t bits = 0x3F000000u | static_cast<uint32_t>(splitmix64(state) >> 41);
      std::memcpy(&data[i], &bits, sizeof bits);
    }
  }
}

double host_read_sum(const float* data, uint64_t n, uint64_t reps, int threads, HostSimd simd) {
  double total = 0;
#pragma omp parallel num_threads(threads) reduction(+ : total)
  {
    const auto [begin, end] = thread_share(n, omp_get_thread_num(), omp_get_num_threads());
    for (uint64_t r = 0; r < reps; ++r) {
      switch (simd) {
        case HostSimd::kAvx512: total += sum_avx512(data + begin, end - begin); break;
        case HostSimd::kAvx2: total += sum_avx2(data + begin, end - begin); break;
        case HostSimd::kGeneric: total += sum_generic(data + begin, end - begin); break;
      }
    }
  }
  return total;
}

HostFmaShape host_fma_shape(HostSimd simd) {
  switch (simd) {
    case HostSimd::kAvx512: return {kAvx512Chains, 16};
    case HostSimd::kAvx2: return {kAvx2Chains, 8};
    case HostSimd::kGeneric: break;
  }
  return {kGenericChains, 1};
}

double host_fma_chains(uint64_t iters, int threads, HostSimd simd) {
  double total = 0;
#pragma omp parallel num_threads(threads) reduction(+ : total)
  {
    switch (simd) {
      case HostSimd::kAvx512: total += fma_avx512(iters); break;
      case HostSimd::kAvx2: total += fma_avx2(iters); break;
      case HostSimd::kGeneric: total += fma_generic(iters); break;
    }
  }
  return total;
}

}  // namespace mixcl::backend
