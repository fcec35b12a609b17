// Row softmax in place: x[r][i] = e^(s x[r][i] - max) / sum over the row (entries at -inf give 0). One
// work-group per row; the max and the sum are reduced inside the group. Two shapes:
//   softmax_vec : each work-item owns one contiguous span of the row, read with VEC-wide vector loads
//                 (CPU-like devices, few work-items per group).
//   softmax_wg  : work-items stride through the row (GPUs); partial results meet through sub-group reductions
//                 when USE_SUBGROUPS is 1, else a local-memory tree.
// The local size must be a power of two; `scratch` holds local size + 1 floats. Offsets are in floats.

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

// Max (is_max) or sum of `value` over the work-group, returned to every work-item.
inline float group_reduce(float value, int is_max, local float* scratch) {
  const uint lid = get_local_id(0), size = get_local_size(0);
#if USE_SUBGROUPS
  const float sg = is_max ? sub_group_reduce_max(value) : sub_group_reduce_add(value);
  if (get_sub_group_local_id() == 0) scratch[get_sub_group_id()] = sg;
  barrier(CLK_LOCAL_MEM_FENCE);
  if (lid == 0) {
    float total = scratch[0];
    for (uint s = 1; s < get_num_sub_groups(); ++s) total = is_max ? fmax(total, scratch[s]) : total + scratch[s];
    scratch[size] = total;
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  const float result = scratch[size];
#else
  scratch[lid] = value;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint s = size / 2; s > 0; s >>= 1) {
    if (lid < s) scratch[lid] = is_max ? fmax(scratch[lid], scratch[lid + s]) : scratch[lid] + scratch[lid + s];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  const float result = scratch[0];
#endif
  barrier(CLK_LOCAL_MEM_FENCE);  // scratch is reused by the next reduction
  return result;
}

inline float hmax(floatV v) {
  float lanes[VEC];
  vstoreV(v, 0, lanes);
  float m = lanes[0];
  for (int k = 1; k < VEC; ++k) m = fmax(m, lanes[k]);
  return m;
}

inline float hsum(floatV v) {
  float lanes[VEC];
  vstoreV(v, 0, lanes);
  float m = 0.0f;
  for (int k = 0; k < VEC; ++k) m += lanes[k];
  return m;
}

kernel void softmax_vec(global float* x, ulong x_off, ulong n, float scale, local float* scratch) {
  const uint lid = get_local_id(0), size = get_local_size(0);
  global float* xr = x + x_off + get_group_id(0) * n;
  const ulong per = ((n + size - 1) / size + VEC - 1) / VEC * VEC;
  const ulong begin = min((ulong)lid * per, n), end = min(begin + per, n);
  const ulong vec_end = begin + (end - begin) / VEC * VEC;
  floatV mv = (floatV)(-INFINITY);
  for (ulong i = begin; i < vec_end; i += VEC) mv = fmax(mv, vloadV(0, xr + i) * scale);
  float m = hmax(mv);
  for (ulong i = vec_end; i < end; ++i) m = fmax(m, xr[i] * scale);
  m = group_reduce(m, 1, scratch);
  floatV sv = (floatV)(0.0f);
  for (ulong i = begin; i < vec_end; i += VEC) {
    const floatV e = exp(vloadV(0, xr + i) * scale - m);
    vstoreV(e, 0, xr + i);
    sv += e;
  }
  float s = hsum(sv);
  for (ulong i = vec_end; i < end; ++i) {
    const float e = exp(xr[i] * scale - m);
    xr[i] = e;
    s += e;
  }
  const float inv = 1.0f / group_reduce(s, 0, scratch);
  for (ulong i = begin; i < vec_end; i += VEC) vstoreV(vloadV(0, xr + i) * inv, 0, xr + i);
  for (ulong i = vec_end; i < end; ++i) xr[i] *= inv;
}

kernel void softmax_wg(global float* x, ulong x_off, ulong n, float scale, local float* scratch) {
  const uint lid = get_local_id(0), size = get_local_size(0);
  global float* xr = x + x_off + get_group_id(0) * n;
  float m = -INFINITY;
  for (ulong i = lid; i < n; i += size) m = fmax(m, xr[i] * scale);
  m = group_reduce(m, 1, scratch);
  float s = 0.0f;
  for (ulong i = lid; i < n; i += size) {
    const float e = exp(xr[i] * scale - m);
    xr[i] = e;
    s += e;
  }
  const float inv = 1.0f / group_reduce(s, 0, scratch);
  for (ulong i = lid; i < n; i += size) xr[i] *= inv;
}
