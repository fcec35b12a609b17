// Q4_0 weights (gguf.md §4.3): 18-byte blocks of 32, f16 d then 16 bytes; low nibbles are elements 0-15,
// high nibbles 16-31; y = d * (q - 8).
#define MM_QK 32
#define MM_QB 18

inline void mm_decode(global const uchar* b, uint p, float16* lo, float16* hi) {
  (void)p;
  const float d = vload_half(0, (global const half*)b);
  const uchar16 q = vload16(0, b + 2);
  *lo = (convert_float16(q & (uchar)15) - 8.0f) * d;
  *hi = (convert_float16(q >> (uchar)4) - 8.0f) * d;
}
