// SwiGLU of f32 vectors: out = silu(gate) * up, silu(g) = g / (1 + e^-g). With clamp > 0 (deepseek4) the gate
// is clamped to <= clamp and up to [-clamp, clamp] first. Two shapes:
//   swiglu_vec    : each work-item handles VEC consecutive values with vector loads (CPU-like devices).
//   swiglu_scalar : one value per work-item (GPUs: neighbours read neighbouring words).
// Offsets are in floats.

#ifndef VEC
#define VEC 4  // 2, 4, 8 or 16
#endif

#define MIXCL_CAT_(a, b) a##b
#define MIXCL_CAT(a, b) MIXCL_CAT_(a, b)
#define floatV MIXCL_CAT(float, VEC)
#define vloadV MIXCL_CAT(vload, VEC)
#define vstoreV MIXCL_CAT(vstore, VEC)

kernel void swiglu_vec(global const float* g, ulong g_off, global const float* u, ulong u_off, global float* out,
                       ulong out_off, ulong n, float clamp_v) {
  const ulong i = get_global_id(0) * VEC;
  if (i >= n) return;
  g += g_off;
  u += u_off;
  out += out_off;
  if (i + VEC <= n) {
    floatV gv = vloadV(0, g + i), uv = vloadV(0, u + i);
    if (clamp_v > 1e-6f) {
      gv = fmin(gv, (floatV)(clamp_v));
      uv = clamp(uv, (floatV)(-clamp_v), (floatV)(clamp_v));
    }
    vstoreV(gv / ((floatV)(1.0f) + exp(-gv)) * uv, 0, out + i);
    return;
  }
  for (ulong j = i; j < n; ++j) {
    float gs = g[j], us = u[j];
    if (clamp_v > 1e-6f) {
      gs = fmin(gs, clamp_v);
      us = clamp(us, -clamp_v, clamp_v);
    }
    out[j] = gs / (1.0f + exp(-gs)) * us;
  }
}

kernel void swiglu_scalar(global const float* g, ulong g_off, global const float* u, ulong u_off,
                          global float* out, ulong out_off, ulong n, float clamp_v) {
  const ulong i = get_global_id(0);
  if (i >= n) return;
  float gs = g[g_off + i], us = u[u_off + i];
  if (clamp_v > 1e-6f) {
    gs = fmin(gs, clamp_v);
    us = clamp(us, -clamp_v, clamp_v);
  }
  out[out_off + i] = gs / (1.0f + exp(-gs)) * us;
}
