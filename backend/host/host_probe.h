#pragma once
// Kernels the probe times on the host: an all-threads DRAM read and FMA chains, with SIMD picked at run time.
#include <cstdint>
#include <string>

namespace mixcl::backend {

/// SIMD level a host probe kernel runs with.
enum class HostSimd { kGeneric, kAvx2, kAvx512 };

/// The SIMD level for a host ISA name ("avx512", "avx2", "generic"), lowered to what this CPU really runs.
HostSimd host_probe_simd(const std::string& isa);
/// "avx512", "avx2" or "generic".
const char* host_simd_name(HostSimd simd);

/// Fills n floats with uniform values in [0.5, 1) (normal numbers only: denormals would slow the adds),
/// each thread writing the share it later reads so pages land near the thread that uses them.
void host_fill_random(float* data, uint64_t n, int threads, uint64_t seed);

/// Reads all n floats `reps` times on `threads` threads (thread t takes the t-th contiguous share) and sums
/// them into independent accumulators; the returned total keeps the loads from being optimised away.
double host_read_sum(const float* data, uint64_t n, uint64_t reps, int threads, HostSimd simd);

/// Shape of the FMA kernel of one thread: `chains` independent accumulators of `lanes` floats.
struct HostFmaShape {
  uint32_t chains = 0;
  uint32_t lanes = 0;
};
/// The chains and lanes host_fma_chains() uses for a SIMD level.
HostFmaShape host_fma_shape(HostSimd simd);
/// Multiplier and addend of each chain step x = x * m + a, and the start value of chain j: 1 + j / 64.
inline constexpr float kHostFmaMul = 0.999f, kHostFmaAdd = 0.001f;
/// Runs `iters` steps of every chain on each of `threads` threads; returns the sum of all final values
/// over threads, chains and lanes. Flops = iters * chains * lanes * 2 * threads.
double host_fma_chains(uint64_t iters, int threads, HostSimd simd);

}  // namespace mixcl::backend
