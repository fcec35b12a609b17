// Q6_K weights (gguf.md §4.7.6): 210-byte blocks of 256: ql[128] low nibbles, qh[64] high 2 bits, 16 i8
// scales (one per 16 elements), f16 d. Piece p = 4n + k covers elements 128n + 32k .. +31;
// y = d * scale[e/16] * (q - 32).
#define MM_QK 256
#define MM_QB 210

inline void mm_decode(global const uchar* b, uint p, float16* lo, float16* hi) {
  const uint n = p >> 2, k = p & 3;
  const float d = vload_half(104, (global const half*)b);  // byte 208
  global const char* sc = (global const char*)(b + 192);
  const float s0 = d * (float)sc[2 * p], s1 = d * (float)sc[2 * p + 1];
  global const uchar* ql = b + 64 * n + 32 * (k & 1);
  global const uchar* qh = b + 128 + 32 * n;
  const uchar shift = (k < 2) ? 0 : 4, hshift = 2 * k;
  const uchar16 l0 = (vload16(0, ql) >> shift) & (uchar)15, l1 = (vload16(1, ql) >> shift) & (uchar)15;
  const uchar16 g0 = ((vload16(0, qh) >> hshift) & (uchar)3) << (uchar)4;
  const uchar16 g1 = ((vload16(1, qh) >> hshift) & (uchar)3) << (uchar)4;
  *lo = (convert_float16(l0 | g0) - 32.0f) * s0;
  *hi = (convert_float16(l1 | g1) - 32.0f) * s1;
}
