// Element-wise f32 ops. Two shapes:
//   *_vec    : each work-item handles VEC consecutive elements with explicit vector loads (CPU-like devices);
//              global size = ceil(n / VEC).
//   *_scalar : one element per work-item so neighbouring work-items touch neighbouring words (GPUs);
//              global size = n.
// Offsets are in elements, so views into a buffer need no sub-buffer.

#ifndef VEC
#define VEC 4  // 2, 4, 8 or 16
#endif

#define MIXCL_CAT_(a, b) a##b
#define MIXCL_CAT(a, b) MIXCL_CAT_(a, b)
#define floatV MIXCL_CAT(float, VEC)
#define vloadV MIXCL_CAT(vload, VEC)
#define vstoreV MIXCL_CAT(vstore, VEC)

kernel void add_vec(global const float* a, ulong a_off, global const float* b, ulong b_off, global float* out,
                    ulong out_off, ulong n) {
  const ulong i = (ulong)get_global_id(0) * VEC;
  if (i >= n) return;
  a += a_off;
  b += b_off;
  out += out_off;
  if (i + VEC <= n) {
    vstoreV(vloadV(0, a + i) + vloadV(0, b + i), 0, out + i);
  } else {
    for (ulong j = i; j < n; ++j) out[j] = a[j] + b[j];
  }
}

kernel void scale_vec(global const float* x, ulong x_off, float s, global float* out, ulong out_off, ulong n) {
  const ulong i = (ulong)get_global_id(0) * VEC;
  if (i >= n) return;
  x += x_off;
  out += out_off;
  if (i + VEC <= n) {
    vstoreV(vloadV(0, x + i) * s, 0, out + i);
  } else {
    for (ulong j = i; j < n; ++j) out[j] = x[j] * s;
  }
}

kernel void add_scalar(global const float* a, ulong a_off, global const float* b, ulong b_off, global float* out,
                       ulong out_off, ulong n) {
  const ulong i = get_global_id(0);
  if (i < n) out[out_off + i] = a[a_off + i] + b[b_off + i];
}

kernel void scale_scalar(global const float* x, ulong x_off, float s, global float* out, ulong out_off, ulong n) {
  const ulong i = get_global_id(0);
  if (i < n) out[out_off + i] = x[x_off + i] * s;
}
