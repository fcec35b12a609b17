#include "model/synth/deepseek2_keys.h"

namespace mixcl::synth {

void set_deepseek2_keys(gguf::GgufWriter& w, const arch::Deepseek2Config& c) {
  using gguf::GgufValue;
  const auto u32 = [&](const char* key, uint32_t v) { w.set(std::string("deepseek2.") + key, GgufValue::u32(v)); };
  const auto f32 = [&](const char* key, float v) { w.set(std::string("deepseek2.") + key, GgufValue::f32(v)); };
  const bool split = c.mla == arch::MlaLayout::kSplit;
  w.set("general.architecture", GgufValue::str("deepseek2"));
  u32("context_length", c.context_length);
  u32("embedding_length", c.n_embd);
  u32("block_count", c.n_layer + c.n_nextn);
  if (c.n_ff > 0) u32("feed_forward_length", c.n_ff);
  u32("vocab_size", c.n_vocab);
  u32("attention.head_count", c.n_head);
  u32("attention.head_count_kv", split ? 1 : c.n_head);
  u32("attention.key_length", split ? c.kv_lora_rank + c.rope_dim : c.qk_head_dim());
  u32("attention.value_length", split ? c.kv_lora_rank : c.v_head_dim);
  if (split) {
    u32("attention.key_length_mla", c.qk_head_dim());
    u32("attention.value_length_mla", c.v_head_dim);
  }
  if (c.q_lora_rank > 0) u32("attention.q_lora_rank", c.q_lora_rank);
  u32("attention.kv_lora_rank", c.kv_lora_rank);
  f32("attention.layer_norm_rms_epsilon", c.rms_eps);
  u32("rope.dimension_count", c.rope_dim);
  f32("rope.freq_base", c.rope_base);
  if (c.yarn) {
    w.set("deepseek2.rope.scaling.type", GgufValue::str("yarn"));
    f32("rope.scaling.factor", c.yarn_factor);
    u32("rope.scaling.original_context_length", c.yarn_orig_ctx);
    // Quirk Q3: the file holds 0.1 x mscale_all_dim (computed in double so 0.707 is stored as 0.0707).
    f32("rope.scaling.yarn_log_multiplier", static_cast<float>(0.1 * static_cast<double>(c.mscale_all_dim)));
    if (c.yarn_beta_fast != 32.0f || c.yarn_beta_slow != 1.0f) {
      f32("rope.scaling.yarn_beta_fast", c.yarn_beta_fast);
      f32("rope.scaling.yarn_beta_slow", c.yarn_beta_slow);
    }
  }
  u32("leading_dense_block_count", c.n_dense);
  u32("expert_count", c.n_expert);
  u32("expert_used_count", c.n_expert_used);
  u32("expert_feed_forward_length", c.n_ff_exp);
  u32("expert_shared_count", c.n_expert_shared);
  if (c.n_group > 1) {
    u32("expert_group_count", c.n_group);
    u32("expert_group_used_count", c.n_group_used);
  }
  f32("expert_weights_scale", c.expert_weights_scale);
  if (c.expert_weights_norm) w.set("deepseek2.expert_weights_norm", GgufValue::boolean(true));
  if (c.gating != arch::GatingFunc::kSoftmax) u32("expert_gating_func", static_cast<uint32_t>(c.gating));
  if (c.n_nextn > 0) u32("nextn_predict_layers", c.n_nextn);
}

}  // namespace mixcl::synth
