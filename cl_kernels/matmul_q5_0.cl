// Q5_0 weights (gguf.md §4.5): 22-byte blocks of 32: f16 d, u32 qh (bit e = 5th bit of element e), 16 bytes of
// low nibbles (elements 0-15) and high nibbles (16-31); y = d * (q - 16).
#define MM_QK 32
#define MM_QB 22

inline void mm_decode(global const uchar* b, uint p, float16* lo, float16* hi) {
  (void)p;
  const float d = vload_half(0, (global const half*)b);
  const uint qh = (uint)b[2] | ((uint)b[3] << 8) | ((uint)b[4] << 16) | ((uint)b[5] << 24);
  const uint16 bit = (uint16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const uint16 h0 = ((uint16)(qh) >> bit) & 1u, h1 = ((uint16)(qh >> 16) >> bit) & 1u;
  const uchar16 q = vload16(0, b + 6);
  *lo = (convert_float16(convert_uint16(q & (uchar)15) | (h0 << 4)) - 16.0f) * d;
  *hi = (convert_float16(convert_uint16(q >> (uchar)4) | (h1 << 4)) - 16.0f) * d;
}
