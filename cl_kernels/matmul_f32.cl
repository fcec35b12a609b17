// F32 weights (gguf.md §4.1): rows of binary32; pieces of 32 elements, the tail element by element.
#define MM_QK 32
#define MM_QB 128
#define MM_ELEM(row, k) (((global const float*)(row))[k])

inline void mm_decode(global const uchar* b, uint p, float16* lo, float16* hi) {
  (void)p;
  *lo = vload16(0, (global const float*)b);
  *hi = vload16(1, (global const float*)b);
}
