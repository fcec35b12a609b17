#pragma once
// Quantized matrix products on an OpenCL device: y[i][n] = sum_k W[n][k] * x[i][k] (kernels: cl_kernels/matmul_*.cl,
// shapes and tunables: docs/opencl_kernels.md).
#include <cstdint>
#include <string>
#include <vector>

#include "backend/device.h"
#include "backend/opencl/opencl_device.h"

namespace mixcl::backend {

/// Tunables of opencl_matmul; 0 / empty picks the default for the device.
struct OpenCLMatmulConfig {
  std::string variant;         // "": the device's shape(); "vector" or "workgroup" forces the mat-vec kernel
  uint32_t rows_per_item = 0;  // mv_vec: rows per work-item (MM_ROWS, default 2)
  uint32_t local_size = 0;     // mv_vec: work-group size (default 8); mv_wg: lanes per row (default 64)
  uint32_t tile_rows = 0;      // mm_tile: rows per work-item (MM_TILE_ROWS, default 2)
  uint32_t tile_tokens = 0;    // mm_tile: tokens per work-item (MM_TILE_TOKENS, default 4)
  uint32_t tiled_from_m = 0;   // use mm_tile when m >= this (default 2); below it, one mat-vec per token
  uint64_t gemm_from_m = 0;    // dequantize + CLBlast SGEMM when m >= this (0: the device's gemm_from_m())
  uint64_t gemm_tile_bytes = 0;  // f32 scratch per dequantized tile of rows (0: 8 MiB, capped by max alloc)
};

/// Weight rows [first, first + count) of a view that one cl_mem chunk holds, from byte `offset` of it.
struct OpenCLWeightSpan {
  cl::Buffer chunk;
  uint64_t first = 0, count = 0, offset = 0;
};

/// The matmul tunables that the device's kernel configs give `op` ("matmul", or "moe_ffn" for its expert
/// products) on weights of `type` with m tokens (macros MM_ROWS, MM_LOCAL, ... of backend/opencl/kernel_config.cpp).
OpenCLMatmulConfig opencl_matmul_config(const OpKernelConfigs& configs, std::string_view op, DType type, uint64_t m);
/// `over` with its unset (0 / empty) fields taken from `under`.
OpenCLMatmulConfig overlay_matmul_config(OpenCLMatmulConfig over, const OpenCLMatmulConfig& under);

/// A weight view checked for the matmul kernels (supported type, whole blocks, row alignment, inside its buffer,
/// no row across chunks) and split into per-chunk spans.
struct OpenCLWeights {
  DType type = DType::F32;
  std::string format_file;  // "matmul_<fmt>.cl": MM_QK, MM_QB, mm_decode (see cl_kernels/matmul_common.cl)
  uint64_t rows = 0, cols = 0, row_bytes = 0;
  uint32_t nblocks = 0;     // whole 32-element pieces (float formats) or blocks per row
  std::vector<OpenCLWeightSpan> spans;
};

/// Checks `w` for `op` ("matmul", "dequantize") on `dev`; errors name the device, the argument and the fix.
OpenCLWeights opencl_weights(const OpenCLDevice& dev, const WeightView& w, std::string_view op);

/// A float view resolved to the chunk that holds `bytes` from it (offset in floats from the chunk's start).
struct OpenCLFloats {
  cl::Buffer buffer;
  cl_ulong offset = 0;
};
/// Resolves `v` (argument `arg` of `op`) on `dev`: an OpenCL buffer of this device, 4-byte aligned, one chunk.
OpenCLFloats opencl_floats(const OpenCLDevice& dev, View v, uint64_t bytes, std::string_view op,
                           std::string_view arg);

/// True when opencl_matmul has kernels for weights of `type`.
bool opencl_matmul_supports(DType type);

/// y[i][n] = sum_k W[n][k] * x[i][k] for i < m: x is [m][w.cols] f32, y is [m][w.rows] f32; both views must lie
/// inside one chunk of their buffer. The weight rows may span several chunks (each row inside one); the kernel
/// runs once per chunk. m >= gemm_from_m (config, else the device's) takes the CLBlast path
/// (backend/opencl/clblast_matmul.h), below it the matmul kernels. Enqueued on the compute queue; errors name
/// the device, the argument and the fix. Fields of `config` left unset come from the device's kernel configs
/// (OpenCLDevice::set_kernel_configs, key "matmul"), then from the built-in defaults.
void opencl_matmul(OpenCLDevice& dev, const WeightView& w, View x, View y, uint64_t m,
                   const OpenCLMatmulConfig& config = {});

}  // namespace mixcl::backend
