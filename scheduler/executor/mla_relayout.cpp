#include "scheduler/executor/mla_relayout.h"

#include <cstring>

#include "common/error.h"
#include "model/quant/quant.h"

namespace mixcl::scheduler::exec {

SplitKvB split_kv_b(const gguf::GgufTensor& kv_b, uint64_t n_head, uint64_t lkv, uint64_t dn, uint64_t dv) {
  SplitKvB out;
  const bool raw = kv_b.type == DType::F32 || kv_b.type == DType::F16 || kv_b.type == DType::BF16;
  if (!raw && !quant::can_dequantize(kv_b.type))
    fail("tensor {}: type {} cannot be decoded to re-lay the legacy MLA layout out", kv_b.name,
         dtype_name(kv_b.type));
  out.type = raw ? kv_b.type : DType::F32;
  const uint64_t es = out.type == DType::F32 ? 4 : 2;
  out.k_b.resize(n_head * lkv * dn * es);
  out.v_b.resize(n_head * dv * lkv * es);
  std::vector<uint8_t> row(lkv * es);
  const uint64_t src_rb = kv_b.row_bytes();
  for (uint64_t i = 0; i < n_head; ++i) {
    for (uint64_t j = 0; j < dn + dv; ++j) {
      const uint8_t* src = kv_b.data + (i * (dn + dv) + j) * src_rb;
      if (raw)
        std::memcpy(row.data(), src, lkv * es);
      else
        quant::dequantize_row(kv_b.type, src, reinterpret_cast<float*>(row.data()), lkv);
      if (j < dn) {
        // Kb[i][c][d] = kv_b row (i(dn+dv) + d), element c: a transpose per head.
        for (uint64_t c = 0; c < lkv; ++c)
          std::memcpy(out.k_b.data() + ((i * lkv + c) * dn + j) * es, row.data() + c * es, es);
      } else {
        // Vb[i][v][c] = kv_b row (i(dn+dv) + dn + v), element c: a straight row copy.
        std::memcpy(out.v_b.data() + (i * dv + (j - dn)) * lkv * es, row.data(), lkv * es);
      }
    }
  }
  return out;
}

}  // namespace mixcl::scheduler::exec
