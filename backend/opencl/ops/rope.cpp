// Rotary position embedding on an OpenCL device (cl_kernels/rope.cl); the inverse frequencies come from the
// host in f64 (deepseek2.md §5.5) as float-float pairs.
#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "backend/opencl/ops.h"
#include "backend/opencl/ops/op_common.h"

namespace mixcl::backend {

using namespace clops;

namespace {

// Per-pair inverse frequencies base^(-2i/d) with the YaRN ramp between corr(beta_fast) and corr(beta_slow).
std::vector<double> inv_freqs(const RopeParams& p) {
  const double d = p.n_dims, base = p.freq_base;
  std::vector<double> inv(p.n_dims / 2);
  for (uint32_t i = 0; i < inv.size(); ++i) inv[i] = std::pow(base, -2.0 * i / d);
  if (p.yarn_factor == 1.0f) return inv;
  auto corr = [&](double r) {
    return d * std::log(p.yarn_orig_ctx / (2.0 * std::numbers::pi * r)) / (2.0 * std::log(base));
  };
  const double lo = std::max(0.0, std::floor(corr(p.yarn_beta_fast)));
  const double hi = std::min(d - 1.0, std::ceil(corr(p.yarn_beta_slow)));
  for (uint32_t i = 0; i < inv.size(); ++i) {
    const double t = std::clamp((i - lo) / std::max(hi - lo, 0.001), 0.0, 1.0);
    inv[i] *= (1.0 - t) + t / p.yarn_factor;
  }
  return inv;
}

}  // namespace

void opencl_rope(OpenCLDevice& dev, View x, View positions, uint64_t n_tokens, uint64_t n_heads,
                 uint64_t head_stride, uint64_t dim_offset, const RopeParams& p) {
  if (p.n_dims == 0 || p.n_dims % 2 != 0)
    fail("device {}: rope: n_dims {} must be a positive even number of rotated dims per head", dev.name(), p.n_dims);
  if (dim_offset + p.n_dims > head_stride)
    fail("device {}: rope: dims [{}, {}) do not fit in a head of {} values", dev.name(), dim_offset,
         dim_offset + p.n_dims, head_stride);
  if (!(p.freq_base > 1.0f)) fail("device {}: rope: freq_base {} must be > 1", dev.name(), p.freq_base);
  if (p.yarn_factor != 1.0f && (p.yarn_factor <= 0.0f || p.yarn_orig_ctx == 0 || p.yarn_beta_fast <= 0.0f ||
                                p.yarn_beta_slow <= 0.0f))
    fail("device {}: rope: YaRN factor {} needs a positive factor, original context ({}) and betas ({}, {})",
         dev.name(), p.yarn_factor, p.yarn_orig_ctx, p.yarn_beta_fast, p.yarn_beta_slow);
  const ClView vx = resolve(dev, x, n_tokens * n_heads * head_stride * 4, 4, "rope", "x");
  const ClView vp = resolve(dev, positions, n_tokens * 4, 4, "rope", "positions");
  if (n_tokens == 0 || n_heads == 0) return;
  const std::vector<double> inv = inv_freqs(p);
  std::vector<float> pairs(inv.size() * 2);
  for (size_t i = 0; i < inv.size(); ++i) {
    pairs[2 * i] = static_cast<float>(inv[i]);
    pairs[2 * i + 1] = static_cast<float>(inv[i] - static_cast<double>(pairs[2 * i]));
  }
  cl::Buffer inv_buf;
  try {
    inv_buf = cl::Buffer(dev.context(), CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, pairs.size() * sizeof(float),
                         pairs.data());
  } catch (const cl::Error& e) {
    throw cl_failure(dev.name(), "rope (clCreateBuffer for the inverse frequencies)", e.err());
  }
  const bool vec = dev.shape() == KernelShape::kVector;
  cl::Kernel k = dev.kernel("rope.cl", vec ? "rope_vec" : "rope_wg");
  const cl_uint half = p.n_dims / 2;
  set_args(k, vx.buffer, vx.offset, vp.buffer, vp.offset, inv_buf, half, cl_uint{p.neox ? 1u : 0u},
           cl_ulong{n_heads}, cl_ulong{head_stride}, cl_ulong{dim_offset});
  launch(dev, k, (vec ? n_tokens : n_tokens * n_heads) * half, 0, "rope");
}

}  // namespace mixcl::backend
