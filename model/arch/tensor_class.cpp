#include "model/arch/tensor_class.h"

#include "model/gguf/gguf_file.h"

namespace mixcl::arch {
namespace {

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool contains(std::string_view s, std::string_view p) { return s.find(p) != std::string_view::npos; }

// Strips "blk.<digits>." and returns the rest, or "" when the name is not a block tensor.
std::string_view block_suffix(std::string_view name) {
  if (!starts_with(name, "blk.")) return {};
  size_t i = 4;
  while (i < name.size() && name[i] >= '0' && name[i] <= '9') ++i;
  if (i == 4 || i >= name.size() || name[i] != '.') return {};
  return name.substr(i + 1);
}

}  // namespace

std::string_view tensor_class_name(TensorClass c) {
  static constexpr std::string_view kNames[kTensorClassCount] = {
      "attention", "routed_experts", "shared_experts", "dense_ffn", "router", "embedding", "output", "norm", "other"};
  return kNames[static_cast<size_t>(c)];
}

TensorClass classify_tensor(std::string_view name) {
  if (name == "token_embd.weight") return TensorClass::Embedding;
  if (name == "output.weight") return TensorClass::Output;
  if (name == "output_norm.weight") return TensorClass::Norm;
  const std::string_view s = block_suffix(name);
  if (s.empty() || starts_with(s, "nextn.")) return TensorClass::Other;
  const std::string_view base = s.substr(0, s.find('.'));  // "attn_q_a_norm", "ffn_up_exps", ...
  if (base.size() >= 5 && base.substr(base.size() - 5) == "_norm") return TensorClass::Norm;
  if (base == "ffn_gate_inp" || base == "exp_probs_b") return TensorClass::Router;
  if (contains(base, "_exps")) return TensorClass::RoutedExperts;
  if (contains(base, "_shexp")) return TensorClass::SharedExperts;
  if (starts_with(base, "attn_")) return TensorClass::Attention;
  if (base == "ffn_gate" || base == "ffn_up" || base == "ffn_down") return TensorClass::DenseFfn;
  return TensorClass::Other;
}

std::array<ClassTotals, kTensorClassCount> tensor_class_totals(const gguf::GgufFile& file) {
  std::array<ClassTotals, kTensorClassCount> totals{};
  for (const auto& t : file.tensors()) {
    ClassTotals& c = totals[static_cast<size_t>(classify_tensor(t.name))];
    c.tensors += 1;
    c.params += t.n_elements;
    c.bytes += t.nbytes;
  }
  return totals;
}

}  // namespace mixcl::arch
