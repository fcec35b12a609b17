// Dispatch of quant.h onto the per-format block codecs, with the argument checks and error messages.
#include "model/quant/quant.h"

#include <cmath>
#include <exception>
#include <string>

#include "common/error.h"
#include "model/quant/codecs.h"

namespace mixcl::quant {
namespace {

constexpr DType kAllTypes[] = {DType::F32,  DType::F16,  DType::BF16, DType::Q4_0, DType::Q4_1,  DType::Q5_0,
                               DType::Q5_1, DType::Q8_0, DType::Q8_1, DType::Q2_K, DType::Q3_K,  DType::Q4_K,
                               DType::Q5_K, DType::Q6_K, DType::Q8_K, DType::MXFP4, DType::IQ4_NL,
                               DType::IQ4_XS};

detail::QuantFn quant_fn(DType type) {
  if (auto fn = detail::quant_fn_simple(type)) return fn;
  return detail::quant_fn_kquant(type);
}

// "F32, F16, ..." of the types accepted by `supported`.
template <class Pred>
std::string type_list(Pred supported) {
  std::string out;
  for (DType t : kAllTypes) {
    if (!supported(t)) continue;
    if (!out.empty()) out += ", ";
    out += dtype_name(t);
  }
  return out;
}

// Name of `type` for messages, also for ids that are not in the type table.
std::string type_label(DType type) {
  const auto info = dtype_info(static_cast<uint32_t>(type));
  return info ? std::string(info->name) : fmt::format("unknown type id {}", static_cast<uint32_t>(type));
}

// Block geometry of `type`, after checking that n is a whole number of blocks.
DTypeInfo checked_geometry(const char* what, DType type, uint64_t n) {
  const DTypeInfo info = dtype_info(type);
  if (n % info.block_elems != 0)
    fail("{}: {} elements is not a multiple of the {}-element {} block (rows of this type must have a length "
         "divisible by {}; pick a format with a smaller block for this tensor)",
         what, n, info.block_elems, info.name, info.block_elems);
  return info;
}

bool is_plain_float(DType type) { return type == DType::F32 || type == DType::F16 || type == DType::BF16; }

}  // namespace

bool can_dequantize(DType type) { return detail::dequant_fn(type) != nullptr; }

bool can_quantize(DType type) { return quant_fn(type) != nullptr; }

void dequantize_row(DType type, const void* src, float* dst, uint64_t n) {
  const detail::DequantFn fn = detail::dequant_fn(type);
  if (!fn)
    fail("dequantize_row: {} is not supported by the host codecs (supported: {})", type_label(type),
         type_list(can_dequantize));
  const DTypeInfo info = checked_geometry("dequantize_row", type, n);
  fn(static_cast<const uint8_t*>(src), dst, n / info.block_elems);
}

void quantize_row(DType type, const float* src, void* dst, uint64_t n) {
  const detail::QuantFn fn = quant_fn(type);
  if (!fn)
    fail("quantize_row: {} is not supported by the host quantizers (supported: {})", type_label(type),
         type_list(can_quantize));
  const DTypeInfo info = checked_geometry("quantize_row", type, n);
  auto* out = static_cast<uint8_t*>(dst);
  if (is_plain_float(type)) {  // inf/NaN are representable here, so no checks
    fn(src, out, n);
    return;
  }
  const uint64_t nblocks = n / info.block_elems;
  for (uint64_t b = 0; b < nblocks; ++b) {
    const float* x = src + b * info.block_elems;
    for (uint32_t k = 0; k < info.block_elems; ++k)
      if (!std::isfinite(x[k]))
        fail("quantize_row: element {} is {} but {} can only store finite values (clean the tensor or store it "
             "as F32/F16/BF16)",
             b * info.block_elems + k, x[k], info.name);
    try {
      fn(x, out + b * info.block_bytes, 1);
    } catch (const Error& e) {
      fail("quantize_row: {} block {} (elements {}..{}): {}", info.name, b, b * info.block_elems,
           (b + 1) * info.block_elems - 1, e.what());
    }
  }
}

void quantize_rows(DType type, const float* src, void* dst, uint64_t rows, uint64_t n) {
  if (!quant_fn(type))
    fail("quantize_rows: {} is not supported by the host quantizers (supported: {})", type_label(type),
         type_list(can_quantize));
  checked_geometry("quantize_rows", type, n);
  const uint64_t stride = row_bytes(type, n);
  auto* out = static_cast<uint8_t*>(dst);
  int64_t first_bad = -1;  // lowest failing row and its message; exceptions must not leave the parallel region
  std::string message;
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t r = 0; r < static_cast<int64_t>(rows); ++r) {
    try {
      quantize_row(type, src + r * n, out + r * stride, n);
    } catch (const std::exception& e) {
#pragma omp critical(mixcl_quantize_rows)
      if (first_bad < 0 || r < first_bad) {
        first_bad = r;
        message = e.what();
      }
    }
  }
  if (first_bad >= 0) fail("row {}: {}", first_bad, message);
}

}  // namespace mixcl::quant
