// Device-side bookkeeping of the expert-batched FFN (moe_ffn): the host never touches the routing ids.
//   moe_count  : counts[e] = number of (token, slot) pairs routed to expert e (one work-item per expert).
//   moe_place  : a counting sort: expert e's pairs get the positions start_e .. start_e + counts[e] - 1 in
//                (token, slot) order, start_e = sum of the lower experts' counts; writes slot_pos[t * k + j]
//                and the gathered activations xs[pos] = x[t] (one work-item per expert; vector copy of rows).
//   moe_reduce : out[t][c] += sum_j weights[t][j] * ys[slot_pos[t * k + j]][c], j in order: deterministic,
//                no float atomics. moe_reduce_vec handles VEC columns per work-item (CPU-like devices),
//                moe_reduce_scalar one column (GPUs).
// Ids outside [0, n_expert) are not counted, which the host detects from the counts. Offsets in elements.

#ifndef VEC
#define VEC 4  // 2, 4, 8 or 16
#endif

#define MIXCL_CAT_(a, b) a##b
#define MIXCL_CAT(a, b) MIXCL_CAT_(a, b)
#define floatV MIXCL_CAT(float, VEC)
#define vloadV MIXCL_CAT(vload, VEC)
#define vstoreV MIXCL_CAT(vstore, VEC)

kernel void moe_count(global const int* ids, ulong id_off, ulong pairs, uint n_expert, global uint* counts) {
  const uint e = get_global_id(0);
  if (e >= n_expert) return;
  uint c = 0;
  for (ulong i = 0; i < pairs; ++i) c += ids[id_off + i] == (int)e;
  counts[e] = c;
}

kernel void moe_place(global const int* ids, ulong id_off, ulong pairs, uint k, uint n_expert,
                      global const uint* counts, global uint* slot_pos, global const float* x, ulong x_off,
                      ulong cols, global float* xs) {
  const uint e = get_global_id(0);
  if (e >= n_expert) return;
  ulong pos = 0;
  for (uint f = 0; f < e; ++f) pos += counts[f];
  for (ulong i = 0; i < pairs; ++i) {
    if (ids[id_off + i] != (int)e) continue;
    slot_pos[i] = (uint)pos;
    global const float* src = x + x_off + (i / k) * cols;
    global float* dst = xs + pos * cols;
    ulong c = 0;
    for (; c + VEC <= cols; c += VEC) vstoreV(vloadV(0, src + c), 0, dst + c);
    for (; c < cols; ++c) dst[c] = src[c];
    ++pos;
  }
}

kernel void moe_reduce_vec(global const float* ys, global const uint* slot_pos, global const float* weights,
                           ulong w_off, global float* out, ulong out_off, ulong m, uint k, ulong cols) {
  const ulong per_row = (cols + VEC - 1) / VEC;
  const ulong t = get_global_id(0) / per_row;
  const ulong c = get_global_id(0) % per_row * VEC;
  if (t >= m) return;
  global float* o = out + out_off + t * cols;
  if (c + VEC <= cols) {
    floatV acc = (floatV)(0.0f);
    for (uint j = 0; j < k; ++j)
      acc = fma((floatV)(weights[w_off + t * k + j]), vloadV(0, ys + (ulong)slot_pos[t * k + j] * cols + c), acc);
    vstoreV(vloadV(0, o + c) + acc, 0, o + c);
    return;
  }
  for (ulong cc = c; cc < cols; ++cc) {
    float acc = 0.0f;
    for (uint j = 0; j < k; ++j) acc = fma(weights[w_off + t * k + j], ys[(ulong)slot_pos[t * k + j] * cols + cc], acc);
    o[cc] += acc;
  }
}

kernel void moe_reduce_scalar(global const float* ys, global const uint* slot_pos, global const float* weights,
                              ulong w_off, global float* out, ulong out_off, ulong m, uint k, ulong cols) {
  const ulong t = get_global_id(0) / cols, c = get_global_id(0) % cols;
  if (t >= m) return;
  float acc = 0.0f;
  for (uint j = 0; j < k; ++j) acc = fma(weights[w_off + t * k + j], ys[(ulong)slot_pos[t * k + j] * cols + c], acc);
  out[out_off + t * cols + c] += acc;
}
