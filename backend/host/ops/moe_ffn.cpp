// Expert-batched SwiGLU FFN: tokens grouped by expert (counting sort), one batched product per expert and
// matrix, then a weighted scatter-add in token order (deterministic for any thread count).
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "backend/host/host_ops.h"
#include "backend/host/kernels/matmul.h"
#include "backend/host/ops/op_util.h"
#include "backend/host/ops/vec_math.h"

namespace mixcl::backend {
namespace {

// Scratch reused across calls on one thread, so decode allocates nothing once warm.
struct MoeScratch {
  std::vector<uint32_t> count, offset, fill;  // per expert
  std::vector<uint32_t> row_token;            // grouped row -> token
  std::vector<uint32_t> slot_row;             // token*k + j -> grouped row
  std::vector<uint32_t> active;               // experts with at least one token
  std::vector<float> xg, g, u, y;             // grouped activations and intermediates
};

template <class T>
void grow(std::vector<T>& v, size_t n) {
  if (v.size() < n) v.resize(n);
}

void check_expert_view(const WeightView& w, uint64_t rows, uint64_t cols, uint32_t n_expert,
                       const char* what) {
  if (w.rows != rows || w.cols != cols)
    fail("host moe_ffn: {} experts are {}×{} but must be {}×{} (rows × cols)", what, w.rows, w.cols, rows,
         cols);
  if (!matmul_supports(w.type))
    fail("host moe_ffn: {} experts have type {}, which the host matmul does not support", what,
         dtype_name(w.type));
  const uint32_t block = dtype_info(w.type).block_elems;
  if (cols % block != 0)
    fail("host moe_ffn: {} expert rows of {} elements are not a multiple of the {}-element {} block", what,
         cols, block, dtype_name(w.type));
  ops::checked_ptr(w.data, n_expert * rows * row_bytes(w.type, cols), "moe_ffn", what);
}

}  // namespace

void host_moe_ffn(HostDevice& dev, const ExpertWeights& w, View x, View ids, View weights, View out,
                  uint64_t m, uint64_t k, float clamp) {
  const uint32_t X = w.n_expert;
  const uint64_t E = w.gate.cols, Fe = w.gate.rows;
  if (X == 0 || E == 0 || Fe == 0) fail("host moe_ffn: empty expert tensors ({} experts of {}×{})", X, Fe, E);
  check_expert_view(w.gate, Fe, E, X, "gate");
  check_expert_view(w.up, Fe, E, X, "up");
  check_expert_view(w.down, E, Fe, X, "down");
  if (m == 0 || k == 0) return;
  const float* px = ops::checked<const float>(x, m * E, "moe_ffn", "x");
  const int32_t* pid = ops::checked<const int32_t>(ids, m * k, "moe_ffn", "ids");
  const float* pw = ops::checked<const float>(weights, m * k, "moe_ffn", "weights");
  float* po = ops::checked<float>(out, m * E, "moe_ffn", "output");
  for (uint64_t i = 0; i < m * k; ++i)
    if (pid[i] < 0 || static_cast<uint64_t>(pid[i]) >= X)
      fail("host moe_ffn: expert id {} (token {}, slot {}) is outside the {} experts", pid[i], i / k, i % k,
           X);

  thread_local MoeScratch scratch;
  MoeScratch& s = scratch;  // a plain reference, so worker threads use the caller's scratch
  const uint64_t n_rows = m * k;
  // Counting sort of the (token, slot) pairs by expert.
  s.count.assign(X, 0);
  for (uint64_t i = 0; i < n_rows; ++i) ++s.count[pid[i]];
  grow(s.offset, X + 1);
  grow(s.fill, X);
  s.active.clear();
  s.offset[0] = 0;
  for (uint32_t e = 0; e < X; ++e) {
    s.offset[e + 1] = s.offset[e] + s.count[e];
    s.fill[e] = s.offset[e];
    if (s.count[e]) s.active.push_back(e);
  }
  grow(s.row_token, n_rows);
  grow(s.slot_row, n_rows);
  for (uint64_t i = 0; i < n_rows; ++i) {
    const uint32_t row = s.fill[pid[i]]++;
    s.row_token[row] = static_cast<uint32_t>(i / k);
    s.slot_row[i] = row;
  }
  grow(s.xg, n_rows * E);
  grow(s.g, n_rows * Fe);
  grow(s.u, n_rows * Fe);
  grow(s.y, n_rows * E);
  const int threads = dev.threads();
  const KernelIsa isa = kernel_isa_for(dev.caps().isa);
  float* xg = s.xg.data();
  const uint32_t* row_token = s.row_token.data();
#pragma omp parallel for num_threads(threads) schedule(static) if (n_rows * E >= 65536)
  for (uint64_t r = 0; r < n_rows; ++r)
    std::copy(px + row_token[r] * E, px + (row_token[r] + 1) * E, xg + r * E);

  const bool use_clamp = clamp > 1e-6f;  // deepseek4.md §7: a clamp <= 1e-6 means none
  const uint64_t gate_stride = Fe * row_bytes(w.gate.type, E), up_stride = Fe * row_bytes(w.up.type, E);
  const uint64_t down_stride = E * row_bytes(w.down.type, Fe);
  const uint8_t* gate_base = host_ptr(w.gate.data);
  const uint8_t* up_base = host_ptr(w.up.data);
  const uint8_t* down_base = host_ptr(w.down.data);
  auto run_expert = [&](uint32_t e, int inner_threads) {
    const uint64_t r0 = s.offset[e], n = s.count[e];
    float* g = s.g.data() + r0 * Fe;
    float* u = s.u.data() + r0 * Fe;
    matmul(w.gate.type, gate_base + e * gate_stride, Fe, E, xg + r0 * E, g, n, isa, inner_threads);
    matmul(w.up.type, up_base + e * up_stride, Fe, E, xg + r0 * E, u, n, isa, inner_threads);
    const float c = use_clamp ? clamp : INFINITY;
    ops::swiglu_f32(g, u, g, n * Fe, c);
    matmul(w.down.type, down_base + e * down_stride, E, Fe, g, s.y.data() + r0 * E, n, isa, inner_threads);
  };
  // Many experts with few tokens each: one expert per thread (single-threaded products). Few experts (or
  // one big batch): experts in turn, each product split over the rows by the matmul.
  const int64_t n_active = static_cast<int64_t>(s.active.size());
  if (threads > 1 && n_active >= 2 * threads) {
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
    for (int64_t a = 0; a < n_active; ++a) run_expert(s.active[a], 1);
  } else {
    for (int64_t a = 0; a < n_active; ++a) run_expert(s.active[a], threads);
  }

  // Weighted scatter-add, slots summed in order for every token.
  const float* y = s.y.data();
  const uint32_t* slot_row = s.slot_row.data();
#pragma omp parallel for num_threads(threads) schedule(static) if (m > 1 && m * E * k >= 65536)
  for (uint64_t t = 0; t < m; ++t) {
    float* o = po + t * E;
    for (uint64_t j = 0; j < k; ++j) {
      const float wj = pw[t * k + j];
      const float* yr = y + static_cast<uint64_t>(slot_row[t * k + j]) * E;
#pragma omp simd
      for (uint64_t c = 0; c < E; ++c) o[c] += wj * yr[c];
    }
  }
}

}  // namespace mixcl::backend
