#pragma once
// Storage types of a synthetic model: one choice per tensor class, with the fallback to a 32-element block
// format for tensors whose rows do not fit the chosen block (deepseek2.md quirk Q4).
#include <cstdint>
#include <string_view>

#include "common/dtype.h"

namespace mixcl::synth {

/// Tensor classes that get their own storage type.
enum class TensorClass { kEmbedding, kOutput, kAttention, kDenseFfn, kSharedExperts, kRoutedExperts, kNorm };

/// "embedding", "routed-experts", ... (for messages and reports).
std::string_view class_name(TensorClass cls);

/// Storage type per class; defaults resemble a Q4_K_M mix.
struct TypeChoice {
  DType embedding = DType::Q4_K;
  DType output = DType::Q6_K;
  DType attention = DType::Q8_0;
  DType dense_ffn = DType::Q8_0;
  DType shared_experts = DType::Q8_0;
  DType routed_experts = DType::Q4_K;
  DType norm = DType::F32;  // norms, the router and its bias: F32, F16 or BF16 only

  /// The chosen type of a class.
  DType for_class(TensorClass cls) const;
  /// Throws mixcl::Error naming the class when a type cannot be produced by the host quantizers.
  void validate() const;
};

/// The type actually stored for rows of `ne0` elements when `wanted` was asked for: `wanted` itself when ne0
/// is a multiple of its block, else the 32-block type a K-quant mix uses (Q2_K/Q3_K->Q4_0, Q4_K->Q5_0,
/// Q5_K->Q5_1, Q6_K->Q8_0, IQ4_XS->IQ4_NL), else F16.
DType fitting_type(DType wanted, uint64_t ne0);

}  // namespace mixcl::synth
