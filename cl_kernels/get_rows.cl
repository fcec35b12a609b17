// Row gather with dequantization: out[i] = row ids[i] of a weight table decoded to f32. The format is chosen at
// build time with -DGR_<TYPE> (default GR_F32 so the file compiles alone); GR_QK elements make a block of GR_QB
// bytes. Decoding follows gguf.md §4 element by element with products in f32 left to right and no contraction,
// so rows equal the host reference codecs bit for bit. Multi-byte fields are assembled from bytes, so a row
// needs no alignment. Two shapes:
//   get_rows_vec : one work-item per (row, block); it decodes the block 4 elements at a time into float4
//                  stores (CPU-like devices).
//   get_rows_wg  : one work-item per output element (GPUs: neighbouring lanes write neighbouring words).
// A table spread over several buffer chunks is gathered with one launch per chunk: rows [row_first,
// row_first + row_count) start at byte t_off of this chunk. Ids are validated on the host before the kernel
// runs. Offsets: table in bytes, ids and out in elements.
#pragma OPENCL FP_CONTRACT OFF

#if !defined(GR_F16) && !defined(GR_BF16) && !defined(GR_Q8_0) && !defined(GR_Q4_0) && !defined(GR_Q4_1) && \
    !defined(GR_Q5_0) && !defined(GR_Q5_1) && !defined(GR_MXFP4) && !defined(GR_IQ4_NL) &&                  \
    !defined(GR_IQ4_XS) && !defined(GR_Q2_K) && !defined(GR_Q3_K) && !defined(GR_Q4_K) &&                   \
    !defined(GR_Q5_K) && !defined(GR_Q6_K)
#define GR_F32
#endif

constant char kMxfp4Values[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};
constant char kIq4nlValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

inline float f16_at(global const uchar* p) {
  const ushort h = (ushort)(p[0] | (p[1] << 8));
  return vload_half(0, (const half*)&h);
}
inline uint u32_at(global const uchar* p) { return p[0] | (p[1] << 8) | (p[2] << 16) | ((uint)p[3] << 24); }
// Nibble of element e (0..31) of a 32-element block: low nibbles first, then high nibbles (gguf.md §4.3).
inline int nib32(global const uchar* qs, uint e) { return e < 16 ? (qs[e] & 0xF) : (qs[e - 16] >> 4); }
// 6-bit scale and min of sub-block b of a Q4_K/Q5_K block (gguf.md §4.7.3).
inline int2 k4_scale_min(global const uchar* s, uint b) {
  if (b < 4) return (int2)(s[b] & 63, s[b + 4] & 63);
  return (int2)((s[b + 4] & 0xF) | ((s[b - 4] >> 6) << 4), (s[b + 4] >> 4) | ((s[b] >> 6) << 4));
}

