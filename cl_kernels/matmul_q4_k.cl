// Q4_K weights (gguf.md §4.7.4): 144-byte blocks of 256: f16 d, f16 dmin, 12 bytes of 6-bit scales/mins
// (§4.7.3), 128 bytes of codes. Piece p (32 elements) uses byte group p/2, low nibbles for even p, high for odd;
// y = d*sc(p)*q - dmin*m(p).
#define MM_QK 256
#define MM_QB 144

// 6-bit scale and min of sub-block p from the 12 packed bytes s (shared with Q5_K).
inline void mm_scale_min_k4(global const uchar* s, uint p, uint* sc, uint* m) {
  if (p < 4) {
    *sc = s[p] & 63;
    *m = s[p + 4] & 63;
  } else {
    *sc = (s[p + 4] & 15) | ((s[p - 4] >> 6) << 4);
    *m = (s[p + 4] >> 4) | ((s[p] >> 6) << 4);
  }
}

inline void mm_decode(global const uchar* b, uint p, float16* lo, float16* hi) {
  const float d = vload_half(0, (global const half*)b), dmin = vload_half(1, (global const half*)b);
  uint sc, m;
  mm_scale_min_k4(b + 4, p, &sc, &m);
  const float16 ds = (float16)(d * (float)sc), dm = (float16)(-(dmin * (float)m));
  global const uchar* q = b + 16 + 32 * (p >> 1);
  uchar16 q0 = vload16(0, q), q1 = vload16(1, q);
  const uchar shift = (p & 1) ? 4 : 0;
  q0 = (q0 >> shift) & (uchar)15;
  q1 = (q1 >> shift) & (uchar)15;
  *lo = fma(convert_float16(q0), ds, dm);
  *hi = fma(convert_float16(q1), ds, dm);
}
