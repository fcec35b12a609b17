#include "model/arch/deepseek2_config.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "common/error.h"
#include "model/gguf/gguf_file.h"

namespace mixcl::arch {
namespace {

// The full-size geometries of deepseek2.md §8 (the fields common to all of them are set in base()).
Deepseek2Config base(std::string_view name) {
  Deepseek2Config c;
  c.name = std::string(name);
  c.kv_lora_rank = 512;
  c.rope_dim = 64;
  c.nope_dim = 128;
  c.v_head_dim = 128;
  c.context_length = 163840;
  return c;
}

Deepseek2Config v2_lite() {
  Deepseek2Config c = base("v2-lite");
  c.n_embd = 2048, c.n_layer = 27, c.n_dense = 1, c.n_head = 16, c.q_lora_rank = 0;
  c.n_ff = 10944, c.n_ff_exp = 1408, c.n_expert = 64, c.n_expert_used = 6, c.n_expert_shared = 2;
  c.n_vocab = 102400;
  c.yarn = true, c.yarn_factor = 40, c.yarn_orig_ctx = 4096, c.mscale_all_dim = 0.707f;
  return c;
}

Deepseek2Config v2() {
  Deepseek2Config c = base("v2");
  c.n_embd = 5120, c.n_layer = 60, c.n_dense = 1, c.n_head = 128, c.q_lora_rank = 1536;
  c.n_ff = 12288, c.n_ff_exp = 1536, c.n_expert = 160, c.n_expert_used = 6, c.n_expert_shared = 2;
  c.n_group = 8, c.n_group_used = 3, c.expert_weights_scale = 16.0f;
  c.n_vocab = 102400;
  c.yarn = true, c.yarn_factor = 40, c.yarn_orig_ctx = 4096, c.mscale_all_dim = 1.0f;
  return c;
}

Deepseek2Config v3() {
  Deepseek2Config c = base("v3");
  c.n_embd = 7168, c.n_layer = 61, c.n_dense = 3, c.n_head = 128, c.q_lora_rank = 1536;
  c.n_ff = 18432, c.n_ff_exp = 2048, c.n_expert = 256, c.n_expert_used = 8, c.n_expert_shared = 1;
  c.n_group = 8, c.n_group_used = 4, c.expert_weights_scale = 2.5f, c.expert_weights_norm = true;
  c.gating = GatingFunc::kSigmoid, c.router_bias = true;
  c.n_vocab = 129280;
  c.yarn = true, c.yarn_factor = 40, c.yarn_orig_ctx = 4096, c.mscale_all_dim = 1.0f;
  return c;
}

Deepseek2Config moonlight() {
  Deepseek2Config c = v2_lite();
  c.name = "moonlight";
  c.n_ff = 11264, c.n_vocab = 163840, c.context_length = 8192;
  c.gating = GatingFunc::kSigmoid, c.router_bias = true;
  c.expert_weights_norm = true, c.expert_weights_scale = 2.446f;
  c.rope_base = 50000.0f, c.rms_eps = 1e-5f;
  c.yarn = false, c.yarn_factor = 1, c.yarn_orig_ctx = 0, c.mscale_all_dim = 0;
  return c;
}

// Rope/YaRN/eps of Kimi-K2 vary between releases (§8 "read from file"); these are one plausible set.
Deepseek2Config kimi_k2() {
  Deepseek2Config c = v3();
  c.name = "kimi-k2";
  c.n_layer = 61, c.n_dense = 1, c.n_head = 64, c.n_expert = 384;
  c.n_group = 1, c.n_group_used = 1, c.expert_weights_scale = 2.827f;
  c.n_vocab = 163840, c.context_length = 131072;
  c.rope_base = 50000.0f, c.yarn_factor = 32, c.yarn_beta_fast = 1, c.yarn_beta_slow = 1;
  return c;
}

// Tiny variants: E and Fe are 256 so K-quants apply to the experts, every other width is a multiple of 32.
Deepseek2Config tiny_base(std::string_view name) {
  Deepseek2Config c;
  c.name = std::string(name);
  c.n_embd = 256, c.n_layer = 3, c.n_dense = 1, c.n_head = 4;
  c.kv_lora_rank = 64, c.rope_dim = 16, c.nope_dim = 32, c.v_head_dim = 32;
  c.n_ff = 512, c.n_ff_exp = 256;
  c.context_length = 4096;
  c.n_vocab = 0;  // set from the tokenizer by the synthesizer
  return c;
}

Deepseek2Config tiny_v2_lite() {
  Deepseek2Config c = tiny_base("tiny-v2-lite");
  c.q_lora_rank = 0;
  c.n_expert = 8, c.n_expert_used = 2, c.n_expert_shared = 2;
  c.yarn = true, c.yarn_factor = 40, c.yarn_orig_ctx = 4096, c.mscale_all_dim = 0.707f;
  return c;
}

Deepseek2Config tiny_v2() {
  Deepseek2Config c = tiny_base("tiny-v2");
  c.q_lora_rank = 96;
  c.n_expert = 8, c.n_expert_used = 3, c.n_expert_shared = 2;
  c.n_group = 4, c.n_group_used = 2, c.expert_weights_scale = 16.0f;
  c.yarn = true, c.yarn_factor = 40, c.yarn_orig_ctx = 4096, c.mscale_all_dim = 1.0f;
  return c;
}

Deepseek2Config tiny_v3() {
  Deepseek2Config c = tiny_base("tiny-v3");
  c.n_layer = 4, c.n_dense = 2, c.q_lora_rank = 96;
  c.n_expert = 8, c.n_expert_used = 4, c.n_expert_shared = 1;
  c.n_group = 4, c.n_group_used = 2, c.expert_weights_scale = 2.5f, c.expert_weights_norm = true;
  c.gating = GatingFunc::kSigmoid, c.router_bias = true;
  c.yarn = true, c.yarn_factor = 40, c.yarn_orig_ctx = 4096, c.mscale_all_dim = 1.0f;
  return c;
}

Deepseek2Config tiny_moonlight() {
  Deepseek2Config c = tiny_base("tiny-moonlight");
  c.q_lora_rank = 0;
  c.n_expert = 8, c.n_expert_used = 2, c.n_expert_shared = 2;
  c.gating = GatingFunc::kSigmoid, c.router_bias = true;
  c.expert_weights_norm = true, c.expert_weights_scale = 2.446f;
  c.rope_base = 50000.0f, c.rms_eps = 1e-5f;
  return c;
}

Deepseek2Config tiny_kimi_k2() {
  Deepseek2Config c = tiny_base("tiny-kimi-k2");
  c.q_lora_rank = 96;
  c.n_expert = 6, c.n_expert_used = 3, c.n_expert_shared = 1;  // X not a power of two (quirk Q7 in small)
  c.gating = GatingFunc::kSigmoid, c.router_bias = true;
  c.expert_weights_norm = true, c.expert_weights_scale = 2.827f;
  c.rope_base = 50000.0f;
  c.yarn = true, c.yarn_factor = 32, c.yarn_orig_ctx = 4096, c.mscale_all_dim = 1.0f;
  c.yarn_beta_fast = 1, c.yarn_beta_slow = 1;
  return c;
}

Deepseek2Config tiny_sqrt_softplus() {
  Deepseek2Config c = tiny_base("tiny-sqrt-softplus");
  c.q_lora_rank = 96;
  c.n_expert = 8, c.n_expert_used = 2, c.n_expert_shared = 1;
  c.gating = GatingFunc::kSqrtSoftplus, c.router_bias = true;
  c.expert_weights_norm = true, c.expert_weights_scale = 1.5f;
  return c;
}

struct GeometryEntry {
  std::string_view name;
  std::string_view description;
  Deepseek2Config (*make)();
};

constexpr std::array kGeometries = {
    GeometryEntry{"v2-lite", "DeepSeek-V2-Lite 16B: no q-LoRA, softmax routing, 64 experts", v2_lite},
    GeometryEntry{"v2", "DeepSeek-V2 236B: q-LoRA, softmax with groups 8/3, 160 experts", v2},
    GeometryEntry{"v3", "DeepSeek-V3/R1 671B: sigmoid + bias, groups 8/4, 256 experts", v3},
    GeometryEntry{"moonlight", "Moonlight-16B-A3B: V2-Lite shape with sigmoid + bias, no YaRN", moonlight},
    GeometryEntry{"kimi-k2", "Kimi-K2 1T: V3 shape, 64 heads, 384 experts, no groups", kimi_k2},
    GeometryEntry{"tiny-v2-lite", "test: no q-LoRA, softmax, 8 experts", tiny_v2_lite},
    GeometryEntry{"tiny-v2", "test: q-LoRA, softmax with groups 4/2, scale 16", tiny_v2},
    GeometryEntry{"tiny-v3", "test: q-LoRA, sigmoid + bias, groups 4/2, 2 dense blocks", tiny_v3},
    GeometryEntry{"tiny-moonlight", "test: no q-LoRA, sigmoid + bias, no YaRN", tiny_moonlight},
    GeometryEntry{"tiny-kimi-k2", "test: sigmoid + bias, 6 experts, YaRN betas 1/1", tiny_kimi_k2},
    GeometryEntry{"tiny-sqrt-softplus", "test: sqrt(softplus) gating with bias", tiny_sqrt_softplus},
};

}  // namespace

double Deepseek2Config::mscale() const {
  if (!yarn || yarn_factor <= 1.0f) return 1.0;
  return 1.0 + 0.1 * static_cast<double>(mscale_all_dim) * std::log(static_cast<double>(yarn_factor));
}

double Deepseek2Config::attn_scale() const {
  const double m = mscale();
  return m * m / std::sqrt(static_cast<double>(qk_head_dim()));
}

void Deepseek2Config::validate() const {
  const auto positive = [&](uint32_t v, std::string_view what) {
    if (v == 0) fail("deepseek2 config '{}': {} must be positive", name, what);
  };
  positive(n_embd, "n_embd (E)");
  positive(n_layer, "n_layer (L)");
  positive(n_head, "n_head (H)");
  positive(kv_lora_rank, "kv_lora_rank (Lkv)");
  positive(rope_dim, "rope_dim (dr)");
  positive(nope_dim, "nope_dim (dn)");
  positive(v_head_dim, "v_head_dim (dv)");
  positive(n_vocab, "n_vocab (V)");
  if (rope_dim % 2 != 0) fail("deepseek2 config '{}': rope_dim {} must be even (RoPE rotates pairs)", name, rope_dim);
  if (n_dense > n_layer)
    fail("deepseek2 config '{}': {} dense blocks but only {} blocks", name, n_dense, n_layer);
  if (n_dense > 0) positive(n_ff, "n_ff (F, needed when there are dense blocks)");
  if (n_dense < n_layer) {
    positive(n_ff_exp, "n_ff_exp (Fe)");
    positive(n_expert, "n_expert (X)");
    positive(n_expert_used, "n_expert_used (k)");
    if (n_expert_used > n_expert)
      fail("deepseek2 config '{}': {} experts used per token but only {} experts", name, n_expert_used, n_expert);
    if (n_group > 1) {
      if (n_expert % n_group != 0)
        fail("deepseek2 config '{}': {} experts cannot be split into {} equal groups", name, n_expert, n_group);
      if (n_group_used == 0 || n_group_used > n_group)
        fail("deepseek2 config '{}': {} groups kept out of {} (must be 1..{})", name, n_group_used, n_group,
             n_group);
      if (n_expert_used > n_group_used * (n_expert / n_group))
        fail("deepseek2 config '{}': k = {} experts do not fit in {} kept groups of {}", name, n_expert_used,
             n_group_used, n_expert / n_group);
    }
  }
  const uint32_t g = static_cast<uint32_t>(gating);
  if (g < 1 || g > 4) fail("deepseek2 config '{}': unknown gating function {}", name, g);
  if (yarn && (yarn_factor <= 0.0f || yarn_orig_ctx == 0))
    fail("deepseek2 config '{}': YaRN needs a positive factor and original context (got {} / {})", name,
         yarn_factor, yarn_orig_ctx);
  if (!(rms_eps > 0.0f)) fail("deepseek2 config '{}': rms_eps must be positive", name);
  if (!(rope_base > 0.0f)) fail("deepseek2 config '{}': rope_base must be positive", name);
}

std::vector<std::string_view> geometry_names() {
  std::vector<std::string_view> names;
  for (const auto& g : kGeometries) names.push_back(g.name);
  return names;
}

std::string_view geometry_description(std::string_view name) {
  for (const auto& g : kGeometries)
    if (g.name == name) return g.description;
  return {};
}

Deepseek2Config geometry(std::string_view name) {
  for (const auto& g : kGeometries)
    if (g.name == name) return g.make();
  std::string known;
  for (const auto& g : kGeometries) known += (known.empty() ? "" : ", ") + std::string(g.name);
  fail("unknown deepseek2 geometry '{}' (known: {})", name, known);
}

uint64_t ParamCounts::total() const {
  return embedding + output + norms + attention + dense_ffn + router + shared_experts + routed_experts;
}

namespace {

// Attention matrices of one block, without any norm vector.
uint64_t attn_matrices(const Deepseek2Config& c) {
  const uint64_t e = c.n_embd, h = c.n_head, lq = c.q_lora_rank, lkv = c.kv_lora_rank;
  const uint64_t q = lq > 0 ? e * lq + lq * h * c.qk_head_dim() : e * h * c.qk_head_dim();
  const uint64_t kv_a = e * (lkv + c.rope_dim);
  const uint64_t kv_b = lkv * h * (c.nope_dim + c.v_head_dim);
  const uint64_t o = h * c.v_head_dim * e;
  return q + kv_a + kv_b + o;
}

// Norm vectors of one block: attn_norm, ffn_norm, q_a_norm (with q-LoRA), kv_a_norm.
uint64_t block_norms(const Deepseek2Config& c) {
  return 2ull * c.n_embd + c.q_lora_rank + c.kv_lora_rank;
}

// Everything both counts share: norms, attention, dense FFN, router, shared experts.
ParamCounts common_counts(const Deepseek2Config& c) {
  const uint64_t e = c.n_embd, l = c.n_layer, d = c.n_dense, moe = l - d;
  ParamCounts p;
  p.norms = e + l * block_norms(c);
  p.attention = l * attn_matrices(c);
  p.dense_ffn = d * 3 * e * c.n_ff;
  p.router = moe * (e * c.n_expert + (c.router_bias ? c.n_expert : 0));
  p.shared_experts = moe * c.n_expert_shared * expert_params(c);
  return p;
}

}  // namespace

uint64_t attn_params_per_block(const Deepseek2Config& c) {
  return attn_matrices(c) + block_norms(c);
}

uint64_t expert_params(const Deepseek2Config& c) { return 3ull * c.n_embd * c.n_ff_exp; }

ParamCounts total_params(const Deepseek2Config& c) {
  ParamCounts p = common_counts(c);
  const uint64_t head = static_cast<uint64_t>(c.n_vocab) * c.n_embd;
  p.embedding = head;
  p.output = c.tied_output ? 0 : head;
  p.routed_experts = static_cast<uint64_t>(c.n_layer - c.n_dense) * c.n_expert * expert_params(c);
  return p;
}

ParamCounts active_params(const Deepseek2Config& c) {
  ParamCounts p = common_counts(c);
  p.embedding = 0;
  p.output = static_cast<uint64_t>(c.n_vocab) * c.n_embd;  // the head is read whether tied or not
  p.routed_experts = static_cast<uint64_t>(c.n_layer - c.n_dense) * c.n_expert_used * expert_params(c);
  return p;
}

}  // namespace mixcl::arch

