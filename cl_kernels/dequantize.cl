// Weight rows to f32 rows, for the large-batch path (dequantize a tile of rows, then a CLBlast SGEMM). The host
// code puts one format file (matmul_<fmt>.cl: MM_QK, MM_QB, mm_decode and, for float formats, MM_ELEM) in front
// of this file, so the block decoding is the matmul kernels' own; alone it uses F32 rows.
// Offsets: bytes for the weights, floats for the destination.

#ifndef MM_QK
// Default format: F32 rows, so that this file compiles alone.
#define MM_QK 32
#define MM_QB 128
#define MM_ELEM(row, k) (((global const float*)(row))[k])
inline void mm_decode(global const uchar* b, uint p, float16* lo, float16* hi) {
  (void)p;
  *lo = vload16(0, (global const float*)b);
  *hi = vload16(1, (global const float*)b);
}
#endif

#define DQ_PIECES (MM_QK / 32)

// Work-item (i, r) writes 32-element piece i of row r: nrows rows of row_bytes bytes from w + w_off, nblocks
// whole blocks per row (cols elements in all, more than nblocks * MM_QK only for float formats, whose extra
// work-item i = nblocks * DQ_PIECES writes the tail); row r goes to dst[dst_off + r * dst_stride ...].
kernel void dequantize_rows(global const uchar* w, ulong w_off, ulong row_bytes, uint nrows, uint nblocks, uint cols,
                            global float* dst, ulong dst_off, ulong dst_stride) {
  const uint i = get_global_id(0), r = get_global_id(1);
  if (r >= nrows) return;
  global const uchar* rp = w + w_off + (ulong)r * row_bytes;
  global float* out = dst + dst_off + (ulong)r * dst_stride;
  const uint pieces = nblocks * DQ_PIECES;
  if (i < pieces) {
    float16 lo, hi;
    mm_decode(rp + (ulong)(i / DQ_PIECES) * MM_QB, i % DQ_PIECES, &lo, &hi);
    vstore16(lo, 0, out + (ulong)i * 32);
    vstore16(hi, 1, out + (ulong)i * 32);
  }
#ifdef MM_ELEM
  else if (i == pieces) {
    for (uint k = pieces * 32; k < cols; ++k) out[k] = MM_ELEM(rp, k);
  }
#endif
}
