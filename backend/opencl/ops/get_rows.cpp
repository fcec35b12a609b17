// Row gather with dequantization on an OpenCL device (cl_kernels/get_rows.cl), for every weight format the
// host codecs decode.
#include <vector>

#include "backend/opencl/ops.h"
#include "backend/opencl/ops/op_common.h"

namespace mixcl::backend {

using namespace clops;

namespace {

// The -D macro selecting the decoder of `type` ("" when get_rows.cl has none).
std::string_view format_macro(DType type) {
  switch (type) {
    case DType::F32: return "GR_F32";
    case DType::F16: return "GR_F16";
    case DType::BF16: return "GR_BF16";
    case DType::Q8_0: return "GR_Q8_0";
    case DType::Q4_0: return "GR_Q4_0";
    case DType::Q4_1: return "GR_Q4_1";
    case DType::Q5_0: return "GR_Q5_0";
    case DType::Q5_1: return "GR_Q5_1";
    case DType::MXFP4: return "GR_MXFP4";
    case DType::IQ4_NL: return "GR_IQ4_NL";
    case DType::IQ4_XS: return "GR_IQ4_XS";
    case DType::Q2_K: return "GR_Q2_K";
    case DType::Q3_K: return "GR_Q3_K";
    case DType::Q4_K: return "GR_Q4_K";
    case DType::Q5_K: return "GR_Q5_K";
    case DType::Q6_K: return "GR_Q6_K";
    default: return "";
  }
}

}  // namespace

void opencl_get_rows(OpenCLDevice& dev, const WeightView& table, View ids, View out, uint64_t n) {
  const std::string_view macro = format_macro(table.type);
  if (macro.empty())
    fail("device {}: get_rows: tables of type {} are not supported (F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, "
         "MXFP4, IQ4_NL, IQ4_XS, Q2_K..Q6_K)", dev.name(), dtype_name(table.type));
  const DTypeInfo info = dtype_info(table.type);
  if (table.cols == 0 || table.cols % info.block_elems != 0)
    fail("device {}: get_rows: {} rows need a multiple of {} elements; got {}", dev.name(), dtype_name(table.type),
         info.block_elems, table.cols);
  if (table.cols > UINT32_MAX || table.rows > INT32_MAX)
    fail("device {}: get_rows: table of {} x {} exceeds the kernel's 32-bit indices", dev.name(), table.rows,
         table.cols);
  const ClView vi = resolve(dev, ids, n * 4, 4, "get_rows", "ids");
  const ClView vo = resolve(dev, out, n * table.cols * 4, 4, "get_rows", "out");
  const OpenCLBuffer& tb = own(dev, table.data.buffer, "get_rows", "table");
  const uint64_t rb = row_bytes(table.type, table.cols);
  if (table.data.offset > tb.size() || table.rows * rb > tb.size() - table.data.offset)
    fail("device {}: get_rows: the table ({} rows of {} bytes from byte {}) leaves its {}-byte buffer", dev.name(),
         table.rows, rb, table.data.offset, tb.size());
  if (n == 0) return;
  // The ids decide which rows are read: check them first (one blocking read of n int32 values).
  std::vector<int32_t> host_ids(n);
  try {
    dev.compute_queue().enqueueReadBuffer(vi.buffer, CL_TRUE, vi.offset * 4, n * 4, host_ids.data());
  } catch (const cl::Error& e) {
    throw cl_failure(dev.name(), "get_rows (reading the ids back)", e.err());
  }
  for (uint64_t i = 0; i < n; ++i)
    if (host_ids[i] < 0 || static_cast<uint64_t>(host_ids[i]) >= table.rows)
      fail("device {}: get_rows: id {} (entry {}) is outside the table's {} rows", dev.name(), host_ids[i], i,
           table.rows);
  const bool vec = dev.shape() == KernelShape::kVector;
  cl::Kernel k = dev.kernel("get_rows.cl", vec ? "get_rows_vec" : "get_rows_wg", fmt::format("-D{}", macro));
  const uint64_t span = info.block_elems == 1 ? 16 : info.block_elems;
  const uint64_t items = vec ? n * ((table.cols + span - 1) / span) : n * table.cols;
  // One launch per chunk holding table rows; each row must lie inside one chunk.
  uint64_t row = 0;
  for (size_t c = 0; c < tb.chunk_count() && row < table.rows; ++c) {
    const auto [begin, end] = tb.chunk_range(c);
    const uint64_t at = table.data.offset + row * rb;
    if (at >= end) continue;
    const uint64_t fit = at < begin ? 0 : (end - at) / rb;
    if (fit == 0)
      fail("device {}: get_rows: table row {} crosses a chunk boundary at byte {}; allocate the table with the row "
           "size ({} bytes) as granule", dev.name(), row, at < begin ? begin : end, rb);
    const uint64_t count = std::min(fit, table.rows - row);
    set_args(k, tb.chunk(c), cl_ulong{at - begin}, cl_ulong{rb}, static_cast<cl_uint>(table.cols),
             static_cast<cl_uint>(row), static_cast<cl_uint>(count), vi.buffer, vi.offset, vo.buffer, vo.offset);
    launch(dev, k, items, 0, "get_rows");
    row += count;
  }
}

}  // namespace mixcl::backend
