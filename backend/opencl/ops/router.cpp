// MoE router on an OpenCL device (cl_kernels/router.cl): one work-item (CPU-like) or one work-group (GPU) per
// token.
#include "backend/opencl/ops.h"
#include "backend/opencl/ops/op_common.h"

namespace mixcl::backend {

using namespace clops;

namespace {

void check_params(const OpenCLDevice& dev, const RouterParams& p) {
  if (p.gating != Gating::kSoftmax && p.gating != Gating::kSigmoid && p.gating != Gating::kSqrtSoftplus)
    fail("device {}: router: gating function {} is unknown (1 softmax, 2 sigmoid, 4 sqrt-softplus)", dev.name(),
         static_cast<int>(p.gating));
  if (p.n_expert == 0 || p.n_used == 0 || p.n_used > p.n_expert)
    fail("device {}: router: {} experts used of {} (need 1 <= used <= experts)", dev.name(), p.n_used, p.n_expert);
  if (p.n_group > 1) {
    if (p.n_expert % p.n_group != 0)
      fail("device {}: router: {} experts do not split into {} equal groups", dev.name(), p.n_expert, p.n_group);
    if (p.n_group > 32)
      fail("device {}: router: {} expert groups exceed the kernels' limit of 32", dev.name(), p.n_group);
    if (p.n_group_used == 0 || p.n_group_used > p.n_group)
      fail("device {}: router: {} groups kept of {} (need 1 <= kept <= groups)", dev.name(), p.n_group_used,
           p.n_group);
    if (p.n_used > static_cast<uint64_t>(p.n_group_used) * (p.n_expert / p.n_group))
      fail("device {}: router: {} experts used but the {} kept groups of {} hold only {}", dev.name(), p.n_used,
           p.n_group_used, p.n_expert / p.n_group, p.n_group_used * (p.n_expert / p.n_group));
  }
}

}  // namespace

void opencl_router(OpenCLDevice& dev, View logits, View bias, View ids, View weights, uint64_t m,
                   const RouterParams& p) {
  check_params(dev, p);
  const uint32_t X = p.n_expert, k = p.n_used;
  const ClView vl = resolve(dev, logits, m * X * 4, 4, "router", "logits");
  const bool has_bias = bias.buffer != nullptr;
  const ClView vb = has_bias ? resolve(dev, bias, uint64_t{X} * 4, 4, "router", "bias") : vl;
  const ClView vi = resolve(dev, ids, m * k * 4, 4, "router", "ids");
  const ClView vw = resolve(dev, weights, m * k * 4, 4, "router", "weights");
  if (m == 0) return;
  const bool vec = dev.shape() == KernelShape::kVector;
  const cl_uint G = p.n_group > 1 ? p.n_group : 1, Gk = p.n_group > 1 ? p.n_group_used : 1;
  const auto gating = static_cast<cl_int>(p.gating);
  const cl_int norm = p.norm ? 1 : 0;
  if (vec) {
    // s and sel of every token in a scratch buffer (2 X floats per token).
    auto scratch = dev.allocate(m * 2 * X * 4);
    const ClView vs = resolve(dev, {scratch.get(), 0}, m * 2 * X * 4, 4, "router", "scratch");
    cl::Kernel kern = dev.kernel("router.cl", "router_item");
    set_args(kern, vl.buffer, vl.offset, vb.buffer, vb.offset, cl_int{has_bias}, vi.buffer, vi.offset, vw.buffer,
             vw.offset, vs.buffer, cl_ulong{m}, cl_uint{X}, cl_uint{k}, gating, G, Gk, norm, p.scale);
    launch(dev, kern, m, 0, "router");
    return;  // the scratch buffer's cl_mem lives until the kernel has finished
  }
  cl::Kernel kern = dev.kernel("router.cl", "router_wg");
  // At most X lanes: every lane owns an expert (PoCL mis-ran the softmax gating with idle lanes, local > X).
  const size_t local = local_size(dev, kern, std::min<uint64_t>(256, std::bit_floor(uint64_t{X})));
  if ((uint64_t{X} * 2 + G) * 4 + local * 8 > dev.caps().local_mem_bytes)
    fail("device {}: router: {} experts need more local memory than the device's {} bytes", dev.name(), X,
         dev.caps().local_mem_bytes);
  set_args(kern, vl.buffer, vl.offset, vb.buffer, vb.offset, cl_int{has_bias}, vi.buffer, vi.offset, vw.buffer,
           vw.offset, cl_ulong{m}, cl_uint{X}, cl_uint{k}, gating, G, Gk, norm, p.scale,
           cl::Local((uint64_t{X} * 2 + local * 2 + G) * 4));
  launch(dev, kern, m * local, local, "router");
}

}  // namespace mixcl::backend
