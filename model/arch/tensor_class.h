#pragma once
// Groups the tensors of a deepseek2-style GGUF by role (attention, routed experts, ...) for size reports.
#include <array>
#include <cstdint>
#include <string_view>

namespace mixcl::gguf {
class GgufFile;
}

namespace mixcl::arch {

/// Role of a tensor, from its name (deepseek2.md §3).
enum class TensorClass {
  Attention, RoutedExperts, SharedExperts, DenseFfn, Router, Embedding, Output, Norm, Other,
};
inline constexpr size_t kTensorClassCount = 9;

/// "attention", "routed_experts", "shared_experts", "dense_ffn", "router", "embedding", "output", "norm", "other".
std::string_view tensor_class_name(TensorClass c);
/// The class of a tensor name such as "blk.3.ffn_up_exps.weight"; MTP (nextn) and unknown names are Other.
TensorClass classify_tensor(std::string_view name);

/// Tensor count, parameter (element) count and bytes of one class.
struct ClassTotals {
  uint64_t tensors = 0;
  uint64_t params = 0;
  uint64_t bytes = 0;
};
/// Totals per class over every tensor of a file, indexed by static_cast<size_t>(TensorClass).
std::array<ClassTotals, kTensorClassCount> tensor_class_totals(const gguf::GgufFile& file);

}  // namespace mixcl::arch
