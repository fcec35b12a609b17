#pragma once
// Plain double-precision references of the forward-pass ops, written from deepseek2.md §4-§6 and
// deepseek4.md §7 and independent of the production code (backend/host/ops). Slow on purpose.
#include <cstdint>
#include <vector>

#include "common/dtype.h"

namespace mixcl::reference {

/// RoPE inverse frequencies of n_dims/2 pairs with YaRN blending when factor != 1 (deepseek2.md §5.5).
std::vector<double> ref_rope_inv_freq(uint32_t n_dims, double base, double yarn_factor, double orig_ctx,
                                      double beta_fast, double beta_slow);

/// RoPE in place on x [n_tokens][n_heads][head_stride], dims [dim_offset, dim_offset + n_dims).
void ref_rope(std::vector<double>& x, const std::vector<int32_t>& positions, uint64_t n_heads,
              uint64_t head_stride, uint64_t dim_offset, uint32_t n_dims, bool neox,
              const std::vector<double>& inv);

/// Row softmax of scale * x [rows][n]; entries at -inf get weight 0.
std::vector<double> ref_softmax(const std::vector<float>& x, uint64_t rows, uint64_t n, double scale);

/// silu(g) * u with the deepseek4 clamp (g <= clamp, |u| <= clamp) when clamp > 1e-6.
double ref_swiglu(double g, double u, double clamp);

/// Router result: ids [m][k] and weights [m][k], selection in descending order (ties: lower id).
struct RouterRef {
  std::vector<int32_t> ids;
  std::vector<double> weights;
};
/// deepseek2.md §6.2: gating 1 softmax, 2 sigmoid, 4 sqrt-softplus; bias may be empty; groups when G > 1
/// (group score = sum of its two largest selection values, ties: lower group).
RouterRef ref_router(const std::vector<float>& logits, const std::vector<float>& bias, uint64_t m, uint32_t X,
                     uint32_t k, int gating, uint32_t G, uint32_t Gk, bool norm, double scale);

/// Absorbed MLA attention (deepseek2.md §5.3): q [m][H][Lkv+dr], kv [pos0+m][Lkv+dr], out [m][H][Lkv].
std::vector<double> ref_mla_absorbed(const std::vector<double>& q, const std::vector<double>& kv, uint64_t m,
                                     uint64_t pos0, uint64_t H, uint64_t Lkv, uint64_t dr, double scale);

/// Naive decompressed MHA (deepseek2.md §5.2) for one token at position p over cache rows 0..p:
/// Kb [H][Lkv][dn], Vb [H][dv][Lkv], q_nope [H][dn], q_pe [H][dr], c [p+1][Lkv], k_pe [p+1][dr];
/// returns o [H][dv].
std::vector<double> ref_mla_naive(const std::vector<double>& Kb, const std::vector<double>& Vb,
                                  const std::vector<double>& q_nope, const std::vector<double>& q_pe,
                                  const std::vector<double>& c, const std::vector<double>& k_pe, uint64_t p,
                                  uint64_t H, uint64_t Lkv, uint64_t dn, uint64_t dv, uint64_t dr,
                                  double scale);

/// out[t] += Σ_j w[t][j] * down_e(swiglu(gate_e x, up_e x)) with dequantized expert matrices
/// (gate/up [X][Fe][E], down [X][E][Fe], row-major doubles). With in_block / down_block > 0 the input of
/// the gate/up (down) products is first rounded to 8-bit blocks of that size as the integer-dot kernels do
/// (matmul_reference.h), so quantized formats can be held to a tight bound.
void ref_moe_ffn(const std::vector<double>& gate, const std::vector<double>& up,
                 const std::vector<double>& down, uint64_t E, uint64_t Fe, const std::vector<float>& x,
                 const std::vector<int32_t>& ids, const std::vector<float>& w, uint64_t m, uint64_t k,
                 double clamp, std::vector<double>& out, uint32_t in_block = 0, uint32_t down_block = 0);

/// Decodes `rows` rows of `cols` elements of `type` to doubles with the reference codecs (model/quant).
std::vector<double> ref_dequantize(DType type, const uint8_t* data, uint64_t rows, uint64_t cols);

/// sqrt(Σ (a-b)²) / sqrt(Σ b²) (0 when both are 0): the normalised error used by the op tests.
double normalized_error(const float* a, const double* b, uint64_t n);

}  // namespace mixcl::reference
