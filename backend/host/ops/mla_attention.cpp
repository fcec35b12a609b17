// Absorbed MLA attention over the latent cache (deepseek2.md §5.3): one shared 576-wide key per cached
// position whose first n_latent values double as the value; online softmax, cache streamed in blocks.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "backend/host/host_ops.h"
#include "backend/host/ops/attn_kernels.h"
#include "backend/host/ops/op_util.h"

namespace mixcl::backend {
namespace {

// Cache rows converted and scanned together: 8 × 576 f32 = 18 KiB stay in L1 while every head of the token
// passes over them twice (scores, then the weighted sum); 64-row blocks (L2) measured ~25 % slower.
constexpr uint64_t kBlockRows = 8;
// Smallest cache range worth giving its own work item when the cache is split across threads (decode).
constexpr uint64_t kMinSplitRows = 128;

// Online-softmax state of one query (token, head): running max, running sum and the weighted value sum.
struct Partial {
  float* acc;
  float mx;
  float sum;
};

}  // namespace

void host_mla_attention(HostDevice& dev, View q, View kv, DType kv_type, View out, uint64_t m, uint64_t pos0,
                        uint64_t n_head, uint64_t n_latent, uint64_t n_rope, float scale) {
  if (kv_type != DType::F32 && kv_type != DType::F16)
    fail("host mla_attention: cache type {} is not supported (use F32 or F16)", dtype_name(kv_type));
  if (n_latent == 0 || n_head == 0)
    fail("host mla_attention: n_latent ({}) and n_head ({}) must be positive", n_latent, n_head);
  if (!std::isfinite(scale)) fail("host mla_attention: scale {} is not finite", scale);
  if (m == 0) return;
  const uint64_t D = n_latent + n_rope, T = pos0 + m, esize = kv_type == DType::F16 ? 2 : 4;
  const float* pq = ops::checked<const float>(q, m * n_head * D, "mla_attention", "q");
  const uint8_t* pkv = ops::checked_ptr(kv, T * D * esize, "mla_attention", "kv cache");
  float* po = ops::checked<float>(out, m * n_head * n_latent, "mla_attention", "output");
  const ops::VecKernels vk = ops::vec_kernels_for(dev.caps().isa.c_str());
  const int threads = dev.threads();

  // Decode has too few queries to keep every thread busy: split the cache into ranges whose partial
  // results are merged afterwards (each cache row is still read once).
  uint64_t n_split = 1;
  if (m < 2 * static_cast<uint64_t>(threads))
    n_split = std::clamp<uint64_t>((4 * threads + m - 1) / m, 1, std::max<uint64_t>(1, T / kMinSplitRows));
  const uint64_t split_rows = (T + n_split - 1) / n_split;
  const uint64_t pstride = n_latent + 2;  // acc, then mx and sum
  thread_local std::vector<float> partials;
  if (n_split > 1) partials.resize(n_split * m * n_head * pstride);
  float* pp = partials.data();

  const int64_t n_items = static_cast<int64_t>(m * n_split);
#pragma omp parallel num_threads(threads) if (n_items > 1 && T * n_head * D * m >= 65536)
  {
    thread_local std::vector<float> rows_buf, acc_buf, scores;
    if (kv_type == DType::F16) rows_buf.resize(kBlockRows * D);
    acc_buf.resize(n_head * n_latent);
    scores.resize(kBlockRows);
    std::vector<Partial> st(n_head);
#pragma omp for schedule(dynamic, 1)
    for (int64_t item = 0; item < n_items; ++item) {
      const uint64_t t = static_cast<uint64_t>(item) / n_split, sp = static_cast<uint64_t>(item) % n_split;
      const uint64_t visible = pos0 + t + 1;  // causal: rows 0..pos0+t
      const uint64_t r_begin = sp * split_rows, r_end = std::min(visible, (sp + 1) * split_rows);
      for (uint64_t h = 0; h < n_head; ++h) {
        st[h] = {acc_buf.data() + h * n_latent, -INFINITY, 0.0f};
        std::fill(st[h].acc, st[h].acc + n_latent, 0.0f);
      }
      for (uint64_t r0 = r_begin; r0 < r_end; r0 += kBlockRows) {
        const uint64_t nr = std::min(kBlockRows, r_end - r0);
        const float* rows;
        if (kv_type == DType::F16) {
          vk.f16_to_f32(reinterpret_cast<const uint16_t*>(pkv) + r0 * D, rows_buf.data(), nr * D);
          rows = rows_buf.data();
        } else {
          rows = reinterpret_cast<const float*>(pkv) + r0 * D;
        }
        for (uint64_t h = 0; h < n_head; ++h) {
          const float* qh = pq + (t * n_head + h) * D;
          Partial& s = st[h];
          vk.dot_rows(qh, rows, D, nr, D, scores.data());
          float bm = -INFINITY;
          for (uint64_t r = 0; r < nr; ++r) {
            scores[r] *= scale;
            bm = std::max(bm, scores[r]);
          }
          if (bm > s.mx) {  // rescale what was accumulated under the old maximum
            if (s.sum > 0.0f) {
              const float c = std::exp(s.mx - bm);
              s.sum *= c;
              vk.scale(s.acc, c, n_latent);
            }
            s.mx = bm;
          }
          for (uint64_t r = 0; r < nr; ++r) {
            scores[r] = std::exp(scores[r] - s.mx);  // now the weight of row r
            s.sum += scores[r];
          }
          vk.axpy_rows(s.acc, scores.data(), rows, D, nr, n_latent);
        }
      }
      for (uint64_t h = 0; h < n_head; ++h) {
        const Partial& s = st[h];
        if (n_split == 1) {
          float* o = po + (t * n_head + h) * n_latent;
          const float inv = 1.0f / s.sum;
          for (uint64_t c = 0; c < n_latent; ++c) o[c] = s.acc[c] * inv;
        } else {
          float* dst = pp + ((sp * m + t) * n_head + h) * pstride;
          std::copy(s.acc, s.acc + n_latent, dst);
          dst[n_latent] = s.mx;
          dst[n_latent + 1] = s.sum;
        }
      }
    }
  }
  if (n_split == 1) return;
    // Merge the ranges: rescale each partial to the common maximum.
#pragma omp parallel for num_threads(threads) schedule(static) if (m * n_head > 1)
  for (int64_t qi = 0; qi < static_cast<int64_t>(m * n_head); ++qi) {
    float mx = -INFINITY;
    for (uint64_t sp = 0; sp < n_split; ++sp) {
      const float* src = pp + (sp * m * n_head + qi) * pstride;
      if (src[n_latent + 1] > 0.0f) mx = std::max(mx, src[n_latent]);
    }
    float* o = po + qi * n_latent;
    std::fill(o, o + n_latent, 0.0f);
    float sum = 0.0f;
    for (uint64_t sp = 0; sp < n_split; ++sp) {
      const float* src = pp + (sp * m * n_head + qi) * pstride;
      if (!(src[n_latent + 1] > 0.0f)) continue;
      const float c = std::exp(src[n_latent] - mx);
      sum += c * src[n_latent + 1];
      vk.axpy(o, c, src, n_latent);
    }
    vk.scale(o, 1.0f / sum, n_latent);
  }
}

}  // namespace mixcl::backend
