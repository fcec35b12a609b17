#pragma once
// Counter-based pseudo-random weights: every element of every tensor is a pure function of (seed, tensor
// key, element index), so any slab of any tensor can be produced independently and reproducibly.
#include <cstdint>
#include <string_view>

namespace mixcl::synth {

/// The splitmix64 output mix (a bijection on 64-bit words with good avalanche).
inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// Seed of one tensor's stream, from the model seed and a stable key (normally the tensor name).
uint64_t tensor_seed(uint64_t model_seed, std::string_view key);

/// Element `index` of the stream `stream_seed`: approximately N(0, 1) (Irwin-Hall sum of four 16-bit
/// uniforms, so bounded by +-3.47), exact mean 0 and variance 1 over the 64-bit hash.
inline float unit_normal(uint64_t stream_seed, uint64_t index) {
  const uint64_t h = mix64(stream_seed + (index + 1) * 0x9E3779B97F4A7C15ull);
  const int64_t sum = static_cast<int64_t>(h & 0xFFFF) + static_cast<int64_t>((h >> 16) & 0xFFFF) +
                      static_cast<int64_t>((h >> 32) & 0xFFFF) + static_cast<int64_t>(h >> 48);
  // Sum of four uniforms on {0..65535}: mean 131070, std sqrt(4 (65536^2 - 1) / 12).
  constexpr double kMean = 131070.0;
  constexpr float kInvStd = 1.0f / 37837.2272f;
  return static_cast<float>(static_cast<double>(sum) - kMean) * kInvStd;
}

/// Writes mean + std * unit_normal(stream_seed, first + i) for i in [0, n).
void fill_normal(uint64_t stream_seed, uint64_t first, uint64_t n, float mean, float std, float* dst);

}  // namespace mixcl::synth
