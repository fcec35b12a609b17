#pragma once
// Host implementations of the forward-pass ops (docs/ops.md). Each takes the host device first; the
// signatures match the Device ops they will become (notes: device_ops.md). All activations are f32.
#include <cstdint>
#include <vector>

#include "backend/host/host_device.h"
#include "backend/op_params.h"

namespace mixcl::backend {

/// out[i] = row ids[i] of `table` dequantized to f32 (ids: int32 [n]); an id outside [0, table.rows) is an
/// error naming the id and the table size.
void host_get_rows(HostDevice& dev, const WeightView& table, View ids, View out, uint64_t n);

/// In place on x: [n_tokens][n_heads][head_stride]; rotates dims [dim_offset, dim_offset + p.n_dims) of each
/// head at positions[t] (int32 [n_tokens]).
void host_rope(HostDevice& dev, View x, View positions, uint64_t n_tokens, uint64_t n_heads,
               uint64_t head_stride, uint64_t dim_offset, const RopeParams& p);

/// In place row-wise softmax of x [rows][n] after multiplying by `scale`.
void host_softmax(HostDevice& dev, View x, uint64_t rows, uint64_t n, float scale);

/// out[i] = silu(gate[i]) * up[i]; with clamp > 0, gate is clamped to <= clamp and up to [-clamp, clamp].
void host_swiglu(HostDevice& dev, View gate, View up, View out, uint64_t n, float clamp = 0.0f);

/// Top-k routing of `logits` [m][n_expert] (+ optional selection bias [n_expert], buffer null when absent):
/// ids int32 [m][n_used], weights f32 [m][n_used] from the unbiased scores; ties go to the lower expert id
/// (and the lower group index).
void host_router(HostDevice& dev, View logits, View bias, View ids, View weights, uint64_t m,
                 const RouterParams& p);

/// out[i] += Σ_j weights[i][j] * FFN_{ids[i][j]}(x[i]) (x, out: [m][E]; ids int32 / weights f32: [m][k]),
/// tokens grouped by expert so each expert runs one batched product per matrix.
void host_moe_ffn(HostDevice& dev, const ExpertWeights& w, View x, View ids, View weights, View out,
                  uint64_t m, uint64_t k, float clamp = 0.0f);

/// Absorbed MLA attention (deepseek2.md §5.3) for m new tokens at positions pos0..pos0+m-1 over a latent
/// cache kv [>= pos0+m][n_latent + n_rope] (F32 or F16), causal; q: [m][n_head][n_latent + n_rope],
/// out: [m][n_head][n_latent].
void host_mla_attention(HostDevice& dev, View q, View kv, DType kv_type, View out, uint64_t m, uint64_t pos0,
                        uint64_t n_head, uint64_t n_latent, uint64_t n_rope, float scale);

/// Converts n f32 values from src into dst as F32, F16 or BF16 (round to nearest even).
void host_convert(HostDevice& dev, View src, View dst, DType dst_type, uint64_t n);

/// The per-pair inverse frequencies of `p` (n_dims/2 values) with YaRN blending applied, in f64.
std::vector<double> rope_inv_freqs(const RopeParams& p);

/// True when host_get_rows() decodes rows of `type`.
bool get_rows_supports(DType type);

}  // namespace mixcl::backend
