#pragma once
// Hyperparameters of the `deepseek2` architecture (deepseek2.md §1-2), the named geometries of §8, and the
// parameter arithmetic of §8.1.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mixcl::gguf {
class GgufFile;
}

namespace mixcl::arch {

/// Router score function, numbered as `expert_gating_func` (deepseek2.md §2, §6.2).
enum class GatingFunc : uint32_t { kSoftmax = 1, kSigmoid = 2, kSoftmaxAfterTopk = 3, kSqrtSoftplus = 4 };

/// How the MLA key/value up-projection is stored (deepseek2.md §3.4).
enum class MlaLayout { kSplit, kLegacy };

/// Every hyperparameter an engine needs for a `deepseek2` model; field comments give the spec symbol.
struct Deepseek2Config {
  std::string name;               // geometry name ("v3", "tiny-v3", ...) or "gguf"; informational
  uint32_t n_embd = 0;            // E
  uint32_t n_layer = 0;           // L, excluding MTP blocks
  uint32_t n_dense = 0;           // D, leading dense-FFN blocks
  uint32_t n_head = 0;            // H
  uint32_t q_lora_rank = 0;       // Lq; 0 = no q compression (attn_q)
  uint32_t kv_lora_rank = 0;      // Lkv
  uint32_t rope_dim = 0;          // dr
  uint32_t nope_dim = 0;          // dn
  uint32_t v_head_dim = 0;        // dv
  uint32_t n_ff = 0;              // F, dense FFN width
  uint32_t n_ff_exp = 0;          // Fe, routed-expert width
  uint32_t n_expert = 0;          // X
  uint32_t n_expert_used = 0;     // k
  uint32_t n_expert_shared = 0;   // S
  uint32_t n_group = 1;           // G (0 or 1 = no group routing)
  uint32_t n_group_used = 1;      // Gk
  uint32_t n_vocab = 0;           // V
  uint32_t context_length = 4096; // training context
  uint32_t n_nextn = 0;           // trailing MTP blocks present in the file (block_count = L + n_nextn)
  float rms_eps = 1e-6f;          // eps of every RMSNorm
  float rope_base = 10000.0f;     // RoPE theta
  bool yarn = false;              // rope.scaling.type == "yarn"
  float yarn_factor = 1.0f;       // f
  uint32_t yarn_orig_ctx = 0;     // L0
  float mscale_all_dim = 0.0f;    // the HF value; the file stores 0.1 x this (quirk Q3)
  float yarn_beta_fast = 32.0f;   // YaRN ramp bounds
  float yarn_beta_slow = 1.0f;
  float expert_weights_scale = 1.0f;  // routed weight multiplier (0 or 1 = none)
  bool expert_weights_norm = false;   // renormalise the k selected weights
  GatingFunc gating = GatingFunc::kSoftmax;
  bool router_bias = false;       // exp_probs_b.bias present (selection-only bias)
  MlaLayout mla = MlaLayout::kSplit;
  bool tied_output = false;       // no output.weight: the head is token_embd.weight

  /// dn + dr, the per-head q/k width (key_length_mla).
  uint32_t qk_head_dim() const { return nope_dim + rope_dim; }
  /// True for block `layer` (< n_layer) using the MoE FFN rather than the dense one.
  bool is_moe_layer(uint32_t layer) const { return layer >= n_dense; }
  /// YaRN attention factor mscale (1 without YaRN), deepseek2.md §5.4.
  double mscale() const;
  /// Softmax scale mscale^2 / sqrt(dn + dr).
  double attn_scale() const;
  /// Throws mixcl::Error naming the first inconsistent field (zero sizes, k > X, groups not dividing X, ...).
  void validate() const;
};

/// Names accepted by geometry(): the real models, then the tiny test variants.
std::vector<std::string_view> geometry_names();
/// One-line description of a geometry (what it models, which variant it covers).
std::string_view geometry_description(std::string_view name);
/// The named geometry (deepseek2.md §8; `tiny-*` are few-MB variants for tests); throws listing the names.
Deepseek2Config geometry(std::string_view name);

/// Parameter counts split by tensor class; in `active` counts only what one token reads.
struct ParamCounts {
  uint64_t embedding = 0;       // token_embd (excluded from active: one row per token)
  uint64_t output = 0;          // output.weight, or the tied head in active counts
  uint64_t norms = 0;           // every RMSNorm weight vector
  uint64_t attention = 0;       // attention matrices (q, kv_a, kv_b, o)
  uint64_t dense_ffn = 0;       // leading dense SwiGLU blocks
  uint64_t router = 0;          // ffn_gate_inp and exp_probs_b
  uint64_t shared_experts = 0;  // shared-expert SwiGLU
  uint64_t routed_experts = 0;  // routed experts (k of X in active counts)

  /// Sum over every class.
  uint64_t total() const;
};

/// Attention parameters of one block including its two block norms (the spec's "attn", §8.1).
uint64_t attn_params_per_block(const Deepseek2Config& c);
/// Parameters of one routed expert (3 E Fe).
uint64_t expert_params(const Deepseek2Config& c);
/// All parameters stored in a file of this geometry (MTP blocks excluded).
ParamCounts total_params(const Deepseek2Config& c);
/// Parameters read per token in decode (deepseek2.md §8.1 "active", embedding table excluded).
ParamCounts active_params(const Deepseek2Config& c);

/// Reads the hyperparameters of a `deepseek2` GGUF (quirks Q1-Q3, Q6); throws naming the bad or missing key.
Deepseek2Config from_gguf(const gguf::GgufFile& file);

}  // namespace mixcl::arch
