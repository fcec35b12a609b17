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

}  // namespace mixcl::backend
