// MXFP4 weights (gguf.md §4.8): 17-byte blocks of 32: E8M0 exponent E, then 16 bytes of E2M1 codes (low
// nibbles are elements 0-15, high nibbles 16-31); y = KV[code] * 2^(E-128), KV = doubled E2M1 values.
#define MM_QK 32
#define MM_QB 17

// KV of 16 codes with byte arithmetic only: t = code & 7 maps to t + max(t-4,0) + 2*max(t-6,0)
// = 0,1,2,3,4,6,8,12; bit 3 is the sign.
inline float16 mm_mxfp4_values(uchar16 c) {
  const uchar16 t = c & (uchar)7;
  const uchar16 mag = t + sub_sat(t, (uchar16)(4)) + (sub_sat(t, (uchar16)(6)) << (uchar)1);
  const char16 neg = as_char16((c >> (uchar)3) * (uchar)255);  // 0 or -1
  return convert_float16((as_char16(mag) ^ neg) - neg);
}

// 2^(E-128) built from bits as ggml does: normal for E >= 2, the subnormals 2^-127 and 2^-128 below.
inline float mm_mxfp4_scale(uint e) { return as_float(e >= 2 ? (e - 1) << 23 : 0x00200000u << e); }

inline void mm_decode(global const uchar* b, uint p, float16* lo, float16* hi) {
  (void)p;
  const float scale = mm_mxfp4_scale(b[0]);
  const uchar16 q = vload16(0, b + 1);
  *lo = mm_mxfp4_values(q & (uchar)15) * scale;
  *hi = mm_mxfp4_values(q >> (uchar)4) * scale;
}

// Piece . x with the block scale applied once: saves a multiply per element in the mat-vec loop.
inline float16 mm_dot(global const uchar* b, uint p, float16 xa, float16 xc, float16 acc) {
  (void)p;
  const uchar16 q = vload16(0, b + 1);
  float16 t = mm_mxfp4_values(q & (uchar)15) * xa;
  t = fma(mm_mxfp4_values(q >> (uchar)4), xc, t);
  return fma(t, (float16)(mm_mxfp4_scale(b[0])), acc);
}
#define MM_DOT mm_dot
