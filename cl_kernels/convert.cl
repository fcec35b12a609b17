// Converts f32 values to F32, F16 or BF16 storage, rounding to nearest even (vstore_half_rte needs no fp16
// extension; BF16 rounds on the bit pattern). Overflow gives infinity of the same sign; NaN stays NaN.
//   convert_<t>_vec    : VEC consecutive values per work-item with vector loads (CPU-like devices).
//   convert_<t>_scalar : one value per work-item (GPUs).
// Offsets are in elements of each buffer.

#ifndef VEC
#define VEC 4  // 2, 4, 8 or 16
#endif

#define MIXCL_CAT_(a, b) a##b
#define MIXCL_CAT(a, b) MIXCL_CAT_(a, b)
#define floatV MIXCL_CAT(float, VEC)
#define uintV MIXCL_CAT(uint, VEC)
#define ushortV MIXCL_CAT(ushort, VEC)
#define vloadV MIXCL_CAT(vload, VEC)
#define vstoreV MIXCL_CAT(vstore, VEC)
#define vstore_halfV_rte MIXCL_CAT(MIXCL_CAT(vstore_half, VEC), _rte)
#define convert_ushortV MIXCL_CAT(convert_ushort, VEC)
#define as_uintV MIXCL_CAT(as_uint, VEC)

// BF16 bits of x: round to nearest even on the upper 16 bits; NaN keeps a set quiet bit.
inline ushort to_bf16(float x) {
  const uint b = as_uint(x);
  if ((b & 0x7FFFFFFFu) > 0x7F800000u) return (ushort)((b >> 16) | 0x40u);
  return (ushort)((b + 0x7FFFu + ((b >> 16) & 1u)) >> 16);
}

kernel void convert_f32_vec(global const float* src, ulong s_off, global float* dst, ulong d_off, ulong n) {
  const ulong i = get_global_id(0) * VEC;
  if (i + VEC <= n) {
    vstoreV(vloadV(0, src + s_off + i), 0, dst + d_off + i);
    return;
  }
  for (ulong j = i; j < n; ++j) dst[d_off + j] = src[s_off + j];
}

kernel void convert_f16_vec(global const float* src, ulong s_off, global half* dst, ulong d_off, ulong n) {
  const ulong i = get_global_id(0) * VEC;
  if (i + VEC <= n) {
    vstore_halfV_rte(vloadV(0, src + s_off + i), 0, dst + d_off + i);
    return;
  }
  for (ulong j = i; j < n; ++j) vstore_half_rte(src[s_off + j], 0, dst + d_off + j);
}

kernel void convert_bf16_vec(global const float* src, ulong s_off, global ushort* dst, ulong d_off, ulong n) {
  const ulong i = get_global_id(0) * VEC;
  if (i + VEC <= n) {
    const uintV b = as_uintV(vloadV(0, src + s_off + i));
    const uintV r = (b + (uintV)(0x7FFFu) + ((b >> 16) & (uintV)(1u))) >> 16;
    const ushortV h = convert_ushortV(r);
    if (any((b & (uintV)(0x7FFFFFFFu)) > (uintV)(0x7F800000u))) {
      for (int l = 0; l < VEC; ++l) dst[d_off + i + l] = to_bf16(src[s_off + i + l]);
      return;
    }
    vstoreV(h, 0, dst + d_off + i);
    return;
  }
  for (ulong j = i; j < n; ++j) dst[d_off + j] = to_bf16(src[s_off + j]);
}

kernel void convert_f32_scalar(global const float* src, ulong s_off, global float* dst, ulong d_off, ulong n) {
  const ulong i = get_global_id(0);
  if (i < n) dst[d_off + i] = src[s_off + i];
}

kernel void convert_f16_scalar(global const float* src, ulong s_off, global half* dst, ulong d_off, ulong n) {
  const ulong i = get_global_id(0);
  if (i < n) vstore_half_rte(src[s_off + i], 0, dst + d_off + i);
}

kernel void convert_bf16_scalar(global const float* src, ulong s_off, global ushort* dst, ulong d_off, ulong n) {
  const ulong i = get_global_id(0);
  if (i < n) dst[d_off + i] = to_bf16(src[s_off + i]);
}
