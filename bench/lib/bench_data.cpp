#include "bench/lib/bench_data.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "common/error.h"
#include "common/half.h"
#include "model/quant/quant.h"

namespace mixcl::bench {
namespace {

// Byte offsets of the f16 scale fields inside one block (gguf.md §4); every other byte is a code.
std::vector<uint32_t> f16_scale_offsets(DType type) {
  switch (type) {
    case DType::Q8_0:
    case DType::Q4_0:
    case DType::Q5_0:
    case DType::IQ4_NL:
    case DType::IQ4_XS:
      return {0};
    case DType::Q4_1:
    case DType::Q5_1:
    case DType::Q4_K:
    case DType::Q5_K:
      return {0, 2};
    case DType::Q2_K:
      return {80, 82};
    case DType::Q3_K:
      return {108};
    case DType::Q6_K:
      return {208};
    default:
      return {};
  }
}

}  // namespace

std::vector<uint8_t> random_weights(DType type, uint64_t rows, uint64_t cols, uint64_t seed) {
  const DTypeInfo info = dtype_info(type);
  if (cols % info.block_elems != 0)
    fail("bench: {} columns are not a multiple of the {}-element blocks of {}", cols, info.block_elems, info.name);
  const uint64_t n = rows * cols, bytes = rows * row_bytes(type, cols);
  std::vector<uint8_t> w(bytes);
  FastRng rng(seed);
  switch (type) {
    case DType::F32: {
      auto* p = reinterpret_cast<float*>(w.data());
      for (uint64_t i = 0; i < n; ++i) p[i] = rng.uniform();
      return w;
    }
    case DType::F16:
    case DType::BF16: {
      auto* p = reinterpret_cast<uint16_t*>(w.data());
      for (uint64_t i = 0; i < n; ++i)
        p[i] = type == DType::F16 ? fp32_to_fp16(rng.uniform()) : fp32_to_bf16(rng.uniform());
      return w;
    }
    default:
      break;
  }
  const auto offsets = f16_scale_offsets(type);
  if (offsets.empty() && type != DType::MXFP4)
    fail("bench: no random block generator for {} (supported: float formats, Q4_0..Q8_0, K-quants, MXFP4, "
         "IQ4_NL, IQ4_XS)",
         info.name);
  uint64_t i = 0;
  for (; i + 8 <= bytes; i += 8) {
    const uint64_t r = rng.next();
    std::memcpy(&w[i], &r, 8);
  }
  for (; i < bytes; ++i) w[i] = static_cast<uint8_t>(rng.next());
  const uint64_t blocks = bytes / info.block_bytes;
  for (uint64_t b = 0; b < blocks; ++b) {
    uint8_t* blk = w.data() + b * info.block_bytes;
    if (type == DType::MXFP4) {
      blk[0] = static_cast<uint8_t>(121 + rng.next() % 4);  // 2^(E-128): 2^-7..2^-4, times codes up to 12
      continue;
    }
    for (uint32_t off : offsets) {
      const uint16_t h = fp32_to_fp16(0.01f + 0.01f * static_cast<float>(rng.next() % 1024) / 1024.0f);
      std::memcpy(blk + off, &h, 2);
    }
  }
  return w;
}

std::vector<float> random_floats(uint64_t n, uint64_t seed, float sigma) {
  FastRng rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = rng.normal() * sigma;
  return v;
}

std::vector<double> dequantize_row_double(DType type, const uint8_t* row, uint64_t cols) {
  std::vector<float> f(cols);
  quant::dequantize_row(type, row, f.data(), cols);
  return {f.begin(), f.end()};
}

double dot(const std::vector<double>& a, const float* b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * static_cast<double>(b[i]);
  return s;
}

double normalized_error(const std::vector<double>& got, const std::vector<double>& ref) {
  double num = 0, den = 0;
  for (size_t i = 0; i < got.size() && i < ref.size(); ++i) {
    if (!std::isfinite(got[i])) return std::numeric_limits<double>::infinity();
    num += (got[i] - ref[i]) * (got[i] - ref[i]);
    den += ref[i] * ref[i];
  }
  if (got.size() != ref.size()) return std::numeric_limits<double>::infinity();
  if (den == 0) return num == 0 ? 0.0 : std::numeric_limits<double>::infinity();
  return std::sqrt(num / den);
}

}  // namespace mixcl::bench
