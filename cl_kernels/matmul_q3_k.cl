// Q3_K weights (gguf.md §4.7.2): 110-byte blocks of 256: hmask[32] 3rd bits, qs[64] low 2 bits, 12 bytes of
// sixteen 6-bit signed scales, f16 d. Piece p = 4n + j covers elements 128n + 32j .. +31;
// q = ((qs[32n + l] >> 2j) & 3) - (hmask bit (4n + j) of l ? 0 : 4); y = d * sc(g) * q.
#define MM_QK 256
#define MM_QB 110

// Signed scale of 16-element group g.
inline int mm_q3k_scale(global const uchar* s, uint g) {
  const uint lo4 = g < 8 ? (s[g] & 15) : (s[g - 8] >> 4);
  const uint hi2 = (s[8 + (g & 3)] >> (2 * (g >> 2))) & 3;
  return (int)(lo4 | (hi2 << 4)) - 32;
}

inline void mm_decode(global const uchar* b, uint p, float16* lo, float16* hi) {
  const uint n = p >> 2, j = p & 3;
  const float d = vload_half(54, (global const half*)b);  // byte 108
  const float s0 = d * (float)mm_q3k_scale(b + 96, 2 * p), s1 = d * (float)mm_q3k_scale(b + 96, 2 * p + 1);
  global const uchar* q = b + 32 + 32 * n;
  const uchar shift = 2 * j, hbit = 4 * n + j;
  const uchar16 q0 = (vload16(0, q) >> shift) & (uchar)3, q1 = (vload16(1, q) >> shift) & (uchar)3;
  const uchar16 m0 = ((vload16(0, b) >> hbit) & (uchar)1) ^ (uchar)1, m1 = ((vload16(1, b) >> hbit) & (uchar)1) ^ (uchar)1;
  *lo = (convert_float16(q0) - 4.0f * convert_float16(m0)) * s0;
  *hi = (convert_float16(q1) - 4.0f * convert_float16(m1)) * s1;
}
