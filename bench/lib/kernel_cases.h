#pragma once
// The table of kernel benchmark cases (`mixcl bench kernels`): op × weight format × shape at DeepSeek sizes.
// Matrix shapes are rows × cols of the weight (rows = outputs, cols = the contracted dimension, GGUF ne1 × ne0),
// the convention of backend/view.h and of the test tables in tests/reference/matmul_reference.h.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/dtype.h"

namespace mixcl::bench {

/// The ops `mixcl bench kernels` measures.
enum class KernelOp { kMatvec, kPrefill, kMoeFfn, kMlaAttention, kRmsnorm, kRope, kRouter };

/// "matvec", "prefill", "moe_ffn", "mla_attention", "rmsnorm", "rope", "router".
std::string_view kernel_op_name(KernelOp op);
/// The op of a name above; nullopt when unknown.
std::optional<KernelOp> kernel_op_from_name(std::string_view name);
/// Ops from names: the ones above, "matmul" (matvec and prefill) and "all" (empty list = every op); throws
/// mixcl::Error listing the allowed names for an unknown one.
std::vector<KernelOp> parse_kernel_ops(const std::vector<std::string>& names);
/// Every op, in table order.
std::vector<KernelOp> all_kernel_ops();

/// One benchmark case. Which fields mean what depends on the op (see the comments).
struct KernelCase {
  KernelOp op = KernelOp::kMatvec;
  DType type = DType::F32;       // weight format (matmul, moe gate/up), kv cache type (attention), else F32
  DType type2 = DType::F32;      // moe_ffn: format of the down projection
  uint64_t rows = 0, cols = 0;   // matmul: weight rows × cols; rmsnorm: rows × n; moe: Fe × E (expert width × embd)
  uint64_t m = 1;                // tokens per call
  uint64_t n_expert = 0, n_used = 0, n_group = 1, n_group_used = 1;  // moe_ffn / router
  uint64_t n_head = 0, context = 0;                                  // mla_attention / rope
  std::string model;             // the DeepSeek model the sizes come from ("v3", "v2-lite"), or ""

  /// Display shape: "4096x4096" for matrices, "E7168 Fe2048 k8/256" for moe_ffn, "H128 ctx4096", ...
  std::string shape() const;
  /// "Q4_K", or "Q4_K/Q5_0" for moe_ffn with another down format.
  std::string type_label() const;
};

/// Weight formats of the matmul cases (issue #4's list), in table order.
std::vector<DType> bench_matmul_types();
/// The default matrix shapes (rows, cols): 4096×4096 and DeepSeek's 2048×1408, 1408×2048, 7168×2048, 2048×7168.
std::vector<std::pair<uint64_t, uint64_t>> bench_matmul_shapes();
/// Parses "4096x4096" (rows x cols); throws mixcl::Error naming the text when it is not one.
std::pair<uint64_t, uint64_t> parse_shape(std::string_view text);

/// What to include in the table.
struct CaseFilter {
  std::vector<KernelOp> ops;                              // empty: every op
  std::vector<DType> types;                               // empty: every format
  std::vector<std::pair<uint64_t, uint64_t>> shapes;      // matmul shapes; empty: bench_matmul_shapes()
  uint64_t prefill_m = 512;                               // tokens of the prefill cases
};

/// The cases passing `filter`, before device support is considered. Matmul shapes whose cols are not a
/// multiple of the format's block are left out (e.g. Q4_K with 1408 columns).
std::vector<KernelCase> kernel_cases(const CaseFilter& filter);

}  // namespace mixcl::bench
