// Matrix products y[t][n] = sum_k W[n][k] * x[t][k] over weight rows in any format. The host code puts one
// format file (matmul_<fmt>.cl: MM_QK, MM_QB and mm_decode) in front of this file; alone it uses F32 weights.
// A format file decodes one 32-element "piece" of a block into two float16 (elements 0-15 and 16-31 of the
// piece); blocks hold MM_QK / 32 pieces of MM_QB bytes in all. Offsets are in bytes for the weights and in
// floats for x and y. Kernels:
//   mv_vec  : matrix x vector, CPU-like. Each work-item owns MM_ROWS rows; explicit 16-wide loads and float16
//             accumulators, x loaded once per piece for all its rows, no local memory.
//   mv_wg   : matrix x vector, GPU-like. One work-group per row; lanes stride over the row's pieces (neighbours
//             read neighbouring bytes) and meet through sub_group_reduce_add (USE_SUBGROUPS) or a local tree.
//   mm_tile : matrix x matrix (prefill). Each work-item computes MM_TILE_ROWS rows x MM_TILE_TOKENS tokens,
//             decoding each weight piece once for all its tokens.
// Float formats (F32/F16/BF16) define MM_ELEM(row, k) for the columns after the last whole piece. A format may
// also define MM_DOT(block, p, x_lo, x_hi, acc) -> acc + piece . x for mv_vec, to apply its scale once per piece.

#ifndef MM_QK
// Default format: F32 rows, so that this file compiles alone.
#define MM_QK 32
#define MM_QB 128
#define MM_ELEM(row, k) (((global const float*)(row))[k])
inline void mm_decode(global const uchar* b, uint p, float16* lo, float16* hi) {
  (void)p;
  *lo = vload16(0, (global const float*)b);
  *hi = vload16(1, (global const float*)b);
}
#endif

#ifndef MM_ROWS
#define MM_ROWS 2  // rows per work-item in mv_vec
#endif
#ifndef MM_TILE_ROWS
#define MM_TILE_ROWS 2  // rows per work-item in mm_tile
#endif
#ifndef MM_TILE_TOKENS
#define MM_TILE_TOKENS 4  // tokens per work-item in mm_tile
#endif
#ifndef USE_SUBGROUPS
#define USE_SUBGROUPS 0
#endif

#if USE_SUBGROUPS
#if defined(cl_khr_subgroups)
#pragma OPENCL EXTENSION cl_khr_subgroups : enable
#elif defined(cl_intel_subgroups)
#pragma OPENCL EXTENSION cl_intel_subgroups : enable
#endif
#endif

#define MM_PIECES (MM_QK / 32)

inline float mm_hsum16(float16 v) {
  const float8 a = v.lo + v.hi;
  const float4 b = a.lo + a.hi;
  const float2 c = b.lo + b.hi;
  return c.x + c.y;
}

inline float mm_hsum8(float8 v) {
  const float4 b = v.lo + v.hi;
  const float2 c = b.lo + b.hi;
  return c.x + c.y;
}

// nrows rows of row_bytes bytes from w + w_off; nblocks whole blocks per row (cols elements in all, more than
// nblocks * MM_QK only for float formats); y[y_off + row] for each row.
kernel void mv_vec(global const uchar* w, ulong w_off, ulong row_bytes, uint nrows, uint nblocks, uint cols,
                   global const float* x, ulong x_off, global float* y, ulong y_off) {
  const uint r0 = get_global_id(0) * MM_ROWS;
  if (r0 >= nrows) return;
  x += x_off;
  global const uchar* rowp[MM_ROWS];
  float16 acc[MM_ROWS];
#pragma unroll
  for (int r = 0; r < MM_ROWS; ++r) {
    rowp[r] = w + w_off + (ulong)min(r0 + r, nrows - 1) * row_bytes;  // past the end: repeat the last row
    acc[r] = (float16)(0.0f);
  }
  for (uint b = 0; b < nblocks; ++b) {
    global const float* xb = x + (ulong)b * MM_QK;
#pragma unroll
    for (uint p = 0; p < MM_PIECES; ++p) {
      const float16 xa = vload16(0, xb + p * 32), xc = vload16(1, xb + p * 32);
#pragma unroll
      for (int r = 0; r < MM_ROWS; ++r) {
#ifdef MM_DOT
        acc[r] = MM_DOT(rowp[r] + (ulong)b * MM_QB, p, xa, xc, acc[r]);
#else
        float16 lo, hi;
        mm_decode(rowp[r] + (ulong)b * MM_QB, p, &lo, &hi);
        acc[r] = fma(lo, xa, acc[r]);
        acc[r] = fma(hi, xc, acc[r]);
#endif
      }
    }
  }
#pragma unroll
  for (int r = 0; r < MM_ROWS; ++r) {
    float s = mm_hsum16(acc[r]);
#ifdef MM_ELEM
    for (uint k = nblocks * MM_QK; k < cols; ++k) s = fma(MM_ELEM(rowp[r], k), x[k], s);
#endif
    if (r0 + r < nrows) y[y_off + r0 + r] = s;
  }
}

