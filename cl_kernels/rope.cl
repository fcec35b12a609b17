// Rotary position embedding in place on x [n_tokens][n_heads][head_stride], dims [dim_offset, +n_dims) of each
// head: adjacent pairs (2i, 2i+1) or NEOX pairs (i, i + n_dims/2). `inv` holds each pair's inverse frequency
// (YaRN applied, computed on the host in f64) as a float2 (hi, lo) with hi + lo = the f64 value.
// The angle pos * inv reaches ~1.6e5 rad, where an f32 product is off by ~0.01 rad, so it is formed and reduced
// modulo 2 pi in float-float arithmetic before cos/sin (error ~1e-6 rad at the largest positions). Two shapes:
//   rope_vec : one work-item per (token, pair); it computes cos/sin once and rotates the pair in every head
//              (CPU-like devices: the trigonometry is amortised over the heads).
//   rope_wg  : one work-item per (token, head, pair) (GPUs: many independent lanes).
// Offsets are in floats.
#pragma OPENCL FP_CONTRACT OFF

// 2 pi as C1 + C2 + C3: C1 has 8 significant bits, so k * C1 is exact for k < 2^16.
#define ROPE_C1 6.28125f
#define ROPE_C2 1.9353071795864769253e-3f
#define ROPE_C3 ((float)(1.9353071795864769253e-3 - (double)ROPE_C2))

// (cos, sin) of pos * (inv.x + inv.y) for an integer position < 2^24.
inline float2 rope_cos_sin(int pos, float2 inv) {
  const float p = (float)pos;
  const float h = p * inv.x;
  const float l = fma(p, inv.x, -h);  // exact rounding error of the product
  const float k = rint(h * 0.15915494309189535f);
  const float s = h - k * ROPE_C1;      // exact: k * C1 is exact and the difference is on h's grid
  const float t = fma(-k, ROPE_C2, s);  // one rounding
  const float r = t + (l + fma(p, inv.y, -k * ROPE_C3));
  float c;
  const float sn = sincos(r, &c);
  return (float2)(c, sn);
}

kernel void rope_vec(global float* x, ulong x_off, global const int* positions, ulong pos_off,
                     global const float2* inv, uint half_dims, uint neox, ulong n_heads, ulong head_stride,
                     ulong dim_offset) {
  const ulong gid = get_global_id(0);
  const ulong t = gid / half_dims;
  const uint i = (uint)(gid % half_dims);
  const float2 cs = rope_cos_sin(positions[pos_off + t], inv[i]);
  const ulong a = neox ? i : 2 * i, b = neox ? i + half_dims : 2 * i + 1;
  global float* v = x + x_off + t * n_heads * head_stride + dim_offset;
  for (ulong h = 0; h < n_heads; ++h, v += head_stride) {
    const float x0 = v[a], x1 = v[b];
    v[a] = x0 * cs.x - x1 * cs.y;
    v[b] = x0 * cs.y + x1 * cs.x;
  }
}

kernel void rope_wg(global float* x, ulong x_off, global const int* positions, ulong pos_off,
                    global const float2* inv, uint half_dims, uint neox, ulong n_heads, ulong head_stride,
                    ulong dim_offset) {
  const ulong gid = get_global_id(0);
  const uint i = (uint)(gid % half_dims);
  const ulong th = gid / half_dims;  // token * n_heads + head
  const ulong t = th / n_heads;
  const float2 cs = rope_cos_sin(positions[pos_off + t], inv[i]);
  const ulong a = neox ? i : 2 * i, b = neox ? i + half_dims : 2 * i + 1;
  global float* v = x + x_off + th * head_stride + dim_offset;
  const float x0 = v[a], x1 = v[b];
  v[a] = x0 * cs.x - x1 * cs.y;
  v[b] = x0 * cs.y + x1 * cs.x;
}
