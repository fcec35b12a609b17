#pragma once
// Large-batch matmul on an OpenCL device: tiles of weight rows dequantized to f32 (cl_kernels/dequantize.cl, which
// shares the matmul kernels' block decoding), each multiplied by CLBlast SGEMM. Chosen by opencl_matmul for
// m >= gemm_from_m; the crossover measurements are in docs/opencl_kernels.md ("Large batches: CLBlast").
#include <cstdint>

#include "backend/opencl/matmul.h"

namespace mixcl::backend {

/// Default f32 scratch per tile of dequantized rows (capped by the device's largest allocation).
inline constexpr uint64_t kDefaultGemmTileBytes = 8ull << 20;

/// Enqueues dst[dst_offset + r * dst_stride + k] = W[first + r][k] as f32, for r < count and k < w.cols, on the
/// compute queue (offsets and stride in floats). Bit-exact with quant::dequantize_row.
void enqueue_dequantize_rows(OpenCLDevice& dev, const OpenCLWeights& w, uint64_t first, uint64_t count,
                             const cl::Buffer& dst, uint64_t dst_offset, uint64_t dst_stride);

/// Dequantizes every row of `w` into `dst`, [w.rows][w.cols] f32 inside one chunk of its buffer.
void opencl_dequantize(OpenCLDevice& dev, const WeightView& w, View dst);

/// y[i][n] = sum_k W[n][k] * x[i][k] for i < m (x [m][w.cols], y [m][w.rows], f32): rows in tiles of at most
/// tile_bytes of f32 (0: kDefaultGemmTileBytes) are dequantized into a scratch buffer, then CLBlast SGEMM
/// computes the tile's columns of y. Enqueued on the compute queue.
void clblast_matmul(OpenCLDevice& dev, const OpenCLWeights& w, const OpenCLFloats& x, const OpenCLFloats& y,
                    uint64_t m, uint64_t tile_bytes = 0);

}  // namespace mixcl::backend