// Same arguments as mv_vec plus `scratch`: one float per work-item (or per sub-group).
kernel void mv_wg(global const uchar* w, ulong w_off, ulong row_bytes, uint nrows, uint nblocks, uint cols,
                  global const float* x, ulong x_off, global float* y, ulong y_off, local float* scratch) {
  const uint row = get_group_id(0);
  const uint lid = get_local_id(0), size = get_local_size(0);
  x += x_off;
  global const uchar* rp = w + w_off + (ulong)row * row_bytes;
  float16 acc = (float16)(0.0f);
  const uint pieces = nblocks * MM_PIECES;
  for (uint i = lid; i < pieces; i += size) {
    const uint b = i / MM_PIECES, p = i % MM_PIECES;
    float16 lo, hi;
    mm_decode(rp + (ulong)b * MM_QB, p, &lo, &hi);
    global const float* xp = x + (ulong)i * 32;
    acc = fma(lo, vload16(0, xp), acc);
    acc = fma(hi, vload16(1, xp), acc);
  }
  float s = mm_hsum16(acc);
#ifdef MM_ELEM
  for (uint k = pieces * 32 + lid; k < cols; k += size) s = fma(MM_ELEM(rp, k), x[k], s);
#endif
#if USE_SUBGROUPS
  s = sub_group_reduce_add(s);
  if (get_sub_group_local_id() == 0) scratch[get_sub_group_id()] = s;
  barrier(CLK_LOCAL_MEM_FENCE);
  if (lid == 0) {
    float total = 0.0f;
    for (uint g = 0; g < get_num_sub_groups(); ++g) total += scratch[g];
    y[y_off + row] = total;
  }
#else
  scratch[lid] = s;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint h = size / 2; h > 0; h >>= 1) {  // size is a power of two
    if (lid < h) scratch[lid] += scratch[lid + h];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (lid == 0) y[y_off + row] = scratch[0];
#endif
}

// x is [m][x_stride] from x_off; y is [m][y_stride] from y_off (y_stride = all rows of the matrix).
kernel void mm_tile(global const uchar* w, ulong w_off, ulong row_bytes, uint nrows, uint nblocks, uint cols,
                    global const float* x, ulong x_off, ulong x_stride, global float* y, ulong y_off, ulong y_stride,
                    uint m) {
  const uint r0 = get_global_id(0) * MM_TILE_ROWS, t0 = get_global_id(1) * MM_TILE_TOKENS;
  if (r0 >= nrows || t0 >= m) return;
  global const uchar* rowp[MM_TILE_ROWS];
  global const float* xt[MM_TILE_TOKENS];
  float8 acc[MM_TILE_ROWS][MM_TILE_TOKENS];
#pragma unroll
  for (int r = 0; r < MM_TILE_ROWS; ++r) rowp[r] = w + w_off + (ulong)min(r0 + r, nrows - 1) * row_bytes;
#pragma unroll
  for (int t = 0; t < MM_TILE_TOKENS; ++t) {
    xt[t] = x + x_off + (ulong)min(t0 + t, m - 1) * x_stride;  // past the end: repeat the last token
#pragma unroll
    for (int r = 0; r < MM_TILE_ROWS; ++r) acc[r][t] = (float8)(0.0f);
  }
  for (uint b = 0; b < nblocks; ++b) {
#pragma unroll
    for (uint p = 0; p < MM_PIECES; ++p) {
      float16 lo[MM_TILE_ROWS], hi[MM_TILE_ROWS];
#pragma unroll
      for (int r = 0; r < MM_TILE_ROWS; ++r) mm_decode(rowp[r] + (ulong)b * MM_QB, p, &lo[r], &hi[r]);
      const ulong k = (ulong)b * MM_QK + p * 32;
#pragma unroll
      for (int t = 0; t < MM_TILE_TOKENS; ++t) {
        const float16 xa = vload16(0, xt[t] + k), xc = vload16(1, xt[t] + k);
#pragma unroll
        for (int r = 0; r < MM_TILE_ROWS; ++r) {
          float8 a = fma(lo[r].lo, xa.lo, acc[r][t]);
          a = fma(lo[r].hi, xa.hi, a);
          a = fma(hi[r].lo, xc.lo, a);
          acc[r][t] = fma(hi[r].hi, xc.hi, a);
        }
      }
    }
  }
#pragma unroll
  for (int t = 0; t < MM_TILE_TOKENS; ++t) {
#pragma unroll
    for (int r = 0; r < MM_TILE_ROWS; ++r) {
      float s = mm_hsum8(acc[r][t]);
#ifdef MM_ELEM
      for (uint k = nblocks * MM_QK; k < cols; ++k) s = fma(MM_ELEM(rowp[r], k), xt[t][k], s);
#endif
      if (r0 + r < nrows && t0 + t < m) y[y_off + (ulong)(t0 + t) * y_stride + r0 + r] = s;
    }
  }
}
