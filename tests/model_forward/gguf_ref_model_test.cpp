// Checks the GGUF -> reference adapter on its own: the hyperparameters it reads equal the config the
// synthesizer wrote (every field, YaRN included), tensors are the file's values, the variants cover every
// feature of the spec, and the reference of a quantized copy stays close to the F32 one.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <set>

#include "tests/model_forward/forward_check.h"
#include "tests/model_forward/test_models.h"

namespace mixcl::test {
namespace {

class AdapterPerVariant : public ::testing::TestWithParam<std::string> {};

TEST_P(AdapterPerVariant, HparamsEqualTheWrittenConfig) {
  const LoadedModel& m = loaded(model_case(GetParam(), "f32"));
  const arch::Deepseek2Config& w = m.written;
  const arch::Deepseek2Config& c = m.ref.config;
  // arch::from_gguf against the synthesizer's input: every field an engine uses.
  EXPECT_EQ(c.n_embd, w.n_embd);
  EXPECT_EQ(c.n_layer, w.n_layer);
  EXPECT_EQ(c.n_dense, w.n_dense);
  EXPECT_EQ(c.n_head, w.n_head);
  EXPECT_EQ(c.q_lora_rank, w.q_lora_rank);
  EXPECT_EQ(c.kv_lora_rank, w.kv_lora_rank);
  EXPECT_EQ(c.rope_dim, w.rope_dim);
  EXPECT_EQ(c.nope_dim, w.nope_dim);
  EXPECT_EQ(c.v_head_dim, w.v_head_dim);
  if (w.n_dense > 0) {
    EXPECT_EQ(c.n_ff, w.n_ff);
  }
  EXPECT_EQ(c.n_ff_exp, w.n_ff_exp);
  EXPECT_EQ(c.n_expert, w.n_expert);
  EXPECT_EQ(c.n_expert_used, w.n_expert_used);
  EXPECT_EQ(c.n_expert_shared, w.n_expert_shared);
  EXPECT_EQ(std::max(c.n_group, 1u), std::max(w.n_group, 1u));
  if (w.n_group > 1) {
    EXPECT_EQ(c.n_group_used, w.n_group_used);
  }
  EXPECT_EQ(c.n_vocab, w.n_vocab);
  EXPECT_EQ(c.rms_eps, w.rms_eps);
  EXPECT_EQ(c.rope_base, w.rope_base);
  EXPECT_EQ(c.yarn, w.yarn);
  if (w.yarn) {
    EXPECT_EQ(c.yarn_factor, w.yarn_factor);
    EXPECT_EQ(c.yarn_orig_ctx, w.yarn_orig_ctx);
    EXPECT_NEAR(c.mscale_all_dim, w.mscale_all_dim, 1e-6);
    EXPECT_EQ(c.yarn_beta_fast, w.yarn_beta_fast);
    EXPECT_EQ(c.yarn_beta_slow, w.yarn_beta_slow);
  }
  EXPECT_EQ(c.expert_weights_scale, w.expert_weights_scale == 0.0f ? 1.0f : w.expert_weights_scale);
  EXPECT_EQ(c.expert_weights_norm, w.expert_weights_norm);
  EXPECT_EQ(c.gating, w.gating);
  EXPECT_EQ(c.router_bias, w.router_bias);
  EXPECT_EQ(c.mla, w.mla);
  EXPECT_EQ(c.tied_output, w.tied_output);

  // The reference's hyperparameters against the written config.
  const reference::RefHparams& hp = m.ref.hp;
  EXPECT_EQ(hp.n_embd, w.n_embd);
  EXPECT_EQ(hp.n_layer, w.n_layer);
  EXPECT_EQ(hp.n_dense, w.n_dense);
  EXPECT_EQ(hp.n_head, w.n_head);
  EXPECT_EQ(hp.q_lora_rank, w.q_lora_rank);
  EXPECT_EQ(hp.kv_lora_rank, w.kv_lora_rank);
  EXPECT_EQ(hp.rope_dims, w.rope_dim);
  EXPECT_EQ(hp.nope_dims, w.nope_dim);
  EXPECT_EQ(hp.v_dims, w.v_head_dim);
  EXPECT_EQ(hp.ffn_expert, w.n_ff_exp);
  EXPECT_EQ(hp.n_expert, w.n_expert);
  EXPECT_EQ(hp.n_expert_used, w.n_expert_used);
  EXPECT_EQ(hp.n_shared, w.n_expert_shared);
  EXPECT_EQ(hp.n_group, w.n_group > 1 ? w.n_group : 1);
  EXPECT_EQ(hp.n_group_used, w.n_group > 1 ? w.n_group_used : 1);
  EXPECT_EQ(hp.vocab, w.n_vocab);
  EXPECT_EQ(hp.eps, static_cast<double>(w.rms_eps));
  EXPECT_EQ(hp.rope_base, static_cast<double>(w.rope_base));
  EXPECT_EQ(hp.yarn, w.yarn);
  EXPECT_EQ(hp.gating, static_cast<int>(w.gating));
  EXPECT_EQ(hp.expert_weights_norm, w.expert_weights_norm);
  EXPECT_EQ(hp.expert_weights_scale, static_cast<double>(w.expert_weights_scale));
  if (w.yarn) {
    EXPECT_EQ(hp.yarn_factor, static_cast<double>(w.yarn_factor));
    EXPECT_EQ(hp.yarn_orig_ctx, static_cast<double>(w.yarn_orig_ctx));
    EXPECT_EQ(hp.yarn_beta_fast, static_cast<double>(w.yarn_beta_fast));
    EXPECT_EQ(hp.yarn_beta_slow, static_cast<double>(w.yarn_beta_slow));
    // Quirk Q3: the reference takes the file's 0.1 x mscale_all_dim and divides by 0.1 itself.
    EXPECT_NEAR(hp.yarn_log_multiplier, 0.1 * w.mscale_all_dim, 1e-7);
  }
  // Spec §5.4: both sides agree on the softmax scale (mscale^2 / sqrt(dn + dr)).
  EXPECT_NEAR(reference::reference_attention_scale(hp), w.attn_scale(), 1e-6 * w.attn_scale());
  if (w.yarn && w.mscale_all_dim > 0 && w.yarn_factor > 1) {
    EXPECT_GT(reference::reference_attention_scale(hp), 1.0 / std::sqrt(double(w.qk_head_dim())) * 1.1);
  }
}

TEST_P(AdapterPerVariant, F32TensorsAreTheFileValues) {
  const LoadedModel& m = loaded(model_case(GetParam(), "f32"));
  ASSERT_EQ(m.ref.tensors.size(), m.file.tensors().size());
  for (const auto& t : m.file.tensors()) {
    ASSERT_EQ(t.type, DType::F32) << t.name;
    const auto it = m.ref.tensors.find(t.name);
    ASSERT_NE(it, m.ref.tensors.end()) << t.name;
    ASSERT_EQ(it->second.dims, std::vector<uint64_t>(t.dims().begin(), t.dims().end())) << t.name;
    ASSERT_EQ(it->second.data.size(), t.n_elements) << t.name;
    for (uint64_t i = 0; i < t.n_elements; ++i) {
      float f;
      std::memcpy(&f, t.data + 4 * i, 4);
      ASSERT_EQ(it->second.data[i], static_cast<double>(f)) << t.name << " element " << i;
    }
  }
}

TEST_P(AdapterPerVariant, ReferenceRunsEveryPosition) {
  const LoadedModel& m = loaded(model_case(GetParam(), "f32"));
  const auto& out = m.ref_out;
  ASSERT_EQ(out.logits.size(), kTestTokens);
  ASSERT_EQ(out.experts.size(), m.written.n_layer - m.written.n_dense);
  for (const auto& layer : out.experts) ASSERT_EQ(layer.size(), kTestTokens);
  // Not a degenerate model: logits spread, and positions differ.
  for (const auto& row : out.logits) {
    const auto [mn, mx] = std::minmax_element(row.begin(), row.end());
    EXPECT_GT(*mx - *mn, 1e-2);
  }
  EXPECT_NE(out.logits[0], out.logits[1]);
}

INSTANTIATE_TEST_SUITE_P(Variants, AdapterPerVariant, ::testing::ValuesIn(variant_names()),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& ch : n)
                             if (ch == '-') ch = '_';
                           return n;
                         });

