#include "backend/opencl/clblast_matmul.h"

#include <clblast.h>

#include <algorithm>

#include "backend/opencl/cl_error.h"
#include "backend/opencl/opencl_buffer.h"
#include "common/error.h"

namespace mixcl::backend {
namespace {

constexpr uint64_t kDequantLocal = 8;  // dequantize_rows work-group: 8 pieces of one row (fixed: PoCL compiles per size)
constexpr uint64_t kGemmRowMultiple = 64;  // tiles of whole CLBlast work-group tiles where the scratch allows

// A CLBlast status as text: OpenCL codes by name, CLBlast's own by number.
std::string status_text(clblast::StatusCode s) {
  const int code = static_cast<int>(s);
  if (code > -1000) return cl_error_name(code);
  return fmt::format("CLBlast status {}", code);
}

}  // namespace

void enqueue_dequantize_rows(OpenCLDevice& dev, const OpenCLWeights& w, uint64_t first, uint64_t count,
                             const cl::Buffer& dst, uint64_t dst_offset, uint64_t dst_stride) {
  if (first > w.rows || count > w.rows - first)
    fail("device {}: dequantize: rows [{}, {}) outside the {} rows of the weights", dev.name(), first, first + count,
         w.rows);
  if (count == 0) return;
  const bool float_format = dtype_info(w.type).block_elems == 1;
  const uint64_t pieces = uint64_t{w.nblocks} * (float_format ? 1 : dtype_info(w.type).block_elems / 32) +
                          (float_format && w.cols % 32 ? 1 : 0);
  cl::Kernel& k = dev.thread_kernel(w.format_file + "+dequantize.cl", "dequantize_rows");
  try {
    for (const OpenCLWeightSpan& s : w.spans) {
      const uint64_t lo = std::max(first, s.first), hi = std::min(first + count, s.first + s.count);
      if (lo >= hi) continue;
      k.setArg(0, s.chunk);
      k.setArg(1, cl_ulong{s.offset + (lo - s.first) * w.row_bytes});
      k.setArg(2, cl_ulong{w.row_bytes});
      k.setArg(3, static_cast<cl_uint>(hi - lo));
      k.setArg(4, cl_uint{w.nblocks});
      k.setArg(5, static_cast<cl_uint>(w.cols));
      k.setArg(6, dst);
      k.setArg(7, cl_ulong{dst_offset + (lo - first) * dst_stride});
      k.setArg(8, cl_ulong{dst_stride});
      const cl::NDRange global((pieces + kDequantLocal - 1) / kDequantLocal * kDequantLocal, hi - lo);
      dev.compute_queue().enqueueNDRangeKernel(k, cl::NullRange, global, cl::NDRange(kDequantLocal, 1));
    }
  } catch (const cl::Error& e) {
    throw cl_failure(dev.name(),
                     fmt::format("dequantize_rows ({} {}x{}, rows {}..{})", dtype_name(w.type), w.rows, w.cols, first,
                                 first + count),
                     e.err());
  }
}

void opencl_dequantize(OpenCLDevice& dev, const WeightView& w, View dst) {
  const OpenCLWeights wt = opencl_weights(dev, w, "dequantize");
  const OpenCLFloats d = opencl_floats(dev, dst, w.rows * w.cols * 4, "dequantize", "destination view");
  enqueue_dequantize_rows(dev, wt, 0, w.rows, d.buffer, d.offset, w.cols);
}

void clblast_matmul(OpenCLDevice& dev, const OpenCLWeights& w, const OpenCLFloats& x, const OpenCLFloats& y,
                    uint64_t m, uint64_t tile_bytes) {
  if (m == 0 || w.rows == 0) return;
  const uint64_t row_f32 = w.cols * sizeof(float);
  const uint64_t budget = std::min(tile_bytes ? tile_bytes : kDefaultGemmTileBytes, dev.caps().max_alloc_bytes);
  if (budget < row_f32)
    fail("device {}: matmul: one dequantized row ({} bytes) does not fit the {}-byte tile scratch; raise "
         "gemm_tile_bytes or use the matmul kernels (gemm_from_m above m = {})",
         dev.name(), row_f32, budget, m);
  uint64_t tile = budget / row_f32;
  if (tile >= kGemmRowMultiple) tile = tile / kGemmRowMultiple * kGemmRowMultiple;
  tile = std::min(tile, w.rows);
  // The scratch is released when this returns; OpenCL keeps a cl_mem alive until the commands using it finish.
  const auto scratch = dev.allocate(tile * row_f32);
  const cl::Buffer& s = cl_chunk(*scratch, 0);
  cl_command_queue queue = dev.compute_queue()();
  for (uint64_t n0 = 0; n0 < w.rows; n0 += tile) {
    const uint64_t nt = std::min(tile, w.rows - n0);
    enqueue_dequantize_rows(dev, w, n0, nt, s, 0, w.cols);
    // Row-major: y[:, n0:n0+nt] (ld rows) = x (m x cols) * scratch^T (scratch is nt x cols).
    const clblast::StatusCode st = clblast::Gemm<float>(
        clblast::Layout::kRowMajor, clblast::Transpose::kNo, clblast::Transpose::kYes, m, nt, w.cols, 1.0f,
        x.buffer(), x.offset, w.cols, s(), 0, w.cols, 0.0f, y.buffer(), y.offset + n0, w.rows, &queue, nullptr);
    if (st != clblast::StatusCode::kSuccess)
      fail("device {}: matmul: CLBlast SGEMM (m={}, n={}, k={}, weights {} {}x{}) failed: {}; set gemm_from_m "
           "above {} to use the matmul kernels",
           dev.name(), m, nt, w.cols, dtype_name(w.type), w.rows, w.cols, status_text(st), m);
  }
}

}  // namespace mixcl::backend
