#pragma once
// A plain double-precision forward pass of the deepseek2 architecture, written straight from
// ../shared/spec/deepseek2.md and independent of the production code: the yardstick for logits and
// expert choices. It uses the naive (decompressed) attention form of spec §5.2 and recomputes
// everything for every position, so it is slow and only for tiny models.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace mixcl::reference {

/// A tensor as the reference sees it: GGUF dims (ne0 first) and values in double.
struct RefTensor {
  std::vector<uint64_t> dims;
  std::vector<double> data;
};

/// Hyperparameters, named as in deepseek2.md §1.
struct RefHparams {
  int64_t n_embd = 0, n_layer = 0, n_dense = 0, n_head = 0;
  int64_t q_lora_rank = 0, kv_lora_rank = 0, rope_dims = 0, nope_dims = 0, v_dims = 0;
  int64_t ffn = 0, ffn_expert = 0, n_expert = 0, n_expert_used = 0, n_shared = 0;
  int64_t n_group = 1, n_group_used = 1, vocab = 0;
  double eps = 1e-6, rope_base = 10000;
  bool yarn = false;
  double yarn_factor = 1, yarn_orig_ctx = 4096, yarn_log_multiplier = 0, yarn_beta_fast = 32, yarn_beta_slow = 1;
  double expert_weights_scale = 1;
  bool expert_weights_norm = false;
  int gating = 1;  // 1 softmax, 2 sigmoid, 4 sqrt(softplus)
};

/// The model: hyperparameters and a lookup of tensors by GGUF name (null when absent).
struct RefModel {
  RefHparams hp;
  std::function<const RefTensor*(const std::string& name)> tensor;
  /// Optional: the expert ids to compute with at (layer - n_dense, position) instead of the reference's own
  /// top-k (to follow another engine through near-ties); RefOutput still records the reference's own choice.
  std::function<std::vector<int>(int64_t moe_layer, int64_t pos)> forced_experts;
};

/// What the reference computes for a token sequence.
struct RefOutput {
  std::vector<std::vector<double>> logits;               // [position][vocab]
  std::vector<std::vector<std::vector<int>>> experts;    // [layer - n_dense][position] -> sorted expert ids
  std::vector<std::vector<std::vector<double>>> sel;     // [layer - n_dense][position] -> selection scores
};

/// Runs every position of `tokens` (causal) and returns logits and routing.
RefOutput reference_forward(const RefModel& model, std::span<const int32_t> tokens);

/// The YaRN-blended inverse frequencies of spec §5.5 (one per rotary pair).
std::vector<double> reference_rope_inv_freq(const RefHparams& hp);
/// The softmax scale of spec §5.4.
double reference_attention_scale(const RefHparams& hp);

}  // namespace mixcl::reference
