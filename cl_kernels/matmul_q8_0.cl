// Q8_0 weights (gguf.md §4.2): 34-byte blocks of 32, f16 d then 32 i8 codes; y = d * q.
#define MM_QK 32
#define MM_QB 34

inline void mm_decode(global const uchar* b, uint p, float16* lo, float16* hi) {
  (void)p;
  const float d = vload_half(0, (global const half*)b);
  const char16 q0 = as_char16(vload16(0, b + 2)), q1 = as_char16(vload16(0, b + 18));
  *lo = convert_float16(q0) * d;
  *hi = convert_float16(q1) * d;
}

// Piece . x with d applied once: saves a multiply per element in the mat-vec loop.
inline float16 mm_dot(global const uchar* b, uint p, float16 xa, float16 xc, float16 acc) {
  (void)p;
  const float d = vload_half(0, (global const half*)b);
  float16 t = convert_float16(as_char16(vload16(0, b + 2))) * xa;
  t = fma(convert_float16(as_char16(vload16(0, b + 18))), xc, t);
  return fma(t, (float16)(d), acc);
}
#define MM_DOT mm_dot
