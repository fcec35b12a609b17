#pragma once
// OpenCL implementations of the forward-pass ops (docs/opencl_ops.md). Each takes the OpenCL device first and
// has the parameters of the host version (backend/host/host_ops.h); all are enqueued in order on the device's
// compute queue. Views must lie inside one chunk of their buffer (weight tables may span chunks, a row each).
#include <cstdint>

#include "backend/op_params.h"
#include "backend/opencl/opencl_device.h"

namespace mixcl::backend {

/// out[i] = row ids[i] of `table` dequantized to f32 (ids: int32 [n]); an id outside [0, table.rows) is an
/// error naming the id and the table size (ids are read back to check them).
void opencl_get_rows(OpenCLDevice& dev, const WeightView& table, View ids, View out, uint64_t n);

/// In place on x: [n_tokens][n_heads][head_stride]; rotates dims [dim_offset, dim_offset + p.n_dims) of each
/// head at positions[t] (int32 [n_tokens]).
void opencl_rope(OpenCLDevice& dev, View x, View positions, uint64_t n_tokens, uint64_t n_heads,
                 uint64_t head_stride, uint64_t dim_offset, const RopeParams& p);

/// In place row-wise softmax of x [rows][n] after multiplying by `scale`.
void opencl_softmax(OpenCLDevice& dev, View x, uint64_t rows, uint64_t n, float scale);

/// out[i] = silu(gate[i]) * up[i]; with clamp > 0, gate is clamped to <= clamp and up to [-clamp, clamp].
void opencl_swiglu(OpenCLDevice& dev, View gate, View up, View out, uint64_t n, float clamp = 0.0f);

/// Top-k routing of `logits` [m][n_expert] (+ optional selection bias [n_expert], buffer null when absent):
/// ids int32 [m][n_used], weights f32 [m][n_used] from the unbiased scores; ties go to the lower expert id.
void opencl_router(OpenCLDevice& dev, View logits, View bias, View ids, View weights, uint64_t m,
                   const RouterParams& p);

/// out[i] += Σ_j weights[i][j] * FFN_{ids[i][j]}(x[i]) (x, out: [m][E]; ids int32 / weights f32: [m][k]).
/// The device sorts the (token, slot) pairs by expert itself; the host reads back only the per-expert counts
/// (one blocking read per call) to size the grouped products.
void opencl_moe_ffn(OpenCLDevice& dev, const ExpertWeights& w, View x, View ids, View weights, View out, uint64_t m,
                    uint64_t k, float clamp = 0.0f);

/// Absorbed MLA attention (deepseek2.md §5.3) for m new tokens at positions pos0..pos0+m-1 over a latent
/// cache kv [>= pos0+m][n_latent + n_rope] (F32 or F16), causal; q: [m][n_head][n_latent + n_rope],
/// out: [m][n_head][n_latent].
void opencl_mla_attention(OpenCLDevice& dev, View q, View kv, DType kv_type, View out, uint64_t m, uint64_t pos0,
                          uint64_t n_head, uint64_t n_latent, uint64_t n_rope, float scale);

/// Converts n f32 values from src into dst as F32, F16 or BF16 (round to nearest even).
void opencl_convert(OpenCLDevice& dev, View src, View dst, DType dst_type, uint64_t n);

}  // namespace mixcl::backend
