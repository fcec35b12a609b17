#include "model/synth/synth_types.h"

#include "common/error.h"
#include "model/quant/quant.h"

namespace mixcl::synth {

std::string_view class_name(TensorClass cls) {
  switch (cls) {
    case TensorClass::kEmbedding: return "embedding";
    case TensorClass::kOutput: return "output";
    case TensorClass::kAttention: return "attention";
    case TensorClass::kDenseFfn: return "dense-ffn";
    case TensorClass::kSharedExperts: return "shared-experts";
    case TensorClass::kRoutedExperts: return "routed-experts";
    case TensorClass::kNorm: return "norm";
  }
  return "?";
}

DType TypeChoice::for_class(TensorClass cls) const {
  switch (cls) {
    case TensorClass::kEmbedding: return embedding;
    case TensorClass::kOutput: return output;
    case TensorClass::kAttention: return attention;
    case TensorClass::kDenseFfn: return dense_ffn;
    case TensorClass::kSharedExperts: return shared_experts;
    case TensorClass::kRoutedExperts: return routed_experts;
    case TensorClass::kNorm: return norm;
  }
  return norm;
}

void TypeChoice::validate() const {
  for (TensorClass cls : {TensorClass::kEmbedding, TensorClass::kOutput, TensorClass::kAttention,
                          TensorClass::kDenseFfn, TensorClass::kSharedExperts, TensorClass::kRoutedExperts,
                          TensorClass::kNorm}) {
    const DType t = for_class(cls);
    if (!dtype_info(static_cast<uint32_t>(t)))
      fail("synth: unknown type id {} for {} tensors", static_cast<uint32_t>(t), class_name(cls));
    if (!quant::can_quantize(t))
      fail("synth: {} tensors cannot be stored as {}: the host quantizers cannot produce it (pick e.g. Q4_K, "
           "Q8_0 or F16)",
           class_name(cls), dtype_name(t));
  }
  if (norm != DType::F32 && norm != DType::F16 && norm != DType::BF16)
    fail("synth: norm/router tensors must be F32, F16 or BF16 (got {})", dtype_name(norm));
}

DType fitting_type(DType wanted, uint64_t ne0) {
  const auto fits = [&](DType t) { return ne0 % dtype_info(t).block_elems == 0; };
  if (fits(wanted)) return wanted;
  DType alt = DType::F16;
  switch (wanted) {
    case DType::Q2_K:
    case DType::Q3_K: alt = DType::Q4_0; break;
    case DType::Q4_K: alt = DType::Q5_0; break;
    case DType::Q5_K: alt = DType::Q5_1; break;
    case DType::Q6_K:
    case DType::Q8_K: alt = DType::Q8_0; break;
    case DType::IQ4_XS: alt = DType::IQ4_NL; break;
    default: break;
  }
  return fits(alt) ? alt : DType::F16;
}

}  // namespace mixcl::synth
