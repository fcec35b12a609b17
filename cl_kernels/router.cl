// MoE router (deepseek2.md §6.2): scores s = softmax | sigmoid | sqrt(softplus) of the logits, selection values
// sel = s + bias, group-limited selection (group score = sum of its two largest sel; only the best n_group_used
// groups stay), top-k of sel with ties to the lower id (groups: to the lower group), weights = s of the chosen
// experts, renormalised by max(sum, 6.103515625e-5) and scaled. Two shapes:
//   router_item : one work-item per token; s and sel live in a global scratch [m][2][X] (CPU-like devices).
//   router_wg   : one work-group per token; scores computed by all lanes into local memory, each top-k step is
//                 a (value, index) argmax reduced in local memory (GPUs).
// gating: 1 softmax, 2 sigmoid, 4 sqrt-softplus. has_bias 0: bias is ignored. Offsets are in elements.

inline float softplus(float z) { return fmax(z, 0.0f) + log1p(exp(-fabs(z))); }

inline float gate_score(float z, int gating) {
  if (gating == 2) return 1.0f / (1.0f + exp(-z));
  if (gating == 4) return sqrt(softplus(z));
  return z;  // softmax: normalised later
}

// True when (va, ia) ranks before (vb, ib): larger value, then lower index.
inline bool better(float va, uint ia, float vb, uint ib) { return va > vb || (va == vb && ia < ib); }

// Marks every expert outside the n_group_used best groups with -inf in sel (group = gs consecutive experts).
inline void drop_groups_item(global float* sel, uint X, uint G, uint Gk) {
  const uint gs = X / G;
  uint kept = 0;  // bit g: group g kept (G <= 32 checked on the host)
  for (uint j = 0; j < Gk; ++j) {
    float best = -INFINITY;
    uint bi = G;
    for (uint g = 0; g < G; ++g) {
      if (kept & (1u << g)) continue;
      float t1 = -INFINITY, t2 = -INFINITY;
      for (uint e = 0; e < gs; ++e) {
        const float v = sel[g * gs + e];
        if (v > t1) {
          t2 = t1;
          t1 = v;
        } else if (v > t2) {
          t2 = v;
        }
      }
      const float score = gs >= 2 ? t1 + t2 : t1;
      if (bi == G || better(score, g, best, bi)) {
        best = score;
        bi = g;
      }
    }
    kept |= 1u << bi;
  }
  for (uint g = 0; g < G; ++g)
    if (!(kept & (1u << g)))
      for (uint e = 0; e < gs; ++e) sel[g * gs + e] = -INFINITY;
}

kernel void router_item(global const float* logits, ulong l_off, global const float* bias, ulong b_off,
                        int has_bias, global int* ids, ulong i_off, global float* weights, ulong w_off,
                        global float* scratch, ulong m, uint X, uint k, int gating, uint G, uint Gk, int norm,
                        float scale) {
  const ulong t = get_global_id(0);
  if (t >= m) return;
  global const float* z = logits + l_off + t * X;
  global float* s = scratch + t * 2 * X;
  global float* sel = s + X;
  float mx = -INFINITY;
  for (uint e = 0; e < X; ++e) {
    s[e] = gate_score(z[e], gating);
    mx = fmax(mx, s[e]);
  }
  if (gating == 1) {
    float sum = 0.0f;
    for (uint e = 0; e < X; ++e) sum += (s[e] = exp(s[e] - mx));
    const float inv = 1.0f / sum;
    for (uint e = 0; e < X; ++e) s[e] *= inv;
  }
  for (uint e = 0; e < X; ++e) sel[e] = has_bias ? s[e] + bias[b_off + e] : s[e];
  if (G > 1) drop_groups_item(sel, X, G, Gk);
  global int* id = ids + i_off + t * k;
  global float* w = weights + w_off + t * k;
  float sum = 0.0f;
  for (uint j = 0; j < k; ++j) {
    uint bi = X;
    for (uint e = 0; e < X; ++e)  // NaN marks experts already taken
      if (!isnan(sel[e]) && (bi == X || sel[e] > sel[bi])) bi = e;
    id[j] = (int)bi;
    w[j] = s[bi];
    sum += s[bi];
    sel[bi] = NAN;  // taken
  }
  const float inv = norm ? 1.0f / fmax(sum, 6.103515625e-5f) : 1.0f;
  const int do_scale = scale != 0.0f && scale != 1.0f;
  for (uint j = 0; j < k; ++j) {
    float v = w[j];
    if (norm) v *= inv;
    if (do_scale) v *= scale;
    w[j] = v;
  }
}

