// Probe kernels (backend/probe.cpp): device memory read bandwidth and fp32 FMA throughput.
// Build options: -DVEC=float4 -DLAYOUT=0|1 (read_bandwidth only).
#ifndef VEC
#define VEC float
#endif
#ifndef LAYOUT
#define LAYOUT 0
#endif

// Reads `steps` vectors per work-item and writes each work-item's sum, so no load can be dropped.
// At every step the work-items of a work-group read `local size` consecutive vectors (coalesced on GPUs,
// one SIMD stream per group on CPU drivers). LAYOUT 0: the whole NDRange reads one contiguous block per
// step (vector s * G + g); LAYOUT 1: each work-group streams through its own contiguous region.
__kernel void read_bandwidth(__global const VEC* restrict data, uint steps, __global VEC* restrict out) {
  const uint lid = get_local_id(0), local_size = get_local_size(0);
#if LAYOUT == 0
  const uint stride = get_global_size(0);
  uint i = get_global_id(0);
#elif LAYOUT == 2
  const uint stride = 1;
  uint i = get_global_id(0) * steps;
#else
  const uint stride = local_size;
  uint i = get_group_id(0) * local_size * steps + lid;
#endif
  VEC a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  uint s = 0;
  for (; s + 4 <= steps; s += 4) {  // four independent loads in flight per work-item
    a0 += data[i];
    a1 += data[i + stride];
    a2 += data[i + 2 * stride];
    a3 += data[i + 3 * stride];
    i += 4 * stride;
  }
  for (; s < steps; ++s) {
    a0 += data[i];
    i += stride;
  }
  out[get_global_id(0)] = (a0 + a1) + (a2 + a3);
}

// Runs `iters` steps of eight independent chains x = x * m + a per work-item: 16 * iters * width flops.
// m and a are arguments so the compiler cannot fold the chains.
__kernel void fma_chains(__global VEC* restrict out, float m, float a, uint iters) {
  const float base = 1.0f + (float)(get_global_id(0) & 63) / 4096.0f;
  VEC x0 = base, x1 = base + 0.125f, x2 = base + 0.25f, x3 = base + 0.375f;
  VEC x4 = base + 0.5f, x5 = base + 0.625f, x6 = base + 0.75f, x7 = base + 0.875f;
  for (uint i = 0; i < iters; ++i) {
    x0 = mad(x0, m, a);
    x1 = mad(x1, m, a);
    x2 = mad(x2, m, a);
    x3 = mad(x3, m, a);
    x4 = mad(x4, m, a);
    x5 = mad(x5, m, a);
    x6 = mad(x6, m, a);
    x7 = mad(x7, m, a);
  }
  out[get_global_id(0)] = ((x0 + x1) + (x2 + x3)) + ((x4 + x5) + (x6 + x7));
}
