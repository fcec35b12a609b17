// Expert-batched MoE FFN on an OpenCL device: the device sorts the (token, slot) pairs by expert (moe.cl),
// gathers each expert's tokens into one contiguous block, runs the grouped gate / up / down products with the
// quantized matmul kernels (backend/opencl/matmul.h) on each expert's sub-range, SwiGLU over all pairs at once,
// then a deterministic weighted reduce over the k slots of each token adds into out.
// Host traffic: one blocking read of the per-expert counts per call (to size the per-expert products).
#include <numeric>
#include <vector>

#include "backend/opencl/matmul.h"
#include "backend/opencl/ops.h"
#include "backend/opencl/ops/op_common.h"

namespace mixcl::backend {

using namespace clops;

void opencl_moe_ffn(OpenCLDevice& dev, const ExpertWeights& w, View x, View ids, View weights, View out, uint64_t m,
                    uint64_t k, float clamp) {
  const uint64_t X = w.n_expert, E = w.gate.cols, Fe = w.gate.rows;
  if (X == 0) fail("device {}: moe_ffn: n_expert is 0", dev.name());
  if (w.up.cols != E || w.up.rows != Fe || w.down.cols != Fe || w.down.rows != E || w.up.type != w.gate.type)
    fail("device {}: moe_ffn: expert shapes disagree: gate {}x{} {}, up {}x{} {}, down {}x{} (want up = gate "
         "and down = E x Fe)", dev.name(), Fe, E, dtype_name(w.gate.type), w.up.rows, w.up.cols,
         dtype_name(w.up.type), w.down.rows, w.down.cols);
  for (const WeightView* v : {&w.gate, &w.up, &w.down})
    if (!opencl_matmul_supports(v->type))
      fail("device {}: moe_ffn: expert weights of type {} have no OpenCL matmul kernel", dev.name(),
           dtype_name(v->type));
  const ClView vx = resolve(dev, x, m * E * 4, 4, "moe_ffn", "x");
  const ClView vi = resolve(dev, ids, m * k * 4, 4, "moe_ffn", "ids");
  const ClView vw = resolve(dev, weights, m * k * 4, 4, "moe_ffn", "weights");
  const ClView vo = resolve(dev, out, m * E * 4, 4, "moe_ffn", "out");
  if (m == 0 || k == 0 || E == 0) return;
  if (m * k > UINT32_MAX || X > UINT32_MAX || k > UINT32_MAX)
    fail("device {}: moe_ffn: {} (token, slot) pairs over {} experts exceed the kernels' 32-bit indices", dev.name(),
         m * k, X);
  const uint64_t pairs = m * k;
  const bool vec = dev.shape() == KernelShape::kVector;
  const int width = vector_width(dev);
  const std::string vec_opt = fmt::format("-DVEC={}", width);

  // Scratch: counts, slot positions, gathered x, gate / up / hidden / down outputs per pair.
  auto counts = dev.allocate(X * 4), slot_pos = dev.allocate(pairs * 4);
  auto xs = dev.allocate(pairs * E * 4), gs = dev.allocate(pairs * Fe * 4), us = dev.allocate(pairs * Fe * 4);
  auto ys = dev.allocate(pairs * E * 4);
  auto mem = [&](const std::shared_ptr<Buffer>& b) { return resolve(dev, {b.get(), 0}, b->size(), 4, "moe_ffn", "scratch").buffer; };
  const cl::Buffer counts_mem = mem(counts), slot_mem = mem(slot_pos), xs_mem = mem(xs), ys_mem = mem(ys);

  cl::Kernel count = dev.kernel("moe.cl", "moe_count", vec_opt);
  set_args(count, vi.buffer, vi.offset, cl_ulong{pairs}, static_cast<cl_uint>(X), counts_mem);
  launch(dev, count, X, 0, "moe_ffn count");
  cl::Kernel place = dev.kernel("moe.cl", "moe_place", vec_opt);
  set_args(place, vi.buffer, vi.offset, cl_ulong{pairs}, static_cast<cl_uint>(k), static_cast<cl_uint>(X), counts_mem,
           slot_mem, vx.buffer, vx.offset, cl_ulong{E}, xs_mem);
  launch(dev, place, X, 0, "moe_ffn place");

  std::vector<uint32_t> n_of(X);
  try {
    dev.compute_queue().enqueueReadBuffer(counts_mem, CL_TRUE, 0, X * 4, n_of.data());
  } catch (const cl::Error& e) {
    throw cl_failure(dev.name(), "moe_ffn (reading the expert counts back)", e.err());
  }
  const uint64_t routed = std::accumulate(n_of.begin(), n_of.end(), uint64_t{0});
  if (routed != pairs)
    fail("device {}: moe_ffn: {} of the {} expert ids are outside [0, {}); the router output is broken", dev.name(),
         pairs - routed, pairs, X);

  // Grouped products: expert e's tokens are rows [start, start + n) of xs / gs / us / ys. The device's
  // `moe_ffn` kernel configs go over its `matmul` ones (opencl_matmul fills in the rest).
  auto cfg = [&](DType t, uint64_t n) { return opencl_matmul_config(dev.kernel_configs(), "moe_ffn", t, n); };
  uint64_t start = 0;
  for (uint64_t e = 0; e < X; ++e) {
    const uint64_t n = n_of[e];
    if (n == 0) continue;
    opencl_matmul(dev, slab(w.gate, e, Fe), {xs.get(), start * E * 4}, {gs.get(), start * Fe * 4}, n,
                  cfg(w.gate.type, n));
    opencl_matmul(dev, slab(w.up, e, Fe), {xs.get(), start * E * 4}, {us.get(), start * Fe * 4}, n,
                  cfg(w.up.type, n));
    start += n;
  }
  opencl_swiglu(dev, {gs.get(), 0}, {us.get(), 0}, {gs.get(), 0}, pairs * Fe, clamp);
  start = 0;
  for (uint64_t e = 0; e < X; ++e) {
    const uint64_t n = n_of[e];
    if (n == 0) continue;
    opencl_matmul(dev, slab(w.down, e, E), {gs.get(), start * Fe * 4}, {ys.get(), start * E * 4}, n,
                  cfg(w.down.type, n));
    start += n;
  }

  cl::Kernel reduce = dev.kernel("moe.cl", vec ? "moe_reduce_vec" : "moe_reduce_scalar", vec_opt);
  set_args(reduce, ys_mem, slot_mem, vw.buffer, vw.offset, vo.buffer, vo.offset, cl_ulong{m}, static_cast<cl_uint>(k),
           cl_ulong{E});
  launch(dev, reduce, vec ? m * ((E + width - 1) / width) : m * E, 0, "moe_ffn reduce");
}

}  // namespace mixcl::backend
