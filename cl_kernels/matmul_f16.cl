// F16 weights (gguf.md §4.1): rows of IEEE binary16; pieces of 32 elements, the tail element by element.
#define MM_QK 32
#define MM_QB 64
#define MM_ELEM(row, k) vload_half((k), (global const half*)(row))

inline void mm_decode(global const uchar* b, uint p, float16* lo, float16* hi) {
  (void)p;
  *lo = vload_half16(0, (global const half*)b);
  *hi = vload_half16(1, (global const half*)b);
}
