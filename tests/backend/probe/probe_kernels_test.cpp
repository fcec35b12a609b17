// Host probe kernels against double-precision references: every float is read, every chain step is done.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "backend/host/host_probe.h"

namespace mixcl::backend {
namespace {

// Every SIMD level this CPU runs, so each kernel variant is checked where it can be.
std::vector<HostSimd> runnable_simd_levels() {
  std::vector<HostSimd> levels = {HostSimd::kGeneric};
  if (host_probe_simd("avx2") == HostSimd::kAvx2) levels.push_back(HostSimd::kAvx2);
  if (host_probe_simd("avx512") == HostSimd::kAvx512) levels.push_back(HostSimd::kAvx512);
  return levels;
}

TEST(HostProbeKernels, SimdLevelNeverExceedsTheCpu) {
  EXPECT_EQ(host_probe_simd("generic"), HostSimd::kGeneric);
  EXPECT_EQ(host_probe_simd("nonsense"), HostSimd::kGeneric);
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx512f")) {
    EXPECT_NE(host_probe_simd("avx512"), HostSimd::kAvx512);
  }
  if (!__builtin_cpu_supports("avx2")) {
    EXPECT_EQ(host_probe_simd("avx2"), HostSimd::kGeneric);
  }
  EXPECT_STREQ(host_simd_name(HostSimd::kAvx2), "avx2");
}

TEST(HostProbeKernels, FillGivesNormalFloatsInHalfOpenUnitHalf) {
  std::vector<float> v(100003, -1.0f);
  host_fill_random(v.data(), v.size(), 3, 42);
  double sum = 0;
  for (float x : v) {
    ASSERT_GE(x, 0.5f);
    ASSERT_LT(x, 1.0f);
    sum += x;
  }
  EXPECT_NEAR(sum / static_cast<double>(v.size()), 0.75, 0.01);  // uniform: mean 3/4
  std::vector<float> w(v.size());
  host_fill_random(w.data(), w.size(), 3, 42);
  EXPECT_EQ(0, std::memcmp(v.data(), w.data(), v.size() * sizeof(float)));  // same seed, same data
}

TEST(HostProbeKernels, ReadSumCountsEveryFloatOnOddSizesAndThreads) {
  std::vector<float> storage(200011);
  host_fill_random(storage.data(), storage.size(), 2, 7);
  for (HostSimd simd : runnable_simd_levels()) {
    for (uint64_t n : {0ull, 1ull, 63ull, 64ull, 65ull, 1000ull, 131071ull, 200010ull}) {
      for (int threads : {1, 2, 3}) {
        const float* data = storage.data() + 1;  // deliberately not 32-byte aligned
        double expected = 0;
        for (uint64_t i = 0; i < n; ++i) expected += data[i];
        const double got = host_read_sum(data, n, 3, threads, simd);
        EXPECT_NEAR(got, 3 * expected, 1e-5 * 3 * expected + 1e-6)
            << host_simd_name(simd) << " n=" << n << " threads=" << threads;
      }
    }
  }
}

TEST(HostProbeKernels, FmaChainsMatchFloatRecurrence) {
  for (HostSimd simd : runnable_simd_levels()) {
    const HostFmaShape shape = host_fma_shape(simd);
    ASSERT_GT(shape.chains, 0u);
    ASSERT_GT(shape.lanes, 0u);
    for (uint64_t iters : {0ull, 1ull, 37ull, 1000ull}) {
      // The exact float recurrence: one rounding per step with FMA, two (multiply, add) without.
      double per_lane = 0;
      for (uint32_t j = 0; j < shape.chains; ++j) {
        float x = 1.0f + static_cast<float>(j) / 64.0f;
        for (uint64_t i = 0; i < iters; ++i) {
          if (simd == HostSimd::kGeneric) {
            const volatile float product = x * kHostFmaMul;  // volatile: no contraction into an FMA here
            x = product + kHostFmaAdd;
          } else {
            x = std::fma(x, kHostFmaMul, kHostFmaAdd);
          }
        }
        per_lane += x;
      }
      const int threads = 2;
      const double expected = per_lane * shape.lanes * threads;
      EXPECT_NEAR(host_fma_chains(iters, threads, simd), expected, 1e-12 * expected)
          << host_simd_name(simd) << " iters=" << iters;
      // And against the real-number recurrence, loosely: float rounding drifts a little over many steps.
      double exact = 0;
      for (uint32_t j = 0; j < shape.chains; ++j) {
        double x = 1.0 + j / 64.0;
        for (uint64_t i = 0; i < iters; ++i) x = x * static_cast<double>(kHostFmaMul) + kHostFmaAdd;
        exact += x;
      }
      exact *= shape.lanes * threads;
      EXPECT_NEAR(host_fma_chains(iters, threads, simd), exact, 1e-4 * exact);
    }
  }
}

}  // namespace
}  // namespace mixcl::backend