// Each feature of issue #5's forward pass is carried by at least one variant, checked on the written files.
TEST(AdapterCoverage, VariantsCoverEveryFeature) {
  std::set<std::string> seen;
  for (const auto& v : variant_names()) {
    const LoadedModel& m = loaded(model_case(v, "f32"));
    const auto& c = m.ref.config;
    const auto& f = m.file;
    seen.insert(f.find_tensor("blk.0.attn_q_a.weight") ? "q-lora" : "plain-q");
    seen.insert(f.find_tensor("blk.0.attn_kv_b.weight") ? "mla-legacy" : "mla-split");
    seen.insert(c.yarn ? "yarn" : "no-yarn");
    if (c.yarn && c.mscale_all_dim > 0.0f && c.mscale_all_dim != 1.0f) seen.insert("yarn-mscale-not-1");
    if (c.yarn && (c.yarn_beta_fast != 32.0f || c.yarn_beta_slow != 1.0f)) seen.insert("yarn-betas");
    seen.insert(c.n_dense > 0 ? "dense-leading" : "no-dense");
    if (c.n_dense > 1) seen.insert("several-dense");
    if (c.n_expert_shared > 0) seen.insert("shared-experts");
    if (c.n_expert_shared > 1) seen.insert("several-shared");
    seen.insert("gating-" + std::to_string(static_cast<int>(c.gating)));
    if (f.find_tensor("blk." + std::to_string(c.n_dense) + ".exp_probs_b.bias")) seen.insert("bias");
    if (c.n_group > 1) seen.insert("groups");
    seen.insert(c.expert_weights_norm ? "norm" : "no-norm");
    if (c.expert_weights_scale != 1.0f) seen.insert("scale");
    seen.insert(f.find_tensor("output.weight") ? "output" : "tied-output");
    if ((c.n_expert & (c.n_expert - 1)) != 0) seen.insert("experts-not-power-of-2");
  }
  for (const char* want : {"q-lora", "plain-q", "mla-legacy", "mla-split", "yarn", "no-yarn", "yarn-mscale-not-1",
                           "yarn-betas", "dense-leading", "no-dense", "several-dense", "shared-experts",
                           "several-shared", "gating-1", "gating-2", "gating-4", "bias", "groups", "norm", "no-norm",
                           "scale", "output", "tied-output", "experts-not-power-of-2"})
    EXPECT_TRUE(seen.count(want)) << "no variant covers " << want;
}

