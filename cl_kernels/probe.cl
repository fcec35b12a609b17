// Probe kernels (backend/probe.cpp): device memory read bandwidth and fp32 FMA throughput.
// Build option: -DWIDTH=1|2|4|8|16, the float vector width of every load and chain.
#ifndef WIDTH
#define WIDTH 4
#endif
#if WIDTH == 1
#define VEC float
#define HSUM(v) (v)
#elif WIDTH == 2
#define VEC float2
#define HSUM(v) ((v).s0 + (v).s1)
#elif WIDTH == 4
#define VEC float4
#define HSUM(v) dot((v), (float4)(1.0f))
#elif WIDTH == 8
#define VEC float8
#define HSUM(v) (dot((v).lo, (float4)(1.0f)) + dot((v).hi, (float4)(1.0f)))
#elif WIDTH == 16
#define VEC float16
#define HSUM(v) (dot((v).lo.lo, (float4)(1.0f)) + dot((v).lo.hi, (float4)(1.0f)) + \
                 dot((v).hi.lo, (float4)(1.0f)) + dot((v).hi.hi, (float4)(1.0f)))
#endif

// Both read kernels store a work-item's sum (to out[0]) only when it equals `never`, an argument the host
// sets to -1 while the data are positive: every load feeds a result the compiler must compute, yet no
// write traffic is added to the reads.

// Work-group g reads the contiguous block of 16 * L vectors at 16 * L * g (L = local size): at each of 16
// unrolled fetches its work-items read L consecutive vectors. Coalesced on GPUs; CPU drivers that run the
// work-items of a group as a SIMD loop turn each fetch into one sequential stream.
__kernel void read_blocks(__global const VEC* restrict data, float never, __global float* restrict out) {
  const uint l = get_local_size(0);
  const __global VEC* p = data + get_group_id(0) * l * 16 + get_local_id(0);
  VEC a0 = p[0], a1 = p[l], a2 = p[2 * l], a3 = p[3 * l];
  a0 += p[4 * l];
  a1 += p[5 * l];
  a2 += p[6 * l];
  a3 += p[7 * l];
  a0 += p[8 * l];
  a1 += p[9 * l];
  a2 += p[10 * l];
  a3 += p[11 * l];
  a0 += p[12 * l];
  a1 += p[13 * l];
  a2 += p[14 * l];
  a3 += p[15 * l];
  const float sum = HSUM((a0 + a1) + (a2 + a3));
  if (sum == never) out[0] = sum;  // never true: no write traffic
}

// Work-item i reads its own contiguous run of `steps` vectors starting at i * steps: one sequential stream
// per work-item, the fastest pattern for CPU drivers that run each work-item's loop on its own.
__kernel void read_streams(__global const VEC* restrict data, uint steps, float never,
                           __global float* restrict out) {
  const __global VEC* p = data + (size_t)get_global_id(0) * steps;
  VEC a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  uint s = 0;
  for (; s + 4 <= steps; s += 4) {  // four independent accumulators: loads, not add latency, limit
    a0 += p[s];
    a1 += p[s + 1];
    a2 += p[s + 2];
    a3 += p[s + 3];
  }
  for (; s < steps; ++s) a0 += p[s];
  const float sum = HSUM((a0 + a1) + (a2 + a3));
  if (sum == never) out[0] = sum;  // never true: no write traffic
}

// Runs `iters` steps of eight independent chains x = x * m + a per work-item: 16 * iters * WIDTH flops.
// m and a are arguments so the compiler cannot fold the chains; the result is always stored.
// -DUSE_FMA=1 (devices reporting CL_FP_FMA) uses fma(): some drivers (PoCL) never fuse mad(), which would
// measure mul + add instead of the FMA peak; without hardware FMA, fma() is emulated, so mad() is used.
#if USE_FMA
#define STEP(x) fma((x), (VEC)(m), (VEC)(a))
#else
#define STEP(x) mad((x), (VEC)(m), (VEC)(a))
#endif
__kernel void fma_chains(__global VEC* restrict out, float m, float a, uint iters) {
  const float base = 1.0f + (float)(get_global_id(0) & 63) / 4096.0f;
  VEC x0 = base, x1 = base + 0.125f, x2 = base + 0.25f, x3 = base + 0.375f;
  VEC x4 = base + 0.5f, x5 = base + 0.625f, x6 = base + 0.75f, x7 = base + 0.875f;
  for (uint i = 0; i < iters; ++i) {
    x0 = STEP(x0);
    x1 = STEP(x1);
    x2 = STEP(x2);
    x3 = STEP(x3);
    x4 = STEP(x4);
    x5 = STEP(x5);
    x6 = STEP(x6);
    x7 = STEP(x7);
  }
  out[get_global_id(0)] = ((x0 + x1) + (x2 + x3)) + ((x4 + x5) + (x6 + x7));
}
