// The ops of the OpenCL device: each picks its kernel shape (vector or work-group) from the device, resolves
// views to (cl_mem, element offset) and enqueues on the compute queue.
#include <algorithm>
#include <bit>

#include "backend/opencl/cl_error.h"
#include "backend/opencl/matmul.h"
#include "backend/opencl/opencl_buffer.h"
#include "backend/opencl/opencl_device.h"
#include "backend/opencl/ops.h"

namespace mixcl::backend {
namespace {

// A view resolved to the chunk that holds it.
struct ClView {
  cl::Buffer buffer;
  cl_ulong offset = 0;  // in floats from the chunk's start
};

ClView resolve(const OpenCLDevice& device, View v, uint64_t bytes, std::string_view op,
               std::string_view arg) {
  const auto* b = dynamic_cast<const OpenCLBuffer*>(v.buffer);
  if (!b) fail("device {}: {}: argument '{}' is not a buffer of an OpenCL device", device.name(), op, arg);
  if (&b->owner() != &device)
    fail("device {}: {}: argument '{}' lives on device {}; copy it here first", device.name(), op, arg,
         b->owner().name());
  if (v.offset % sizeof(float) != 0)
    fail("device {}: {}: argument '{}' starts at byte {}, which is not a multiple of 4 (f32)", device.name(),
         op, arg, v.offset);
  const size_t chunk = b->chunk_of(v.offset, bytes, fmt::format("{} argument '{}'", op, arg));
  return {b->chunk(chunk), (v.offset - b->chunk_range(chunk).first) / sizeof(float)};
}

// Largest power of two <= v (v >= 1).
size_t floor_pow2(size_t v) {
  return v == 0 ? 1 : std::bit_floor(v);
}

// Float vector width for the vector shape: the device's preference, kept within 4..16.
int vector_width(const Capabilities& caps) {
  const uint32_t w = caps.preferred_vector_width.float_w;
  return w >= 16 ? 16 : w >= 8 ? 8 : 4;
}

}  // namespace

void OpenCLDevice::add(View a, View b, View out, uint64_t n) {
  const ClView va = resolve(*this, a, n * 4, "add", "a"), vb = resolve(*this, b, n * 4, "add", "b"),
               vo = resolve(*this, out, n * 4, "add", "out");
  if (n == 0) return;
  std::lock_guard lock(ops_mutex_);
  const bool vec = shape() == KernelShape::kVector;
  const int width = vector_width(caps());
  cl::Kernel& k = op_kernel("elementwise.cl", vec ? "add_vec" : "add_scalar",
                            vec ? fmt::format("-DVEC={}", width) : std::string());
  try {
    k.setArg(0, va.buffer);
    k.setArg(1, va.offset);
    k.setArg(2, vb.buffer);
    k.setArg(3, vb.offset);
    k.setArg(4, vo.buffer);
    k.setArg(5, vo.offset);
    k.setArg(6, cl_ulong{n});
    const uint64_t items = vec ? (n + width - 1) / width : n;
    compute_queue_.enqueueNDRangeKernel(k, cl::NullRange, cl::NDRange(items), cl::NullRange);
  } catch (const cl::Error& e) {
    rethrow("add (clEnqueueNDRangeKernel)", e);
  }
}

void OpenCLDevice::scale(View x, float s, View out, uint64_t n) {
  const ClView vx = resolve(*this, x, n * 4, "scale", "x"), vo = resolve(*this, out, n * 4, "scale", "out");
  if (n == 0) return;
  std::lock_guard lock(ops_mutex_);
  const bool vec = shape() == KernelShape::kVector;
  const int width = vector_width(caps());
  cl::Kernel& k = op_kernel("elementwise.cl", vec ? "scale_vec" : "scale_scalar",
                            vec ? fmt::format("-DVEC={}", width) : std::string());
  try {
    k.setArg(0, vx.buffer);
    k.setArg(1, vx.offset);
    k.setArg(2, s);
    k.setArg(3, vo.buffer);
    k.setArg(4, vo.offset);
    k.setArg(5, cl_ulong{n});
    const uint64_t items = vec ? (n + width - 1) / width : n;
    compute_queue_.enqueueNDRangeKernel(k, cl::NullRange, cl::NDRange(items), cl::NullRange);
  } catch (const cl::Error& e) {
    rethrow("scale (clEnqueueNDRangeKernel)", e);
  }
}

void OpenCLDevice::rmsnorm(View x, View w, View out, uint64_t rows, uint64_t n, float eps) {
  const ClView vx = resolve(*this, x, rows * n * 4, "rmsnorm", "x"),
               vw = resolve(*this, w, n * 4, "rmsnorm", "w"),
               vo = resolve(*this, out, rows * n * 4, "rmsnorm", "out");
  if (rows == 0 || n == 0) return;
  std::lock_guard lock(ops_mutex_);
  const auto tuned = applicable_kernel_configs(kernel_configs_, "rmsnorm", std::nullopt, rows);
  std::string variant;
  for (const OpKernelConfig* c : tuned)
    if (!c->variant.empty()) variant = c->variant;
  const bool vec = variant.empty() ? shape() == KernelShape::kVector : variant == "vector";
  std::string options;
  if (vec)
    options = fmt::format("-DVEC={}", vector_width(caps()));
  else if (caps().subgroups)
    options = "-DUSE_SUBGROUPS=1";
  cl::Kernel& k = op_kernel("rmsnorm.cl", vec ? "rmsnorm_vec" : "rmsnorm_wg", options);
  try {
    // Few work-items per row on CPU-like devices (each streams a span); a wide group on GPUs.
    size_t local = std::min<size_t>(kernel_config_number(tuned, "RMS_LOCAL").value_or(vec ? 16 : 256),
                                    caps().max_work_group_size);
    local = std::min(local, k.getWorkGroupInfo<CL_KERNEL_WORK_GROUP_SIZE>(device_));
    local = floor_pow2(local);
    k.setArg(0, vx.buffer);
    k.setArg(1, vx.offset);
    k.setArg(2, vw.buffer);
    k.setArg(3, vw.offset);
    k.setArg(4, vo.buffer);
    k.setArg(5, vo.offset);
    k.setArg(6, cl_ulong{n});
    k.setArg(7, eps);
    k.setArg(8, cl::Local((local + 1) * sizeof(float)));
    compute_queue_.enqueueNDRangeKernel(k, cl::NullRange, cl::NDRange(rows * local), cl::NDRange(local));
  } catch (const cl::Error& e) {
    rethrow("rmsnorm (clEnqueueNDRangeKernel)", e);
  }
}

void OpenCLDevice::matmul(const WeightView& w, View x, View y, uint64_t m) {
  opencl_matmul(*this, w, x, y, m);
}

// The forward-pass ops live as free functions (opencl_<op>); the device forwards to them.
void OpenCLDevice::get_rows(const WeightView& table, View ids, View out, uint64_t n) {
  opencl_get_rows(*this, table, ids, out, n);
}
void OpenCLDevice::rope(View x, View positions, uint64_t n_tokens, uint64_t n_heads, uint64_t head_stride,
                        uint64_t dim_offset, const RopeParams& p) {
  opencl_rope(*this, x, positions, n_tokens, n_heads, head_stride, dim_offset, p);
}
void OpenCLDevice::softmax(View x, uint64_t rows, uint64_t n, float scale) {
  opencl_softmax(*this, x, rows, n, scale);
}
void OpenCLDevice::swiglu(View gate, View up, View out, uint64_t n, float clamp) {
  opencl_swiglu(*this, gate, up, out, n, clamp);
}
void OpenCLDevice::router(View logits, View bias, View ids, View weights, uint64_t m, const RouterParams& p) {
  opencl_router(*this, logits, bias, ids, weights, m, p);
}
void OpenCLDevice::moe_ffn(const ExpertWeights& w, View x, View ids, View weights, View out, uint64_t m,
                           uint64_t k, float clamp) {
  opencl_moe_ffn(*this, w, x, ids, weights, out, m, k, clamp);
}
void OpenCLDevice::mla_attention(View q, View kv, DType kv_type, View out, uint64_t m, uint64_t pos0,
                                 uint64_t n_head, uint64_t n_latent, uint64_t n_rope, float scale) {
  opencl_mla_attention(*this, q, kv, kv_type, out, m, pos0, n_head, n_latent, n_rope, scale);
}
void OpenCLDevice::convert(View src, View dst, DType dst_type, uint64_t n) {
  opencl_convert(*this, src, dst, dst_type, n);
}

void OpenCLDevice::copy_2d_impl(View src, uint64_t src_pitch, View dst, uint64_t dst_pitch, uint64_t row_bytes,
                                uint64_t rows) {
  auto resolve = [&](View v, uint64_t pitch, const char* arg) {
    const auto* b = dynamic_cast<const OpenCLBuffer*>(v.buffer);
    if (!b || &b->owner() != this)
      fail("device {}: copy_2d: argument '{}' is not a buffer of this device", name(), arg);
    const size_t chunk = b->chunk_of(v.offset, (rows - 1) * pitch + row_bytes, std::string("copy_2d ") + arg);
    return std::make_pair(b->chunk(chunk), v.offset - b->chunk_range(chunk).first);
  };
  const auto [sbuf, soff] = resolve(src, src_pitch, "src");
  const auto [dbuf, doff] = resolve(dst, dst_pitch, "dst");
  try {
    compute_queue_.enqueueCopyBufferRect(sbuf, dbuf, {soff, 0, 0}, {doff, 0, 0}, {row_bytes, rows, 1}, src_pitch, 0,
                                         dst_pitch, 0);
  } catch (const cl::Error& e) {
    rethrow("clEnqueueCopyBufferRect (copy_2d)", e);
  }
}

}  // namespace mixcl::backend
