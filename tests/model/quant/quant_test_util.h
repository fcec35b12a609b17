#pragma once
// Helpers shared by the quant codec tests: deterministic data, byte building, bit-level comparison.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "common/dtype.h"
#include "model/quant/quant.h"

namespace mixcl::quant::test {

/// n samples of N(mean, sigma^2) from a fixed seed.
inline std::vector<float> gaussian(size_t n, uint32_t seed, float mean = 0.0f, float sigma = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(mean, sigma);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

/// Appends the little-endian bytes of a 16-bit value.
inline void put16(std::vector<uint8_t>& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v & 0xFF));
  b.push_back(static_cast<uint8_t>(v >> 8));
}

/// Dequantizes a whole buffer of `type` holding n elements.
inline std::vector<float> decode(DType type, const std::vector<uint8_t>& bytes, uint64_t n) {
  std::vector<float> out(n);
  dequantize_row(type, bytes.data(), out.data(), n);
  return out;
}

/// Quantizes n floats to `type`.
inline std::vector<uint8_t> encode(DType type, const std::vector<float>& x) {
  std::vector<uint8_t> out(row_bytes(type, x.size()));
  quantize_row(type, x.data(), out.data(), x.size());
  return out;
}

/// IEEE binary16 value from its definition, in double (independent of common/half.h).
inline double f16_to_double(uint16_t h) {
  const int exp = (h >> 10) & 0x1F, mant = h & 0x3FF;
  double v;
  if (exp == 0x1F)
    v = mant ? std::nan("") : INFINITY;
  else if (exp == 0)
    v = std::ldexp(static_cast<double>(mant), -24);
  else
    v = std::ldexp(static_cast<double>(1024 + mant), exp - 25);
  return (h & 0x8000) ? -v : v;
}

/// Same float bits, or both NaN.
inline bool same_float(float a, float b) {
  if (std::isnan(a) && std::isnan(b)) return true;
  uint32_t ua, ub;
  std::memcpy(&ua, &a, 4);
  std::memcpy(&ub, &b, 4);
  return ua == ub;
}

/// rms(a - b) / rms(b), in double.
inline double relative_rmse(const std::vector<float>& approx, const std::vector<float>& exact) {
  double err = 0, ref = 0;
  for (size_t i = 0; i < exact.size(); ++i) {
    const double e = static_cast<double>(approx[i]) - exact[i];
    err += e * e;
    ref += static_cast<double>(exact[i]) * exact[i];
  }
  return ref > 0 ? std::sqrt(err / ref) : std::sqrt(err);
}

}  // namespace mixcl::quant::test