// The same weights in the legacy (attn_kv_b) and split (attn_k_b / attn_v_b) layouts give the same reference.
TEST(AdapterLayouts, LegacyAndSplitFilesGiveTheSameReference) {
  const LoadedModel& split = loaded(model_case("tiny-v2", "f32"));
  const LoadedModel& legacy = loaded(model_case("legacy-mla", "f32"));
  ASSERT_TRUE(legacy.ref.tensors.count("blk.0.attn_kv_b.weight"));
  ASSERT_TRUE(split.ref.tensors.count("blk.0.attn_k_b.weight"));
  ASSERT_EQ(split.tokens, legacy.tokens);
  for (size_t p = 0; p < kTestTokens; ++p)
    for (size_t v = 0; v < split.ref_out.logits[p].size(); ++v)
      ASSERT_NEAR(split.ref_out.logits[p][v], legacy.ref_out.logits[p][v], 1e-9) << "position " << p;
  EXPECT_EQ(split.ref_out.experts, legacy.ref_out.experts);
}

// The reference of a Q8_0 copy stays near the F32 one: dequantization reads the right rows and scales.
TEST(AdapterQuantized, Q8CopyIsCloseToF32) {
  const LoadedModel& f = loaded(model_case("tiny-v3", "f32"));
  const LoadedModel& q = loaded(model_case("tiny-v3", "q8_0"));
  for (const auto& [name, t] : q.ref.tensors) {
    const auto& r = f.ref.tensors.at(name);
    ASSERT_EQ(t.dims, r.dims) << name;
    double err = 0, norm = 0;
    for (size_t i = 0; i < t.data.size(); ++i) err += std::pow(t.data[i] - r.data[i], 2), norm += r.data[i] * r.data[i];
    EXPECT_LT(std::sqrt(err / norm), 0.01) << name;  // Q8_0: ~0.4% RMS error on normal data
  }
  std::vector<float> flat;
  for (const auto& row : q.ref_out.logits) flat.insert(flat.end(), row.begin(), row.end());
  const LogitCheck lc = compare_logits(f.ref_out, flat, f.written.n_vocab, kTestTokens);
  ASSERT_TRUE(lc.error.empty()) << lc.error;
  std::printf("[measure] reference f32 vs reference q8_0 (tiny-v3): max rel logit diff %.3g\n", lc.max_rel);
  EXPECT_LT(lc.max_rel, 0.1);
  EXPECT_GT(lc.max_rel, 0.0);
}

}  // namespace
}  // namespace mixcl::test
