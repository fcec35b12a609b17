// Speed of the two heavy host ops at DeepSeek sizes (docs/ops.md). Disabled by default; run with
// mixcl_test_backend_ops --gtest_also_run_disabled_tests --gtest_filter='*Speed*'.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "backend/host/host_ops.h"
#include "tests/backend/ops/op_harness.h"

namespace mixcl::backend::ops_test {
namespace {

double cpu_now() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/// Best wall time of `reps` runs and the process CPU time of that run (all threads): on a shared machine the
/// CPU time says what the op costs, the wall time what this run got.
struct Timing {
  double wall = 1e30, cpu = 0;
};
template <class F>
Timing best_seconds(int reps, F&& f) {
  Timing best;
  for (int r = 0; r < reps; ++r) {
    const double c0 = cpu_now();
    const auto t0 = std::chrono::steady_clock::now();
    f();
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (wall < best.wall) best = {wall, cpu_now() - c0};
  }
  return best;
}

// Random codes with small finite f16 scales in the leading d (and dmin) fields: the speed does not depend
// on the values, and quantizing 300 MB of weights would dominate the run.
std::vector<uint8_t> fast_weights(DType type, uint64_t rows, uint64_t cols, std::mt19937& rng) {
  const DTypeInfo info = dtype_info(type);
  std::vector<uint8_t> w(rows * row_bytes(type, cols));
  for (auto& b : w) b = static_cast<uint8_t>(rng());
  const uint16_t h = fp32_to_fp16(0.001f);
  const bool dmin = type == DType::Q4_K || type == DType::Q5_K;
  for (uint64_t b = 0; b < w.size() / info.block_bytes; ++b) {
    std::memcpy(&w[b * info.block_bytes], &h, 2);
    if (dmin) std::memcpy(&w[b * info.block_bytes + 2], &h, 2);
  }
  return w;
}

TEST(HostOpsSpeed, DISABLED_MlaAttentionDecode) {
  HostDevice dev;
  HostDevice one(HostOptions{.threads = 1, .budget_bytes = 0, .isa = ""});
  const uint64_t H = 16, Lkv = 512, dr = 64, D = Lkv + dr;
  std::mt19937 rng(1);
  for (uint64_t T : {4096, 32768}) {
    for (uint64_t m : {1, 16}) {
      std::vector<uint16_t> kv(T * D);
      for (auto& v : kv) v = fp32_to_fp16(std::normal_distribution<float>()(rng));
      const auto q = normal_floats(m * H * D, rng, 0.1f);
      auto bkv = put(dev, kv), bq = put(dev, q), bo = dev.allocate(m * H * Lkv * 4);
      for (HostDevice* d : {&one, &dev}) {
        const Timing s = best_seconds(T > 8192 ? 3 : 10, [&] {
          host_mla_attention(*d, at(bq), at(bkv), DType::F16, at(bo), m, T - m, H, Lkv, dr, 0.135f);
        });
        const double bytes = static_cast<double>(T) * D * 2, flop = m * H * T * (2.0 * D + 2.0 * Lkv);
        std::printf(
            "mla_attention F16 cache %llu rows x %llu, %llu heads, m=%llu, %d threads: %.3f ms wall "
            "(%.3f ms CPU), %.2f GB/s of cache (%.2f GB/s per CPU-second), %.1f GFLOP/s\n",
            (unsigned long long)T, (unsigned long long)D, (unsigned long long)H, (unsigned long long)m,
            d->threads(), s.wall * 1e3, s.cpu * 1e3, bytes / s.wall / 1e9, bytes / s.cpu / 1e9,
            flop / s.wall / 1e9);
      }
    }
  }
}

TEST(HostOpsSpeed, DISABLED_MoeFfn) {
  HostDevice dev;
  const uint64_t E = 2048, Fe = 1408;
  const uint32_t X = 64, k = 6;
  std::mt19937 rng(2);
  // Gate/up Q4_K; down has rows of Fe = 1408 (not a multiple of 256), so Q5_0 as in Q4_K_M files.
  const auto gate = fast_weights(DType::Q4_K, X * Fe, E, rng), up = fast_weights(DType::Q4_K, X * Fe, E, rng);
  const auto down = fast_weights(DType::Q5_0, X * E, Fe, rng);
  auto bg = put(dev, gate), bu = put(dev, up), bd = put(dev, down);
  ExpertWeights ew{
      {at(bg), DType::Q4_K, E, Fe}, {at(bu), DType::Q4_K, E, Fe}, {at(bd), DType::Q5_0, Fe, E}, X};
  for (uint64_t m : {1, 16, 512}) {
    const auto x = normal_floats(m * E, rng);
    std::vector<int32_t> ids(m * k);
    std::vector<float> w(m * k, 1.0f / k);
    for (uint64_t t = 0; t < m; ++t) {
      std::vector<int32_t> perm(X);
      for (uint32_t e = 0; e < X; ++e) perm[e] = static_cast<int32_t>(e);
      std::shuffle(perm.begin(), perm.end(), rng);
      std::copy(perm.begin(), perm.begin() + k, ids.begin() + t * k);
    }
    auto bx = put(dev, x), bi = put(dev, ids), bw = put(dev, w), bo = dev.allocate(m * E * 4);
    const Timing s = best_seconds(m == 512 ? 2 : 10,
                                  [&] { host_moe_ffn(dev, ew, at(bx), at(bi), at(bw), at(bo), m, k, 0.0f); });
    std::printf(
        "moe_ffn E=%llu Fe=%llu X=%u k=%u Q4_K/Q5_0, m=%llu, %d threads: %.2f ms wall (%.2f ms CPU), "
        "%.1f tokens/s (%.1f tokens per CPU-second)\n",
        (unsigned long long)E, (unsigned long long)Fe, X, k, (unsigned long long)m, dev.threads(),
        s.wall * 1e3, s.cpu * 1e3, m / s.wall, m / s.cpu);
  }
}

}  // namespace
}  // namespace mixcl::backend::ops_test
