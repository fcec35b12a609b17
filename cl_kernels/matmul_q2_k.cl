// Q2_K weights (gguf.md §4.7.1): 84-byte blocks of 256: 16 scale bytes (low nibble scale, high nibble min of
// each 16 elements), qs[64] 2-bit codes, f16 d, f16 dmin. Piece p = 4n + j covers elements 128n + 32j .. +31:
// codes (qs[32n + l] >> 2j) & 3, groups g = 2p and 2p + 1; y = d*sc(g)*q - dmin*m(g).
#define MM_QK 256
#define MM_QB 84

inline void mm_decode(global const uchar* b, uint p, float16* lo, float16* hi) {
  const uint n = p >> 2, j = p & 3;
  const float d = vload_half(40, (global const half*)b), dmin = vload_half(41, (global const half*)b);
  const uint g0 = b[2 * p], g1 = b[2 * p + 1];
  global const uchar* q = b + 16 + 32 * n;
  const uchar shift = 2 * j;
  const uchar16 q0 = (vload16(0, q) >> shift) & (uchar)3, q1 = (vload16(1, q) >> shift) & (uchar)3;
  *lo = fma(convert_float16(q0), (float16)(d * (float)(g0 & 15)), (float16)(-(dmin * (float)(g0 >> 4))));
  *hi = fma(convert_float16(q1), (float16)(d * (float)(g1 & 15)), (float16)(-(dmin * (float)(g1 >> 4))));
}
