#include "backend/host/kernels/act_quant.h"

#include <cmath>
#include <cstring>

namespace mixcl::backend::kernels {

void quantize_act_q8x32(const float* x, uint64_t n, ActQ8x32* out) {
  for (uint64_t b = 0; b < n / 32; ++b) {
    const float* v = x + b * 32;
    float amax = 0.0f;
    for (int i = 0; i < 32; ++i) amax = std::fmax(amax, std::fabs(v[i]));
    const float d = amax / 127.0f;
    const float id = d > 0.0f ? 1.0f / d : 0.0f;
    int sum = 0;
    for (int i = 0; i < 32; ++i) {
      // nearbyint rounds half to even in the default mode; the clamp guards x*id landing just above 127.
      const float q = std::fmin(127.0f, std::fmax(-127.0f, std::nearbyint(v[i] * id)));
      out[b].qs[i] = static_cast<int8_t>(q);
      sum += out[b].qs[i];
    }
    out[b].d = d;
    out[b].s = d * static_cast<float>(sum);
  }
}

void quantize_act_q8k(const float* x, uint64_t n, BlockQ8_K* out) {
  for (uint64_t b = 0; b < n / 256; ++b) {
    const float* v = x + b * 256;
    float amax = 0.0f, max = 0.0f;
    for (int i = 0; i < 256; ++i) {
      if (std::fabs(v[i]) > amax) {
        amax = std::fabs(v[i]);
        max = v[i];
      }
    }
    BlockQ8_K& o = out[b];
    if (amax == 0.0f) {
      std::memset(&o, 0, sizeof(o));
      continue;
    }
    const float iscale = -127.0f / max;
    for (int i = 0; i < 256; ++i) {
      const float q = std::fmin(127.0f, std::nearbyint(iscale * v[i]));
      o.qs[i] = static_cast<int8_t>(q);
    }
    for (int g = 0; g < 16; ++g) {
      int s = 0;
      for (int i = 0; i < 16; ++i) s += o.qs[g * 16 + i];
      o.bsums[g] = static_cast<int16_t>(s);
    }
    o.d = 1.0f / iscale;
  }
}

uint64_t act_row_bytes(ActKind kind, uint64_t cols) {
  switch (kind) {
    case ActKind::kF32:
      return cols * 4;
    case ActKind::kQ8x32:
      return cols / 32 * sizeof(ActQ8x32);
    case ActKind::kQ8K:
      return cols / 256 * sizeof(BlockQ8_K);
  }
  return 0;
}

void quantize_act_row(ActKind kind, const float* x, uint64_t cols, uint8_t* dst) {
  switch (kind) {
    case ActKind::kF32:
      std::memcpy(dst, x, cols * 4);
      break;
    case ActKind::kQ8x32:
      quantize_act_q8x32(x, cols, reinterpret_cast<ActQ8x32*>(dst));
      break;
    case ActKind::kQ8K:
      quantize_act_q8k(x, cols, reinterpret_cast<BlockQ8_K*>(dst));
      break;
  }
}

}  // namespace mixcl::backend::kernels
