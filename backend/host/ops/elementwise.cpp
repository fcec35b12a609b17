// Row softmax, SwiGLU with the optional deepseek4 clamp, and f32 -> F32/F16/BF16 conversion.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "backend/host/host_ops.h"
#include "backend/host/ops/op_util.h"
#include "backend/host/ops/vec_math.h"
#include "common/half.h"

namespace mixcl::backend {

void host_softmax(HostDevice& dev, View x, uint64_t rows, uint64_t n, float scale) {
  float* p = ops::checked<float>(x, rows * n, "softmax", "x");
  if (n == 0) return;
#pragma omp parallel for num_threads(dev.threads()) schedule(static) if (rows > 1 && rows * n >= 32768)
  for (uint64_t r = 0; r < rows; ++r) {
    float* row = p + r * n;
    // Subtracting the row maximum keeps every exponent <= 0, so nothing overflows.
    float mx = -INFINITY;
    for (uint64_t i = 0; i < n; ++i) mx = std::fmax(mx, row[i] * scale);
    if (mx == -INFINITY) {  // a fully masked row: uniform weights beat NaNs
      for (uint64_t i = 0; i < n; ++i) row[i] = 1.0f / static_cast<float>(n);
      continue;
    }
    double sum = 0.0;
    for (uint64_t i = 0; i < n; ++i) {
      row[i] = std::exp(row[i] * scale - mx);
      sum += row[i];
    }
    const float inv = static_cast<float>(1.0 / sum);
#pragma omp simd
    for (uint64_t i = 0; i < n; ++i) row[i] *= inv;
  }
}

void host_swiglu(HostDevice& dev, View gate, View up, View out, uint64_t n, float clamp) {
  const float* g = ops::checked<const float>(gate, n, "swiglu", "gate");
  const float* u = ops::checked<const float>(up, n, "swiglu", "up");
  float* o = ops::checked<float>(out, n, "swiglu", "output");
  // deepseek4.md §7: a clamp <= 1e-6 means none; gate is clamped above only, up on both sides.
  const bool use_clamp = clamp > 1e-6f;
  const float c = use_clamp ? clamp : INFINITY;
  constexpr uint64_t kChunk = 16384;  // threads take vectorized chunks
  const int64_t n_chunks = static_cast<int64_t>((n + kChunk - 1) / kChunk);
#pragma omp parallel for num_threads(dev.threads()) schedule(static) if (n_chunks > 1)
  for (int64_t ch = 0; ch < n_chunks; ++ch) {
    const uint64_t i0 = ch * kChunk;
    ops::swiglu_f32(g + i0, u + i0, o + i0, std::min(kChunk, n - i0), c);
  }
}

void host_convert(HostDevice& dev, View src, View dst, DType dst_type, uint64_t n) {
  const float* s = ops::checked<const float>(src, n, "convert", "source");
  switch (dst_type) {
    case DType::F32: {
      float* d = ops::checked<float>(dst, n, "convert", "destination");
      if (d != s) std::memmove(d, s, n * 4);
      return;
    }
    case DType::F16: {
      uint16_t* d = ops::checked<uint16_t>(dst, n, "convert", "destination");
#pragma omp parallel for num_threads(dev.threads()) schedule(static) if (n >= 65536)
      for (uint64_t i = 0; i < n; ++i) d[i] = fp32_to_fp16(s[i]);
      return;
    }
    case DType::BF16: {
      uint16_t* d = ops::checked<uint16_t>(dst, n, "convert", "destination");
#pragma omp parallel for num_threads(dev.threads()) schedule(static) if (n >= 65536)
      for (uint64_t i = 0; i < n; ++i) d[i] = fp32_to_bf16(s[i]);
      return;
    }
    default:
      fail("host convert: destination type {} is not supported (use F32, F16 or BF16)", dtype_name(dst_type));
  }
}

}  // namespace mixcl::backend
