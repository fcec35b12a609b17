#include "backend/device.h"

#include "common/error.h"

namespace mixcl::backend {
namespace {

// Bytes spanned by `rows` rows `pitch` apart of which the last is `row_bytes` long; false on uint64 overflow.
bool region_bytes(uint64_t rows, uint64_t pitch, uint64_t row_bytes, uint64_t& bytes) {
  uint64_t head = 0;
  return !__builtin_mul_overflow(rows - 1, pitch, &head) && !__builtin_add_overflow(head, row_bytes, &bytes);
}

}  // namespace

void Device::copy_2d(View src, uint64_t src_pitch, View dst, uint64_t dst_pitch, uint64_t row_bytes,
                     uint64_t rows) {
  if (rows == 0 || row_bytes == 0) return;  // nothing to copy
  if (src_pitch < row_bytes || dst_pitch < row_bytes)
    fail("device {}: copy_2d: pitches {} (src) / {} (dst) are smaller than the {}-byte rows; rows would overlap",
         name(), src_pitch, dst_pitch, row_bytes);
  const auto check = [&](View v, uint64_t pitch, const char* arg) {
    if (!v.buffer) fail("device {}: copy_2d: argument '{}' has no buffer", name(), arg);
    uint64_t bytes = 0;
    if (!region_bytes(rows, pitch, row_bytes, bytes) || v.offset > v.buffer->size() ||
        bytes > v.buffer->size() - v.offset)
      fail("device {}: copy_2d: argument '{}' ({} rows of {} bytes, pitch {}, from byte {}) runs past the end of "
           "its {}-byte buffer",
           name(), arg, rows, row_bytes, pitch, v.offset, v.buffer->size());
  };
  check(src, src_pitch, "src");
  check(dst, dst_pitch, "dst");
  copy_2d_impl(src, src_pitch, dst, dst_pitch, row_bytes, rows);
}

void Device::matmul_heads(const WeightView& w, uint64_t n_head, View x, uint64_t x_stride, View y,
                          uint64_t y_stride) {
  if (n_head == 0 || w.rows == 0 || w.cols == 0) return;  // nothing to compute
  if (w.rows % n_head != 0)
    fail("device {}: matmul_heads: {} weight rows do not split into {} heads", name(), w.rows, n_head);
  const uint64_t rows = w.rows / n_head;
  if (x_stride < w.cols || y_stride < rows)
    fail("device {}: matmul_heads: strides {} (x) / {} (y) are smaller than a head's {} inputs / {} outputs",
         name(), x_stride, y_stride, w.cols, rows);
  const auto check = [&](View v, uint64_t stride, uint64_t last, const char* arg) {
    if (!v.buffer) fail("device {}: matmul_heads: argument '{}' has no buffer", name(), arg);
    uint64_t floats = 0;
    if (!region_bytes(n_head, stride, last, floats) || floats > v.buffer->size() / 4 || v.offset > v.buffer->size() ||
        floats * 4 > v.buffer->size() - v.offset)
      fail("device {}: matmul_heads: argument '{}' ({} floats from byte {}) runs past the end of its {}-byte "
           "buffer",
           name(), arg, floats, v.offset, v.buffer->size());
  };
  check(x, x_stride, w.cols, "x");
  check(y, y_stride, rows, "y");
  const uint64_t weight_bytes = w.rows * row_bytes(w.type, w.cols);
  if (!w.data.buffer || w.data.offset > w.data.buffer->size() || weight_bytes > w.data.buffer->size() - w.data.offset)
    fail("device {}: matmul_heads: the {} heads' weights ({} bytes from byte {}) lie outside their buffer", name(),
         n_head, weight_bytes, w.data.offset);
  matmul_heads_impl(w, n_head, x, x_stride, y, y_stride);
}

void Device::matmul_heads_impl(const WeightView& w, uint64_t n_head, View x, uint64_t x_stride, View y,
                               uint64_t y_stride) {
  const uint64_t rows = w.rows / n_head;
  for (uint64_t h = 0; h < n_head; ++h)
    matmul(slab(w, h, rows), {x.buffer, x.offset + h * x_stride * 4}, {y.buffer, y.offset + h * y_stride * 4}, 1);
}

}  // namespace mixcl::backend
