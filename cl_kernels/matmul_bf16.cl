// BF16 weights (gguf.md §4.1): rows of the high halves of binary32; pieces of 32 elements, the tail element by
// element.
#define MM_QK 32
#define MM_QB 64
#define MM_ELEM(row, k) as_float((uint)((global const ushort*)(row))[k] << 16)

inline void mm_decode(global const uchar* b, uint p, float16* lo, float16* hi) {
  (void)p;
  *lo = as_float16(convert_uint16(vload16(0, (global const ushort*)b)) << 16);
  *hi = as_float16(convert_uint16(vload16(1, (global const ushort*)b)) << 16);
}
