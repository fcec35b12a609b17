// Absorbed MLA attention on an OpenCL device (cl_kernels/mla_attention.cl), with a flash-decoding split of
// long caches when there are too few (token, head) pairs to fill the device.
#include "backend/opencl/ops.h"
#include "backend/opencl/ops/op_common.h"

namespace mixcl::backend {

using namespace clops;

namespace {

constexpr uint64_t kMinSplitRows = 128;  // no split below this many cache rows per split
constexpr uint64_t kMaxSplits = 64;

}  // namespace

void opencl_mla_attention(OpenCLDevice& dev, View q, View kv, DType kv_type, View out, uint64_t m, uint64_t pos0,
                          uint64_t n_head, uint64_t n_latent, uint64_t n_rope, float scale) {
  if (kv_type != DType::F32 && kv_type != DType::F16)
    fail("device {}: mla_attention: the latent cache must be F32 or F16, not {}", dev.name(), dtype_name(kv_type));
  if (n_latent == 0) fail("device {}: mla_attention: n_latent must be positive", dev.name());
  if (n_latent + n_rope > UINT32_MAX / 2 || n_head > UINT32_MAX)
    fail("device {}: mla_attention: {} heads of {} values exceed the kernels' 32-bit sizes", dev.name(), n_head,
         n_latent + n_rope);
  const uint64_t D = n_latent + n_rope, T = pos0 + m, es = kv_type == DType::F16 ? 2 : 4;
  const ClView vq = resolve(dev, q, m * n_head * D * 4, 4, "mla_attention", "q");
  const ClView vkv = resolve(dev, kv, T * D * es, es, "mla_attention", "kv");
  const ClView vo = resolve(dev, out, m * n_head * n_latent * 4, 4, "mla_attention", "out");
  if (m == 0 || n_head == 0) return;
  const bool vec = dev.shape() == KernelShape::kVector;

  // Flash-decoding: split the cache when the (token, head) pairs alone cannot keep every compute unit busy.
  const uint64_t pairs = m * n_head;
  const uint64_t want_units = uint64_t{std::max<uint32_t>(dev.caps().compute_units, 1)} * (vec ? 4 : 2);
  uint64_t nsplit = 1;
  if (pairs < want_units && T >= 2 * kMinSplitRows)
    nsplit = std::min({(want_units + pairs - 1) / pairs, T / kMinSplitRows, kMaxSplits});
  const uint64_t split_rows = round_up((T + nsplit - 1) / nsplit, 16);
  nsplit = (T + split_rows - 1) / split_rows;
  std::shared_ptr<Buffer> part;
  cl::Buffer part_mem = vo.buffer;  // unused when nsplit == 1
  if (nsplit > 1) {
    part = dev.allocate(nsplit * pairs * (n_latent + 2) * 4);
    part_mem = resolve(dev, {part.get(), 0}, part->size(), 4, "mla_attention", "partials").buffer;
  }

  std::string options = fmt::format("-DKV_F16={}", kv_type == DType::F16 ? 1 : 0);
  size_t local = 0;
  if (!vec) {
    // 64 lanes (fewer where the device allows less), each owning ceil(n_latent / local) output dims.
    local = std::bit_floor(std::min<size_t>(64, std::max<size_t>(dev.caps().max_work_group_size, 1)));
    options += fmt::format(" -DMLA_DPL={}", (n_latent + local - 1) / local);
  }
  cl::Kernel k = dev.kernel("mla_attention.cl", vec ? "mla_vec" : "mla_wg", options);
  set_args(k, vq.buffer, vq.offset, vkv.buffer, vkv.offset, vo.buffer, vo.offset, part_mem, cl_ulong{m},
           cl_ulong{pos0}, static_cast<cl_uint>(n_head), static_cast<cl_uint>(n_latent),
           static_cast<cl_uint>(n_rope), scale, static_cast<cl_uint>(nsplit), cl_ulong{split_rows});
  if (vec) {
    launch(dev, k, pairs * nsplit, 0, "mla_attention");
  } else {
    if (local_size(dev, k, local) < local)
      fail("device {}: mla_attention: the kernel cannot run {} work-items per group here", dev.name(), local);
    if ((D + local) * 4 > dev.caps().local_mem_bytes)
      fail("device {}: mla_attention: rows of {} values need more local memory than the device's {} bytes",
           dev.name(), D, dev.caps().local_mem_bytes);
    k.setArg(15, cl::Local(D * 4));
    k.setArg(16, cl::Local(local * 4));
    launch(dev, k, pairs * nsplit * local, local, "mla_attention");
  }
  if (nsplit > 1) {
    cl::Kernel c = dev.kernel("mla_attention.cl", "mla_combine", options);
    set_args(c, part_mem, vo.buffer, vo.offset, cl_ulong{pairs}, static_cast<cl_uint>(n_latent),
             static_cast<cl_uint>(nsplit));
    launch(dev, c, pairs * n_latent, 0, "mla_attention combine");
  }
}

}  // namespace mixcl::backend