// ---- reading a GGUF -------------------------------------------------------------------------------------

namespace mixcl::arch {
namespace {

// "deepseek2.<key>" in messages.
std::string full_key(std::string_view key) { return "deepseek2." + std::string(key); }

uint32_t required_u32(const gguf::GgufFile& f, std::string_view key, std::string_view meaning) {
  if (!f.has(key))
    fail("{}: missing metadata key '{}' ({}); the file is not a complete deepseek2 model", f.path(),
         full_key(key), meaning);
  return f.get_u32(key);
}

}  // namespace

Deepseek2Config from_gguf(const gguf::GgufFile& f) {
  if (f.architecture() != "deepseek2")
    fail("{}: general.architecture is '{}', expected 'deepseek2'", f.path(), f.architecture());
  Deepseek2Config c;
  c.name = "gguf";
  const uint32_t blocks = required_u32(f, "block_count", "number of blocks");
  c.n_nextn = f.get_u32("nextn_predict_layers", 0);
  if (c.n_nextn >= blocks)
    fail("{}: {} = {} leaves no decoder blocks out of {} = {}", f.path(), full_key("nextn_predict_layers"),
         c.n_nextn, full_key("block_count"), blocks);
  c.n_layer = blocks - c.n_nextn;
  c.context_length = required_u32(f, "context_length", "training context");
  c.n_embd = required_u32(f, "embedding_length", "hidden size E");
  c.n_head = required_u32(f, "attention.head_count", "attention heads H");
  c.kv_lora_rank = required_u32(f, "attention.kv_lora_rank", "KV latent size Lkv");
  c.rope_dim = required_u32(f, "rope.dimension_count", "rotary dims dr");
  c.n_dense = f.get_u32("leading_dense_block_count", 0);
  c.n_ff = c.n_dense > 0 ? required_u32(f, "feed_forward_length", "dense FFN width F, needed when D > 0")
                         : f.get_u32("feed_forward_length", 0);
  c.n_expert = required_u32(f, "expert_count", "routed experts X");
  c.n_expert_used = required_u32(f, "expert_used_count", "experts per token k");
  c.n_ff_exp = required_u32(f, "expert_feed_forward_length", "expert FFN width Fe");
  c.n_expert_shared = required_u32(f, "expert_shared_count", "shared experts S");
  c.n_group = std::max<uint32_t>(1, f.get_u32("expert_group_count", 1));
  c.n_group_used = std::max<uint32_t>(1, f.get_u32("expert_group_used_count", 1));
  if (!f.has("attention.layer_norm_rms_epsilon"))
    fail("{}: missing metadata key '{}' (RMSNorm epsilon)", f.path(), full_key("attention.layer_norm_rms_epsilon"));
  c.rms_eps = f.get_f32("attention.layer_norm_rms_epsilon");
  c.rope_base = f.get_f32("rope.freq_base", 10000.0f);
  c.expert_weights_scale = f.get_f32("expert_weights_scale", 1.0f);
  if (c.expert_weights_scale == 0.0f) c.expert_weights_scale = 1.0f;  // 0 means "no scaling"
  c.expert_weights_norm = f.get_bool("expert_weights_norm", false);
  const uint32_t gating = f.get_u32("expert_gating_func", 1);  // quirk Q2: missing = softmax
  if (gating < 1 || gating > 4)
    fail("{}: {} = {} is not a known gating function (1 softmax, 2 sigmoid, 3 softmax after top-k, 4 "
         "sqrt-softplus)",
         f.path(), full_key("expert_gating_func"), gating);
  c.gating = static_cast<GatingFunc>(gating);

  // Vocabulary: vocab_size, else the token list length.
  if (f.has("vocab_size")) {
    c.n_vocab = f.get_u32("vocab_size");
  } else if (const auto* tokens = f.find("tokenizer.ggml.tokens")) {
    c.n_vocab = static_cast<uint32_t>(tokens->array_size());
  } else {
    fail("{}: neither '{}' nor 'tokenizer.ggml.tokens' gives the vocabulary size", f.path(), full_key("vocab_size"));
  }

  // YaRN (quirk Q3: the file stores 0.1 x mscale_all_dim).
  const std::string scaling = f.get_string("rope.scaling.type", "none");
  if (scaling == "yarn") {
    c.yarn = true;
    if (!f.has("rope.scaling.factor") || !f.has("rope.scaling.original_context_length"))
      fail("{}: rope scaling is yarn but '{}' or '{}' is missing", f.path(), full_key("rope.scaling.factor"),
           full_key("rope.scaling.original_context_length"));
    c.yarn_factor = f.get_f32("rope.scaling.factor");
    c.yarn_orig_ctx = f.get_u32("rope.scaling.original_context_length");
    c.mscale_all_dim = static_cast<float>(f.get_f32("rope.scaling.yarn_log_multiplier", 0.0f) / 0.1);
    c.yarn_beta_fast = f.get_f32("rope.scaling.yarn_beta_fast", 32.0f);
    c.yarn_beta_slow = f.get_f32("rope.scaling.yarn_beta_slow", 1.0f);
  } else if (scaling != "none") {
    fail("{}: {} = '{}' is not supported for deepseek2 (expected 'yarn' or 'none')", f.path(),
         full_key("rope.scaling.type"), scaling);
  }

  // q-LoRA by tensor presence (quirk Q1), cross-checked against q_lora_rank.
  if (auto qa = f.find_tensor("blk.0.attn_q_a.weight")) {
    c.q_lora_rank = static_cast<uint32_t>(qa->ne[1]);
    if (f.has("attention.q_lora_rank") && f.get_u32("attention.q_lora_rank") != c.q_lora_rank)
      fail("{}: {} = {} but tensor blk.0.attn_q_a.weight has {} rows", f.path(), full_key("attention.q_lora_rank"),
           f.get_u32("attention.q_lora_rank"), c.q_lora_rank);
  } else if (!f.find_tensor("blk.0.attn_q.weight")) {
    fail("{}: block 0 has neither attn_q_a.weight (q-LoRA) nor attn_q.weight", f.path());
  }

  // MLA layout by tensor presence; dn and dv from the *_mla keys or the tensors, never from key_length (Q6).
  const auto kb = f.find_tensor("blk.0.attn_k_b.weight");
  const auto vb = f.find_tensor("blk.0.attn_v_b.weight");
  const auto kvb = f.find_tensor("blk.0.attn_kv_b.weight");
  if (kb && vb) {
    c.mla = MlaLayout::kSplit;
    c.nope_dim = static_cast<uint32_t>(kb->ne[0]);
    c.v_head_dim = static_cast<uint32_t>(vb->ne[1]);
    if (f.has("attention.key_length_mla") && f.get_u32("attention.key_length_mla") != c.nope_dim + c.rope_dim)
      fail("{}: {} = {} but attn_k_b ({} key dims) + {} rotary dims = {}", f.path(),
           full_key("attention.key_length_mla"), f.get_u32("attention.key_length_mla"), c.nope_dim, c.rope_dim,
           c.nope_dim + c.rope_dim);
    if (f.has("attention.value_length_mla") && f.get_u32("attention.value_length_mla") != c.v_head_dim)
      fail("{}: {} = {} but attn_v_b has {} value dims", f.path(), full_key("attention.value_length_mla"),
           f.get_u32("attention.value_length_mla"), c.v_head_dim);
  } else if (kvb) {
    c.mla = MlaLayout::kLegacy;
    if (f.has("attention.key_length_mla"))
      fail("{}: {} is present (an MLA-split file) but block 0 has attn_kv_b instead of attn_k_b/attn_v_b",
           f.path(), full_key("attention.key_length_mla"));
    const uint32_t key_length = required_u32(f, "attention.key_length", "dn + dr in legacy MLA files");
    if (key_length <= c.rope_dim)
      fail("{}: {} = {} must exceed the rotary dims {}", f.path(), full_key("attention.key_length"), key_length,
           c.rope_dim);
    c.nope_dim = key_length - c.rope_dim;
    const uint64_t per_head = c.n_head > 0 ? kvb->ne[1] / c.n_head : 0;
    c.v_head_dim = f.get_u32("attention.value_length", static_cast<uint32_t>(per_head - c.nope_dim));
    if (per_head * c.n_head != kvb->ne[1] || per_head != c.nope_dim + c.v_head_dim)
      fail("{}: attn_kv_b has {} rows, expected H (dn + dv) = {} x ({} + {})", f.path(), kvb->ne[1], c.n_head,
           c.nope_dim, c.v_head_dim);
  } else {
    fail("{}: block 0 has neither attn_k_b/attn_v_b (MLA-split) nor attn_kv_b (legacy)", f.path());
  }

  c.tied_output = !f.find_tensor("output.weight");  // quirk Q5
  c.router_bias = c.n_dense < c.n_layer && f.find_tensor(fmt::format("blk.{}.exp_probs_b.bias", c.n_dense));
  if (auto embd = f.find_tensor("token_embd.weight")) {
    if (embd->ne[0] != c.n_embd || embd->ne[1] != c.n_vocab)
      fail("{}: token_embd.weight is {{{}, {}}} but the metadata says E = {}, V = {}", f.path(), embd->ne[0],
           embd->ne[1], c.n_embd, c.n_vocab);
  } else {
    fail("{}: tensor token_embd.weight is missing", f.path());
  }
  try {
    c.validate();
  } catch (const Error& e) {
    fail("{}: {}", f.path(), e.what());
  }
  return c;
}

}  // namespace mixcl::arch
