// Absorbed MLA attention (deepseek2.md §5.3) over the latent cache: for token t at position p = pos0 + t and
// head h, score_j = scale * q[t][h] . kv[j] over the whole row (n_latent + n_rope values) for j <= p, and
// out[t][h] = sum_j softmax(score)_j * kv[j][0 .. n_latent). Online softmax over tiles of cache rows keeps it
// finite for any score range. The cache rows 0..p may be split into `nsplit` ranges of `split_rows` rows
// (flash-decoding): each split then writes its unnormalised accumulator, running max and sum to `part`, and
// mla_combine merges them; with nsplit == 1 the kernels write the normalised output directly.
// KV_F16 1: the cache holds F16 values (read with vload_half, no fp16 extension needed). Two shapes:
//   mla_vec : one work-item per (token, head, split); dots and updates with float4 loads, the accumulator in
//             the output (or partial) row itself (CPU-like devices).
//   mla_wg  : one work-group per (token, head, split); q in local memory, lane j scores cache row j of a tile
//             of local-size rows, then lanes own output dims (MLA_DPL per lane) and read rows coalesced (GPUs).
// Offsets are in elements. part layout: [nsplit][m * n_head][n_latent + 2] (acc, then max, sum).

#ifndef KV_F16
#define KV_F16 0
#endif
#ifndef MLA_TILE
#define MLA_TILE 16  // cache rows per online-softmax step in mla_vec
#endif
#ifndef MLA_DPL
#define MLA_DPL 8  // output dims per lane in mla_wg (local size * MLA_DPL >= n_latent)
#endif

#if KV_F16
typedef half kv_t;
#define KV1(p, i) vload_half((i), (p))
#define KV4(p, i) vload_half4(0, (p) + (i))
#else
typedef float kv_t;
#define KV1(p, i) ((p)[i])
#define KV4(p, i) vload4(0, (p) + (i))
#endif

// Writes the result of one (token, head, split): normalised output or the partial triple.
inline void mla_finish_row(global float* dst, uint L, float mx, float l, int partial) {
  if (partial) {
    dst[L] = mx;
    dst[L + 1] = l;
    return;
  }
  const float inv = 1.0f / l;
  for (uint d = 0; d < L; ++d) dst[d] *= inv;
}

kernel void mla_vec(global const float* q, ulong q_off, global const kv_t* kv, ulong kv_off, global float* out,
                    ulong out_off, global float* part, ulong m, ulong pos0, uint H, uint L, uint R, float scale,
                    uint nsplit, ulong split_rows) {
  const ulong gid = get_global_id(0);
  const ulong th = gid / nsplit;  // token * H + head
  const uint split = (uint)(gid % nsplit);
  if (th >= m * H) return;
  const uint D = L + R;
  const ulong t = th / H;
  const ulong n = pos0 + t + 1;  // causal: rows 0..pos0+t
  const ulong begin = min((ulong)split * split_rows, n), end = min(begin + split_rows, n);
  global const float* qh = q + q_off + th * D;
  kv += kv_off;
  const int partial = nsplit > 1;
  global float* acc = partial ? part + ((ulong)split * m * H + th) * (L + 2) : out + out_off + th * L;
  for (uint d = 0; d < L; ++d) acc[d] = 0.0f;
  float mx = -INFINITY, l = 0.0f;
  const uint D4 = D / 4 * 4, L4 = L / 4 * 4;
  for (ulong j0 = begin; j0 < end; j0 += MLA_TILE) {
    const uint rows = (uint)min((ulong)MLA_TILE, end - j0);
    float sc[MLA_TILE];
    float tmax = -INFINITY;
    for (uint r = 0; r < rows; ++r) {
      global const kv_t* row = kv + (j0 + r) * D;
      float4 a4 = (float4)(0.0f);
      for (uint c = 0; c < D4; c += 4) a4 = fma(vload4(0, qh + c), KV4(row, c), a4);
      float a = (a4.x + a4.y) + (a4.z + a4.w);
      for (uint c = D4; c < D; ++c) a = fma(qh[c], KV1(row, c), a);
      sc[r] = a * scale;
      tmax = fmax(tmax, sc[r]);
    }
    const float nmx = fmax(mx, tmax);
    const float corr = exp(mx - nmx);  // 0 on the first tile (mx = -inf)
    float psum = 0.0f;
    for (uint r = 0; r < rows; ++r) psum += (sc[r] = exp(sc[r] - nmx));
    l = l * corr + psum;
    mx = nmx;
    for (uint d = 0; d < L4; d += 4) {
      float4 o = vload4(0, acc + d) * corr;
      for (uint r = 0; r < rows; ++r) o = fma((float4)(sc[r]), KV4(kv + (j0 + r) * D, d), o);
      vstore4(o, 0, acc + d);
    }
    for (uint d = L4; d < L; ++d) {
      float o = acc[d] * corr;
      for (uint r = 0; r < rows; ++r) o = fma(sc[r], KV1(kv + (j0 + r) * D, d), o);
      acc[d] = o;
    }
  }
  mla_finish_row(acc, L, mx, l, partial);
}

