// softmax, swiglu and convert on an OpenCL device (cl_kernels/softmax.cl, swiglu.cl, convert.cl).
#include "backend/opencl/ops.h"
#include "backend/opencl/ops/op_common.h"

namespace mixcl::backend {

using namespace clops;

void opencl_softmax(OpenCLDevice& dev, View x, uint64_t rows, uint64_t n, float scale) {
  const ClView vx = resolve(dev, x, rows * n * 4, 4, "softmax", "x");
  if (rows == 0 || n == 0) return;
  const bool vec = dev.shape() == KernelShape::kVector;
  std::string options;
  if (vec)
    options = fmt::format("-DVEC={}", vector_width(dev));
  else if (dev.caps().subgroups)
    options = "-DUSE_SUBGROUPS=1";
  cl::Kernel k = dev.kernel("softmax.cl", vec ? "softmax_vec" : "softmax_wg", options);
  // Few work-items per row on CPU-like devices (each streams a span), a wide group on GPUs; short rows need
  // fewer lanes.
  size_t want = vec ? std::min<uint64_t>(16, std::bit_ceil(std::max<uint64_t>(n / 64, 1)))
                    : std::min<uint64_t>(256, std::bit_ceil(n));
  const size_t local = local_size(dev, k, want);
  set_args(k, vx.buffer, vx.offset, cl_ulong{n}, scale, cl::Local((local + 1) * sizeof(float)));
  launch(dev, k, rows * local, local, "softmax");
}

void opencl_swiglu(OpenCLDevice& dev, View gate, View up, View out, uint64_t n, float clamp) {
  const ClView vg = resolve(dev, gate, n * 4, 4, "swiglu", "gate"), vu = resolve(dev, up, n * 4, 4, "swiglu", "up"),
               vo = resolve(dev, out, n * 4, 4, "swiglu", "out");
  if (n == 0) return;
  const bool vec = dev.shape() == KernelShape::kVector;
  const int width = vector_width(dev);
  cl::Kernel k = dev.kernel("swiglu.cl", vec ? "swiglu_vec" : "swiglu_scalar",
                            vec ? fmt::format("-DVEC={}", width) : std::string());
  set_args(k, vg.buffer, vg.offset, vu.buffer, vu.offset, vo.buffer, vo.offset, cl_ulong{n}, clamp);
  launch(dev, k, vec ? (n + width - 1) / width : n, 0, "swiglu");
}

void opencl_convert(OpenCLDevice& dev, View src, View dst, DType dst_type, uint64_t n) {
  const char* name = dst_type == DType::F32 ? "f32" : dst_type == DType::F16 ? "f16" : dst_type == DType::BF16 ? "bf16" : nullptr;
  if (!name)
    fail("device {}: convert: target type {} is not supported (F32, F16 or BF16)", dev.name(), dtype_name(dst_type));
  const uint64_t es = dst_type == DType::F32 ? 4 : 2;
  const ClView vs = resolve(dev, src, n * 4, 4, "convert", "src"), vd = resolve(dev, dst, n * es, es, "convert", "dst");
  if (n == 0) return;
  const bool vec = dev.shape() == KernelShape::kVector;
  const int width = vector_width(dev);
  cl::Kernel k = dev.kernel("convert.cl", fmt::format("convert_{}_{}", name, vec ? "vec" : "scalar"),
                            vec ? fmt::format("-DVEC={}", width) : std::string());
  set_args(k, vs.buffer, vs.offset, vd.buffer, vd.offset, cl_ulong{n});
  launch(dev, k, vec ? (n + width - 1) / width : n, 0, "convert");
}

}  // namespace mixcl::backend
