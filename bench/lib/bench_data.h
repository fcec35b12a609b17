#pragma once
// Random operands for the kernel benchmarks and the small double-precision checks run on each case's first
// result (so a broken kernel never reports a speed).
#include <cstdint>
#include <vector>

#include "common/dtype.h"

namespace mixcl::bench {

/// A small fast generator (splitmix64): weights for gigabytes of benchmarks must not take longer than the run.
class FastRng {
 public:
  explicit FastRng(uint64_t seed) : s_(seed) {}
  /// Next 64 random bits.
  uint64_t next() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  /// Uniform in [-1, 1).
  float uniform() { return static_cast<float>(static_cast<int64_t>(next() >> 40) - (1ll << 23)) / 8388608.0f; }
  /// Approximately N(0, 1) (sum of four uniforms, rescaled): cheap and finite.
  float normal() { return (uniform() + uniform() + uniform() + uniform()) * 0.8660254f; }

 private:
  uint64_t s_;
};

/// `rows` × `cols` weights of `type` (row_bytes(type, cols) per row): float formats hold uniform [-1, 1)
/// values; block formats hold random codes with every scale field set to a finite value (f16 scales in
/// [0.01, 0.02), MXFP4 exponents 121..124, i.e. 2^-7..2^-4), so every block decodes to finite numbers.
std::vector<uint8_t> random_weights(DType type, uint64_t rows, uint64_t cols, uint64_t seed);

/// `n` values of FastRng::normal() times `sigma`.
std::vector<float> random_floats(uint64_t n, uint64_t seed, float sigma = 1.0f);

/// One weight row decoded by the reference codec (quant::dequantize_row), widened to double.
std::vector<double> dequantize_row_double(DType type, const uint8_t* row, uint64_t cols);

/// Σ a[i] b[i] in double.
double dot(const std::vector<double>& a, const float* b);

/// ||got - ref|| / ||ref|| in double; +inf when any got value is not finite (or ref is all zero and got is not).
double normalized_error(const std::vector<double>& got, const std::vector<double>& ref);

}  // namespace mixcl::bench