// Local memory: qs[D], ps[local size] floats.
kernel void mla_wg(global const float* q, ulong q_off, global const kv_t* kv, ulong kv_off, global float* out,
                   ulong out_off, global float* part, ulong m, ulong pos0, uint H, uint L, uint R, float scale,
                   uint nsplit, ulong split_rows, local float* qs, local float* ps) {
  const ulong th = get_group_id(0) / nsplit;
  const uint split = (uint)(get_group_id(0) % nsplit);
  const uint lid = get_local_id(0), size = get_local_size(0);
  const uint D = L + R;
  const ulong t = th / H;
  const ulong n = pos0 + t + 1;
  const ulong begin = min((ulong)split * split_rows, n), end = min(begin + split_rows, n);
  global const float* qh = q + q_off + th * D;
  kv += kv_off;
  for (uint c = lid; c < D; c += size) qs[c] = qh[c];
  barrier(CLK_LOCAL_MEM_FENCE);
  float acc[MLA_DPL];
  for (uint i = 0; i < MLA_DPL; ++i) acc[i] = 0.0f;
  float mx = -INFINITY, l = 0.0f;
  for (ulong j0 = begin; j0 < end; j0 += size) {
    const uint rows = (uint)min((ulong)size, end - j0);
    float s = -INFINITY;
    if (lid < rows) {
      global const kv_t* row = kv + (j0 + lid) * D;
      float a = 0.0f;
      for (uint c = 0; c < D; ++c) a = fma(qs[c], KV1(row, c), a);
      s = a * scale;
    }
    ps[lid] = s;
    barrier(CLK_LOCAL_MEM_FENCE);
    float tmax = -INFINITY;
    for (uint r = 0; r < rows; ++r) tmax = fmax(tmax, ps[r]);
    const float nmx = fmax(mx, tmax);
    const float corr = exp(mx - nmx);
    barrier(CLK_LOCAL_MEM_FENCE);  // everyone has read the scores
    if (lid < rows) ps[lid] = exp(s - nmx);
    barrier(CLK_LOCAL_MEM_FENCE);
    float psum = 0.0f;
    for (uint r = 0; r < rows; ++r) psum += ps[r];
    l = l * corr + psum;
    mx = nmx;
    for (uint i = 0; i < MLA_DPL; ++i) acc[i] *= corr;
    for (uint r = 0; r < rows; ++r) {
      global const kv_t* row = kv + (j0 + r) * D;
      const float p = ps[r];
      for (uint i = 0; i < MLA_DPL; ++i) {
        const uint d = lid + i * size;
        if (d < L) acc[i] = fma(p, KV1(row, d), acc[i]);
      }
    }
    barrier(CLK_LOCAL_MEM_FENCE);  // ps is rewritten by the next tile
  }
  const int partial = nsplit > 1;
  global float* dst = partial ? part + ((ulong)split * m * H + th) * (L + 2) : out + out_off + th * L;
  const float inv = partial ? 1.0f : 1.0f / l;
  for (uint i = 0; i < MLA_DPL; ++i) {
    const uint d = lid + i * size;
    if (d < L) dst[d] = acc[i] * inv;
  }
  if (partial && lid == 0) {
    dst[L] = mx;
    dst[L + 1] = l;
  }
}

// out[th][d] = sum_s e^(max_s - M) acc_s[d] / sum_s e^(max_s - M) l_s over the splits (empty splits: max -inf).
// One work-item per (token-head, dim).
kernel void mla_combine(global const float* part, global float* out, ulong out_off, ulong rows, uint L,
                        uint nsplit) {
  const ulong gid = get_global_id(0);
  const ulong th = gid / L;
  const uint d = (uint)(gid % L);
  if (th >= rows) return;
  float M = -INFINITY;
  for (uint s = 0; s < nsplit; ++s) M = fmax(M, part[((ulong)s * rows + th) * (L + 2) + L]);
  float num = 0.0f, den = 0.0f;
  for (uint s = 0; s < nsplit; ++s) {
    global const float* p = part + ((ulong)s * rows + th) * (L + 2);
    const float w = exp(p[L] - M);  // 0 for an empty split
    if (w == 0.0f) continue;
    num = fma(w, p[d], num);
    den = fma(w, p[L + 1], den);
  }
  out[out_off + gid] = num / den;
}
