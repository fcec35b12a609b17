// Embedding-row gather: any stored weight format decoded to f32 rows.
#include "backend/host/host_ops.h"
#include "backend/host/ops/op_util.h"
#include "backend/host/ops/row_decode.h"

namespace mixcl::backend {

bool get_rows_supports(DType type) {
  return ops::can_decode_row(type);
}

void host_get_rows(HostDevice& dev, const WeightView& table, View ids, View out, uint64_t n) {
  if (!ops::can_decode_row(table.type))
    fail(
        "host get_rows: weight type {} has no row decoder (supported: F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 "
        "MXFP4 IQ4_NL IQ4_XS Q2_K Q3_K Q4_K Q5_K Q6_K)",
        dtype_name(table.type));
  const uint32_t block = dtype_info(table.type).block_elems;
  if (table.cols == 0 || table.cols % block != 0)
    fail("host get_rows: {} rows of {} elements are not a positive multiple of its {}-element block",
         dtype_name(table.type), table.cols, block);
  const uint64_t rb = row_bytes(table.type, table.cols);
  const uint8_t* t = ops::checked_ptr(table.data, rb * table.rows, "get_rows", "table");
  const int32_t* id = ops::checked<const int32_t>(ids, n, "get_rows", "ids");
  float* o = ops::checked<float>(out, n * table.cols, "get_rows", "output");
  // Validate every id before writing anything, so a bad id leaves `out` untouched.
  for (uint64_t i = 0; i < n; ++i)
    if (id[i] < 0 || static_cast<uint64_t>(id[i]) >= table.rows)
      fail("host get_rows: id {} (entry {} of {}) is outside the table of {} rows", id[i], i, n, table.rows);
#pragma omp parallel for num_threads(dev.threads()) schedule(static) if (n * table.cols >= 65536)
  for (uint64_t i = 0; i < n; ++i)
    ops::decode_row(table.type, t + static_cast<uint64_t>(id[i]) * rb, o + i * table.cols, table.cols);
}

}  // namespace mixcl::backend
