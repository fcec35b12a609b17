#pragma once
// Converts the legacy attn_kv_b tensor (deepseek2.md §3.4) into the per-head k_b / v_b layout of MLA-split
// files, so both layouts share one absorbed attention path.
#include <cstdint>
#include <vector>

#include "common/dtype.h"
#include "model/gguf/gguf_file.h"

namespace mixcl::scheduler::exec {

/// The split tensors made from attn_kv_b: k_b [H][Lkv][dn] and v_b [H][dv][Lkv], in `type` (the source type
/// when it is a float format, else F32 from the dequantized values: exact in both cases).
struct SplitKvB {
  DType type = DType::F32;
  std::vector<uint8_t> k_b, v_b;
};

/// Re-lays `kv_b` ({Lkv, H (dn + dv)}) out; throws naming the tensor when it cannot be decoded.
SplitKvB split_kv_b(const gguf::GgufTensor& kv_b, uint64_t n_head, uint64_t kv_lora_rank, uint64_t nope_dim,
                    uint64_t v_dim);

}  // namespace mixcl::scheduler::exec
