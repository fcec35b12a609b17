// RMS normalisation of f32 rows: out = w * (x / sqrt(mean(x^2) + eps)). One work-group per row; the sum of
// squares is reduced inside the work-group. Two shapes:
//   rmsnorm_vec : each work-item owns one contiguous span of the row and reads it with VEC-wide vector loads
//                 (CPU-like devices, few work-items per group).
//   rmsnorm_wg  : work-items stride through the row so neighbours read neighbouring words (GPUs); partial sums
//                 meet through sub-group reductions when USE_SUBGROUPS is 1, else a local-memory tree.
// The local size must be a power of two; `scratch` holds one float per work-item. Offsets are in elements.

#ifndef VEC
#define VEC 4  // 2, 4, 8 or 16
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

#define MIXCL_CAT_(a, b) a##b
#define MIXCL_CAT(a, b) MIXCL_CAT_(a, b)
#define floatV MIXCL_CAT(float, VEC)
#define vloadV MIXCL_CAT(vload, VEC)
#define vstoreV MIXCL_CAT(vstore, VEC)

// Sum of `value` over the work-group, returned to every work-item.
inline float group_sum_tree(float value, local float* scratch) {
  const uint lid = get_local_id(0), size = get_local_size(0);
  scratch[lid] = value;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint s = size / 2; s > 0; s >>= 1) {
    if (lid < s) scratch[lid] += scratch[lid + s];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  const float total = scratch[0];
  barrier(CLK_LOCAL_MEM_FENCE);  // scratch may be reused by the caller
  return total;
}

kernel void rmsnorm_vec(global const float* x, ulong x_off, global const float* w, ulong w_off, global float* out,
                        ulong out_off, ulong n, float eps, local float* scratch) {
  const ulong row = get_group_id(0);
  const uint lid = get_local_id(0), size = get_local_size(0);
  global const float* xr = x + x_off + row * n;
  global float* yr = out + out_off + row * n;
  w += w_off;
  // Spans are whole vectors except possibly the last work-item's.
  const ulong per = ((n + size - 1) / size + VEC - 1) / VEC * VEC;
  const ulong begin = min((ulong)lid * per, n), end = min(begin + per, n);
  const ulong vec_end = begin + (end - begin) / VEC * VEC;
  floatV acc = (floatV)(0.0f);
  for (ulong i = begin; i < vec_end; i += VEC) {
    const floatV v = vloadV(0, xr + i);
    acc = fma(v, v, acc);
  }
  float partial = 0.0f;
  for (ulong i = vec_end; i < end; ++i) partial = fma(xr[i], xr[i], partial);
  float lanes[VEC];
  vstoreV(acc, 0, lanes);
  for (int k = 0; k < VEC; ++k) partial += lanes[k];
  const float inv = 1.0f / sqrt(group_sum_tree(partial, scratch) / (float)n + eps);
  for (ulong i = begin; i < vec_end; i += VEC) vstoreV(vloadV(0, w + i) * (vloadV(0, xr + i) * inv), 0, yr + i);
  for (ulong i = vec_end; i < end; ++i) yr[i] = w[i] * (xr[i] * inv);
}

kernel void rmsnorm_wg(global const float* x, ulong x_off, global const float* w, ulong w_off, global float* out,
                       ulong out_off, ulong n, float eps, local float* scratch) {
  const ulong row = get_group_id(0);
  const uint lid = get_local_id(0), size = get_local_size(0);
  global const float* xr = x + x_off + row * n;
  global float* yr = out + out_off + row * n;
  w += w_off;
  float partial = 0.0f;
  for (ulong i = lid; i < n; i += size) partial = fma(xr[i], xr[i], partial);
#if USE_SUBGROUPS
  const float sg_sum = sub_group_reduce_add(partial);
  if (get_sub_group_local_id() == 0) scratch[get_sub_group_id()] = sg_sum;
  barrier(CLK_LOCAL_MEM_FENCE);
  if (lid == 0) {
    float total = 0.0f;
    for (uint s = 0; s < get_num_sub_groups(); ++s) total += scratch[s];
    scratch[size] = total;  // slot past the per-sub-group sums
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  const float sum = scratch[size];
#else
  const float sum = group_sum_tree(partial, scratch);
#endif
  const float inv = 1.0f / sqrt(sum / (float)n + eps);
  for (ulong i = lid; i < n; i += size) yr[i] = w[i] * (xr[i] * inv);
}
