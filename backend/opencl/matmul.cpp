#include "backend/opencl/matmul.h"

#include <algorithm>
#include <bit>
#include <limits>

#include "backend/opencl/cl_error.h"
#include "backend/opencl/clblast_matmul.h"
#include "backend/opencl/opencl_buffer.h"
#include "common/error.h"

namespace mixcl::backend {
namespace {

// The format file of a weight type ("" when there is none).
std::string_view format_file(DType type) {
  switch (type) {
    case DType::F32: return "matmul_f32.cl";
    case DType::F16: return "matmul_f16.cl";
    case DType::BF16: return "matmul_bf16.cl";
    case DType::Q8_0: return "matmul_q8_0.cl";
    case DType::Q4_0: return "matmul_q4_0.cl";
    case DType::Q5_0: return "matmul_q5_0.cl";
    case DType::Q2_K: return "matmul_q2_k.cl";
    case DType::Q3_K: return "matmul_q3_k.cl";
    case DType::Q4_K: return "matmul_q4_k.cl";
    case DType::Q5_K: return "matmul_q5_k.cl";
    case DType::Q6_K: return "matmul_q6_k.cl";
    case DType::MXFP4: return "matmul_mxfp4.cl";
    default: return "";
  }
}

constexpr uint64_t kTileLocal = 8;  // mm_tile work-group: 8 tiles along the rows

// Byte alignment a weight row start needs: the widest scalar its kernels load (f32, f16 scales, u8).
uint64_t row_alignment(DType type) {
  if (type == DType::F32) return 4;
  if (type == DType::MXFP4) return 1;
  return 2;
}

const OpenCLBuffer& own(const OpenCLDevice& dev, const Buffer* buffer, std::string_view op, std::string_view arg) {
  const auto* b = dynamic_cast<const OpenCLBuffer*>(buffer);
  if (!b) fail("device {}: {}: the {} is not a buffer of an OpenCL device", dev.name(), op, arg);
  if (&b->owner() != &dev)
    fail("device {}: {}: the {} lives on device {}; copy it here first", dev.name(), op, arg, b->owner().name());
  return *b;
}

uint32_t checked_u32(const OpenCLDevice& dev, uint64_t v, std::string_view op, std::string_view what) {
  if (v > std::numeric_limits<uint32_t>::max())
    fail("device {}: {}: {} = {} exceeds the kernels' 32-bit limit; split the matrix", dev.name(), op, what, v);
  return static_cast<uint32_t>(v);
}

}  // namespace

bool opencl_matmul_supports(DType type) { return !format_file(type).empty(); }

OpenCLMatmulConfig opencl_matmul_config(const OpKernelConfigs& configs, std::string_view op, DType type, uint64_t m) {
  OpenCLMatmulConfig c;
  const auto applicable = applicable_kernel_configs(configs, op, type, m);
  for (const OpKernelConfig* a : applicable)
    if (!a->variant.empty()) c.variant = a->variant;  // the most specific entry comes last
  auto u32 = [&](std::string_view name) {
    return static_cast<uint32_t>(std::min<uint64_t>(kernel_config_number(applicable, name).value_or(0), UINT32_MAX));
  };
  c.rows_per_item = u32("MM_ROWS");
  c.local_size = u32("MM_LOCAL");
  c.tile_rows = u32("MM_TILE_ROWS");
  c.tile_tokens = u32("MM_TILE_TOKENS");
  c.tiled_from_m = u32("MM_TILED_FROM_M");
  c.gemm_from_m = kernel_config_number(applicable, "MM_GEMM_FROM_M").value_or(0);
  return c;
}

OpenCLMatmulConfig overlay_matmul_config(OpenCLMatmulConfig over, const OpenCLMatmulConfig& under) {
  if (over.variant.empty()) over.variant = under.variant;
  if (!over.rows_per_item) over.rows_per_item = under.rows_per_item;
  if (!over.local_size) over.local_size = under.local_size;
  if (!over.tile_rows) over.tile_rows = under.tile_rows;
  if (!over.tile_tokens) over.tile_tokens = under.tile_tokens;
  if (!over.tiled_from_m) over.tiled_from_m = under.tiled_from_m;
  if (!over.gemm_from_m) over.gemm_from_m = under.gemm_from_m;
  if (!over.gemm_tile_bytes) over.gemm_tile_bytes = under.gemm_tile_bytes;
  return over;
}

OpenCLFloats opencl_floats(const OpenCLDevice& dev, View v, uint64_t bytes, std::string_view op, std::string_view arg) {
  const OpenCLBuffer& b = own(dev, v.buffer, op, arg);
  if (v.offset % sizeof(float) != 0)
    fail("device {}: {}: the {} starts at byte {}, which is not a multiple of 4 (f32)", dev.name(), op, arg,
         v.offset);
  const size_t chunk = b.chunk_of(v.offset, bytes, fmt::format("{} {}", op, arg));
  return {b.chunk(chunk), (v.offset - b.chunk_range(chunk).first) / sizeof(float)};
}

OpenCLWeights opencl_weights(const OpenCLDevice& dev, const WeightView& w, std::string_view op) {
  OpenCLWeights out;
  out.type = w.type;
  out.format_file = format_file(w.type);
  if (out.format_file.empty())
    fail("device {}: {}: weights of type {} are not supported by the OpenCL kernels; convert the tensor "
         "(supported: F32, F16, BF16, Q8_0, Q4_0, Q5_0, Q2_K..Q6_K, MXFP4) or place it on the host",
         dev.name(), op, dtype_name(w.type));
  const DTypeInfo info = dtype_info(w.type);
  if (w.cols == 0 || w.cols % info.block_elems != 0)
    fail("device {}: {}: {} weights need rows that are a multiple of {} elements; got {} elements", dev.name(), op,
         dtype_name(w.type), info.block_elems, w.cols);
  const uint64_t rb = row_bytes(w.type, w.cols);
  out.rows = w.rows;
  out.cols = w.cols;
  out.row_bytes = rb;
  const OpenCLBuffer& b = own(dev, w.data.buffer, op, "weight view");
  const uint64_t total = w.rows * rb;
  if (w.data.offset > b.size() || total > b.size() - w.data.offset)
    fail("device {}: {}: the weight view ({} rows of {} bytes from byte {}) leaves its {}-byte buffer", dev.name(),
         op, w.rows, rb, w.data.offset, b.size());
  uint64_t row = 0;
  for (size_t i = 0; i < b.chunk_count() && row < w.rows; ++i) {
    const auto [begin, end] = b.chunk_range(i);
    const uint64_t at = w.data.offset + row * rb;
    if (at >= end) continue;
    const uint64_t fit = at < begin ? 0 : (end - at) / rb;  // whole rows from `at` that end inside this chunk
    if (fit == 0)
      fail("device {}: {}: weight row {} (bytes [{}, {})) crosses the boundary at byte {} between two chunks "
           "of the buffer; allocate weights with the row size ({} bytes) as granule",
           dev.name(), op, row, at, at + rb, at < begin ? begin : end, rb);
    const uint64_t count = std::min(fit, w.rows - row);
    out.spans.push_back({b.chunk(i), row, count, at - begin});
    row += count;
  }
  const uint64_t align = row_alignment(w.type);
  if (rb % align != 0 || std::any_of(out.spans.begin(), out.spans.end(),
                                     [&](const OpenCLWeightSpan& s) { return s.offset % align; }))
    fail("device {}: {}: {} weight rows must start at a multiple of {} bytes in their chunk (view at byte {})",
         dev.name(), op, dtype_name(w.type), align, w.data.offset);
  // 32-element pieces handled by the kernels; float formats finish the last columns element by element.
  const uint32_t qk = info.block_elems == 1 ? 32 : info.block_elems;
  out.nblocks = checked_u32(dev, w.cols / qk, op, "blocks per row");
  checked_u32(dev, w.cols, op, "columns");
  checked_u32(dev, w.rows, op, "rows");
  return out;
}

void opencl_matmul(OpenCLDevice& dev, const WeightView& w, View x, View y, uint64_t m,
                   const OpenCLMatmulConfig& given) {
  const OpenCLMatmulConfig config =
      dev.kernel_configs().empty() ? given
                                   : overlay_matmul_config(given, opencl_matmul_config(dev.kernel_configs(), "matmul",
                                                                                       w.type, m));
  const OpenCLWeights wt = opencl_weights(dev, w, "matmul");
  const OpenCLFloats vx = opencl_floats(dev, x, m * w.cols * 4, "matmul", "activation (x) view");
  const OpenCLFloats vy = opencl_floats(dev, y, m * w.rows * 4, "matmul", "output (y) view");
  if (m == 0 || w.rows == 0) return;
  checked_u32(dev, m, "matmul", "tokens");
  if (!config.variant.empty() && config.variant != "vector" && config.variant != "workgroup")
    fail("device {}: matmul: unknown variant '{}' (allowed: vector, workgroup, or empty)", dev.name(),
         config.variant);
  const uint64_t gemm_from = config.gemm_from_m ? config.gemm_from_m : dev.gemm_from_m();
  if (m >= gemm_from) {
    clblast_matmul(dev, wt, vx, vy, m, config.gemm_tile_bytes);
    return;
  }

  const bool vec = config.variant.empty() ? dev.shape() == KernelShape::kVector : config.variant == "vector";
  const uint32_t rows_per_item = config.rows_per_item ? config.rows_per_item : 2;
  const uint32_t tile_rows = config.tile_rows ? config.tile_rows : 2;
  const uint32_t tile_tokens = config.tile_tokens ? config.tile_tokens : 4;
  const uint64_t tiled_from = config.tiled_from_m ? config.tiled_from_m : 2;
  const bool subgroups = !vec && dev.caps().subgroups;
  // One program per format serves every kernel (mv_vec, mv_wg, mm_tile), so each format compiles once.
  const std::string options = fmt::format("-DMM_ROWS={} -DMM_TILE_ROWS={} -DMM_TILE_TOKENS={} -DUSE_SUBGROUPS={}",
                                          rows_per_item, tile_rows, tile_tokens, subgroups ? 1 : 0);
  const std::string program = wt.format_file + "+matmul_common.cl";
  cl::CommandQueue& queue = dev.compute_queue();
  const char* kname = m >= tiled_from ? "mm_tile" : vec ? "mv_vec" : "mv_wg";
  // This thread's kernel object, reused from call to call (clCreateKernel costs more than a small mat-vec).
  cl::Kernel& k = dev.thread_kernel(program, kname, options);
  const cl_uint nblocks = wt.nblocks, cols = static_cast<cl_uint>(w.cols);
  try {
    size_t wg_local = 0;
    if (std::string_view(kname) == "mv_wg") {
      wg_local = std::min<size_t>(config.local_size ? config.local_size : 64, dev.caps().max_work_group_size);
      wg_local = std::min(wg_local, k.getWorkGroupInfo<CL_KERNEL_WORK_GROUP_SIZE>(dev.cl_device()));
      wg_local = std::bit_floor(std::max<size_t>(wg_local, 1));
    }
    for (const OpenCLWeightSpan& s : wt.spans) {
      const auto nrows = static_cast<cl_uint>(s.count);
      k.setArg(0, s.chunk);
      k.setArg(1, cl_ulong{s.offset});
      k.setArg(2, cl_ulong{wt.row_bytes});
      k.setArg(3, nrows);
      k.setArg(4, nblocks);
      k.setArg(5, cols);
      k.setArg(6, vx.buffer);
      if (std::string_view(kname) == "mm_tile") {
        k.setArg(7, cl_ulong{vx.offset});
        k.setArg(8, cl_ulong{w.cols});
        k.setArg(9, vy.buffer);
        k.setArg(10, cl_ulong{vy.offset + s.first});
        k.setArg(11, cl_ulong{w.rows});
        k.setArg(12, static_cast<cl_uint>(m));
        // A fixed local size: PoCL compiles a kernel once per local size, and a driver-chosen one varies.
        const uint64_t items = (s.count + tile_rows - 1) / tile_rows;
        const cl::NDRange global((items + kTileLocal - 1) / kTileLocal * kTileLocal, (m + tile_tokens - 1) / tile_tokens);
        queue.enqueueNDRangeKernel(k, cl::NullRange, global, cl::NDRange(kTileLocal, 1));
        continue;
      }
      k.setArg(8, vy.buffer);
      if (wg_local) k.setArg(10, cl::Local(wg_local * sizeof(float)));
      for (uint64_t i = 0; i < m; ++i) {  // below tiled_from: one mat-vec per token
        k.setArg(7, cl_ulong{vx.offset + i * w.cols});
        k.setArg(9, cl_ulong{vy.offset + i * w.rows + s.first});
        if (wg_local) {
          queue.enqueueNDRangeKernel(k, cl::NullRange, cl::NDRange(s.count * wg_local), cl::NDRange(wg_local));
        } else {
          const uint64_t local = config.local_size ? config.local_size : 8;
          const uint64_t items = (s.count + rows_per_item - 1) / rows_per_item;
          queue.enqueueNDRangeKernel(k, cl::NullRange, cl::NDRange((items + local - 1) / local * local),
                                     cl::NDRange(local));
        }
      }
    }
  } catch (const cl::Error& e) {
    throw cl_failure(dev.name(), fmt::format("matmul {} ({} {}x{}, m={})", kname, dtype_name(w.type), w.rows, w.cols, m),
                     e.err());
  }
}

}  // namespace mixcl::backend