#if defined(GR_F32)
#define GR_QK 1
#define GR_QB 4
inline float gr_decode(global const uchar* b, uint e) { return as_float(u32_at(b + 4 * e)); }
#elif defined(GR_F16)
#define GR_QK 1
#define GR_QB 2
inline float gr_decode(global const uchar* b, uint e) { return f16_at(b + 2 * e); }
#elif defined(GR_BF16)
#define GR_QK 1
#define GR_QB 2
inline float gr_decode(global const uchar* b, uint e) { return as_float((uint)(b[2 * e] | (b[2 * e + 1] << 8)) << 16); }
#elif defined(GR_Q8_0)
#define GR_QK 32
#define GR_QB 34
inline float gr_decode(global const uchar* b, uint e) { return f16_at(b) * (float)(char)b[2 + e]; }
#elif defined(GR_Q4_0)
#define GR_QK 32
#define GR_QB 18
inline float gr_decode(global const uchar* b, uint e) { return f16_at(b) * (float)(nib32(b + 2, e) - 8); }
#elif defined(GR_Q4_1)
#define GR_QK 32
#define GR_QB 20
inline float gr_decode(global const uchar* b, uint e) { return f16_at(b) * (float)nib32(b + 4, e) + f16_at(b + 2); }
#elif defined(GR_Q5_0)
#define GR_QK 32
#define GR_QB 22
inline float gr_decode(global const uchar* b, uint e) {
  const int q = nib32(b + 6, e) | (int)(((u32_at(b + 2) >> e) & 1u) << 4);
  return f16_at(b) * (float)(q - 16);
}
#elif defined(GR_Q5_1)
#define GR_QK 32
#define GR_QB 24
inline float gr_decode(global const uchar* b, uint e) {
  const int q = nib32(b + 8, e) | (int)(((u32_at(b + 4) >> e) & 1u) << 4);
  return f16_at(b) * (float)q + f16_at(b + 2);
}
#elif defined(GR_MXFP4)
#define GR_QK 32
#define GR_QB 17
inline float gr_decode(global const uchar* b, uint e) {
  const uint x = b[0];  // 2^(x-128) built from bits (gguf.md §4.8)
  const float d = as_float(x < 2 ? (0x00200000u << x) : ((x - 1) << 23));
  return (float)kMxfp4Values[nib32(b + 1, e)] * d;
}
#elif defined(GR_IQ4_NL)
#define GR_QK 32
#define GR_QB 18
inline float gr_decode(global const uchar* b, uint e) { return f16_at(b) * (float)kIq4nlValues[nib32(b + 2, e)]; }
#elif defined(GR_IQ4_XS)
#define GR_QK 256
#define GR_QB 136
inline float gr_decode(global const uchar* b, uint e) {
  const uint sb = e / 32, h = (e / 16) % 2, l = e % 16;
  const uint scales_h = b[2] | (b[3] << 8);
  const int ls = ((b[4 + sb / 2] >> (4 * (sb % 2))) & 0xF) | (((scales_h >> (2 * sb)) & 3) << 4);
  const uchar byte = b[8 + 16 * sb + l];
  const int code = h == 0 ? (byte & 0xF) : (byte >> 4);
  return f16_at(b) * (float)(ls - 32) * (float)kIq4nlValues[code];
}
#elif defined(GR_Q2_K)
#define GR_QK 256
#define GR_QB 84
inline float gr_decode(global const uchar* b, uint e) {
  const uint n = e / 128, j = (e / 32) % 4, hl = e % 32;
  const int q = (b[16 + 32 * n + hl] >> (2 * j)) & 3;
  const uchar sc = b[e / 16];
  return f16_at(b + 80) * (float)(sc & 0xF) * (float)q - f16_at(b + 82) * (float)(sc >> 4);
}
#elif defined(GR_Q3_K)
#define GR_QK 256
#define GR_QB 110
inline float gr_decode(global const uchar* b, uint e) {
  const uint n = e / 128, j = (e / 32) % 4, hl = e % 32, g = e / 16;
  const int q2 = (b[32 + 32 * n + hl] >> (2 * j)) & 3;
  const int hbit = (b[hl] >> (4 * n + j)) & 1;
  global const uchar* s = b + 96;
  const int lo4 = g < 8 ? (s[g] & 0xF) : (s[g - 8] >> 4);
  const int hi2 = (s[8 + g % 4] >> (2 * (g / 4))) & 3;
  return f16_at(b + 108) * (float)((lo4 | (hi2 << 4)) - 32) * (float)(q2 - (hbit ? 0 : 4));
}
#elif defined(GR_Q4_K)
#define GR_QK 256
#define GR_QB 144
inline float gr_decode(global const uchar* b, uint e) {
  const uint c = e / 64, h = (e / 32) % 2, l = e % 32;
  const uchar byte = b[16 + 32 * c + l];
  const int q = h == 0 ? (byte & 0xF) : (byte >> 4);
  const int2 sm = k4_scale_min(b + 4, e / 32);
  return f16_at(b) * (float)sm.x * (float)q - f16_at(b + 2) * (float)sm.y;
}
#elif defined(GR_Q5_K)
#define GR_QK 256
#define GR_QB 176
inline float gr_decode(global const uchar* b, uint e) {
  const uint c = e / 64, h = (e / 32) % 2, l = e % 32;
  const uchar byte = b[48 + 32 * c + l];
  const int q = (h == 0 ? (byte & 0xF) : (byte >> 4)) + 16 * ((b[16 + l] >> (2 * c + h)) & 1);
  const int2 sm = k4_scale_min(b + 4, e / 32);
  return f16_at(b) * (float)sm.x * (float)q - f16_at(b + 2) * (float)sm.y;
}
#elif defined(GR_Q6_K)
#define GR_QK 256
#define GR_QB 210
inline float gr_decode(global const uchar* b, uint e) {
  const uint n = e / 128, k = (e / 32) % 4, l = e % 32;
  const uchar byte = b[64 * n + 32 * (k & 1) + l];
  const int low4 = k < 2 ? (byte & 0xF) : (byte >> 4);
  const int hi2 = (b[128 + 32 * n + l] >> (2 * k)) & 3;
  return f16_at(b + 208) * (float)(char)b[192 + e / 16] * (float)((low4 | (hi2 << 4)) - 32);
}
#endif

// Element e of a row (block e / GR_QK, element e % GR_QK inside it).
inline float gr_elem(global const uchar* row, uint e) { return gr_decode(row + (e / GR_QK) * GR_QB, e % GR_QK); }

kernel void get_rows_vec(global const uchar* table, ulong t_off, ulong row_bytes, uint cols, uint row_first,
                         uint row_count, global const int* ids, ulong id_off, global float* out, ulong out_off) {
  // GR_QK == 1 formats: a "block" is a span of 16 elements.
  const uint span = GR_QK == 1 ? 16 : GR_QK;
  const uint nspans = (cols + span - 1) / span;
  const ulong i = get_global_id(0) / nspans;
  const uint first = (uint)(get_global_id(0) % nspans) * span, last = min(first + span, cols);
  const uint id = (uint)ids[id_off + i] - row_first;
  if (id >= row_count) return;  // the row lives in another chunk of the table
  global const uchar* row = table + t_off + (ulong)id * row_bytes;
  global float* o = out + out_off + i * cols;
  uint e = first;
  for (; e + 4 <= last; e += 4)
    vstore4((float4)(gr_elem(row, e), gr_elem(row, e + 1), gr_elem(row, e + 2), gr_elem(row, e + 3)), 0, o + e);
  for (; e < last; ++e) o[e] = gr_elem(row, e);
}

kernel void get_rows_wg(global const uchar* table, ulong t_off, ulong row_bytes, uint cols, uint row_first,
                        uint row_count, global const int* ids, ulong id_off, global float* out, ulong out_off) {
  const ulong gid = get_global_id(0);
  const ulong i = gid / cols;
  const uint e = (uint)(gid % cols);
  const uint id = (uint)ids[id_off + i] - row_first;
  if (id >= row_count) return;  // the row lives in another chunk of the table
  global const uchar* row = table + t_off + (ulong)id * row_bytes;
  out[out_off + gid] = gr_elem(row, e);
}