// Argmax of (val, idx) over the work-group with ties to the lower index; returns the winning index to all.
inline uint group_argmax(float val, uint idx, local float* sv, local uint* si) {
  const uint lid = get_local_id(0), size = get_local_size(0);
  sv[lid] = val;
  si[lid] = idx;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint st = size / 2; st > 0; st >>= 1) {
    if (lid < st && better(sv[lid + st], si[lid + st], sv[lid], si[lid])) {
      sv[lid] = sv[lid + st];
      si[lid] = si[lid + st];
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  const uint r = si[0];
  barrier(CLK_LOCAL_MEM_FENCE);
  return r;
}

// Local memory `lmem`: s[X], sel[X], red_v[local], red_i[local], gscore[G] floats, one argument.
kernel void router_wg(global const float* logits, ulong l_off, global const float* bias, ulong b_off, int has_bias,
                      global int* ids, ulong i_off, global float* weights, ulong w_off, ulong m, uint X, uint k,
                      int gating, uint G, uint Gk, int norm, float scale, local float* lmem) {
  const ulong t = get_group_id(0);
  const uint lid = get_local_id(0), size = get_local_size(0);
  local float* s = lmem;
  local float* sel = s + X;
  local float* red_v = sel + X;
  local uint* red_i = (local uint*)(red_v + size);
  local float* gscore = red_v + 2 * size;
  global const float* z = logits + l_off + t * X;
  float mx = -INFINITY;
  for (uint e = lid; e < X; e += size) {
    s[e] = gate_score(z[e], gating);
    mx = fmax(mx, s[e]);
  }
  if (gating == 1) {
    // Max then sum through the argmax scratch (values only).
    red_v[lid] = mx;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint st = size / 2; st > 0; st >>= 1) {
      if (lid < st) red_v[lid] = fmax(red_v[lid], red_v[lid + st]);
      barrier(CLK_LOCAL_MEM_FENCE);
    }
    mx = red_v[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    float part = 0.0f;
    for (uint e = lid; e < X; e += size) part += (s[e] = exp(s[e] - mx));
    red_v[lid] = part;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint st = size / 2; st > 0; st >>= 1) {
      if (lid < st) red_v[lid] += red_v[lid + st];
      barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float inv = 1.0f / red_v[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint e = lid; e < X; e += size) s[e] *= inv;
  }
  for (uint e = lid; e < X; e += size) sel[e] = has_bias ? s[e] + bias[b_off + e] : s[e];
  barrier(CLK_LOCAL_MEM_FENCE);
  if (G > 1) {
    const uint gs = X / G;
    for (uint g = lid; g < G; g += size) {
      float t1 = -INFINITY, t2 = -INFINITY;
      for (uint e = 0; e < gs; ++e) {
        const float v = sel[g * gs + e];
        if (v > t1) {
          t2 = t1;
          t1 = v;
        } else if (v > t2) {
          t2 = v;
        }
      }
      gscore[g] = gs >= 2 ? t1 + t2 : t1;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (lid == 0) {
      uint kept = 0;
      for (uint j = 0; j < Gk; ++j) {
        uint bi = G;
        for (uint g = 0; g < G; ++g)
          if (!(kept & (1u << g)) && (bi == G || better(gscore[g], g, gscore[bi], bi))) bi = g;
        kept |= 1u << bi;
      }
      red_i[0] = kept;  // through a uint slot: the mask as a float would be a denormal, flushed on some devices
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    const uint kept = red_i[0];
    barrier(CLK_LOCAL_MEM_FENCE);  // red_i is reused by the argmax below
    for (uint e = lid; e < X; e += size)
      if (!(kept & (1u << (e / gs)))) sel[e] = -INFINITY;
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  global int* id = ids + i_off + t * k;
  global float* w = weights + w_off + t * k;
  float sum = 0.0f;
  for (uint j = 0; j < k; ++j) {
    // Each lane offers its best untaken expert (NaN marks taken ones).
    float bv = -INFINITY;
    uint bi = X;
    for (uint e = lid; e < X; e += size)
      if (!isnan(sel[e]) && (bi == X || sel[e] > bv)) {
        bv = sel[e];
        bi = e;
      }
    const uint win = group_argmax(bi == X ? -INFINITY : bv, bi, red_v, red_i);
    sum += s[win];  // every lane keeps the same sum
    if (lid == 0) {
      id[j] = (int)win;
      w[j] = s[win];
      sel[win] = NAN;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (lid == 0) {
    const float inv = norm ? 1.0f / fmax(sum, 6.103515625e-5f) : 1.0f;
    const int do_scale = scale != 0.0f && scale != 1.0f;
    for (uint j = 0; j < k; ++j) {
      float v = w[j];
      if (norm) v *= inv;
      if (do_scale) v *= scale;
      w[j] = v;
    }
  }
}
