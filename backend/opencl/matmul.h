#pragma once
// Quantized matrix products on an OpenCL device: y[i][n] = sum_k W[n][k] * x[i][k] (kernels: cl_kernels/matmul_*.cl,
// shapes and tunables: docs/opencl_kernels.md).
#include <cstdint>
#include <string>

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
};

/// True when opencl_matmul has kernels for weights of `type`.
bool opencl_matmul_supports(DType type);

/// y[i][n] = sum_k W[n][k] * x[i][k] for i < m: x is [m][w.cols] f32, y is [m][w.rows] f32; both views must lie
/// inside one chunk of their buffer. The weight rows may span several chunks (each row inside one); the kernel
/// runs once per chunk. Enqueued on the compute queue; errors name the device, the argument and the fix.
void opencl_matmul(OpenCLDevice& dev, const WeightView& w, View x, View y, uint64_t m,
                   const OpenCLMatmulConfig& config = {});

}  // namespace mixcl::backend
