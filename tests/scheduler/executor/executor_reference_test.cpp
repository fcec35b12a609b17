// A quick check of the executor against the double-precision reference forward (tests/reference/) on tiny
// all-F32 models, in both MLA layouts, in one batch and token by token (tests/model_forward/ does every variant).
#include <gtest/gtest.h>

#include "executor_test_util.h"

namespace mixcl::scheduler::test {
namespace {

RunOutput reference_run(const gguf::GgufFile& file, const std::vector<int32_t>& tokens) {
  const RefFile ref = load_reference(file);
  const auto out = reference::reference_forward(ref.model(), tokens);
  RunOutput r;
  for (const auto& row : out.logits) r.logits.insert(r.logits.end(), row.begin(), row.end());
  for (const auto& layer : out.experts) {
    r.routes.emplace_back();
    for (const auto& ids : layer) r.routes.back().emplace_back(ids.begin(), ids.end());
  }
  return r;
}

void check_against_reference(const std::string& name, const std::string& geometry, arch::MlaLayout mla,
                             const std::function<void(arch::Deepseek2Config&)>& tweak = {}) {
  const gguf::GgufFile file = gguf::GgufFile::open(synth_model(name, geometry, all_f32(), mla, 7, tweak));
  const auto tokens = test_tokens(7, arch::from_gguf(file).n_vocab, 21);
  const RunOutput want = reference_run(file, tokens);
  ExecutorOptions o;
  o.context = 16;
  o.batch = 16;
  o.kv_type = DType::F32;
  expect_same(want, run_model(file, {&host()}, o, tokens, tokens.size()), 1e-3, name + " one batch");
  o.batch = 1;
  expect_same(want, run_model(file, {&host()}, o, tokens, 1), 1e-3, name + " token by token");
}

TEST(ExecutorReference, TinyV3SplitLayout) { check_against_reference("v3-f32", "tiny-v3", arch::MlaLayout::kSplit); }

TEST(ExecutorReference, TinyV2LiteLegacyLayout) {
  check_against_reference("v2lite-legacy-f32", "tiny-v2-lite", arch::MlaLayout::kLegacy);
}

// No q-LoRA, no YaRN, sigmoid + bias, and the head tied to token_embd.
TEST(ExecutorReference, TinyMoonlightTiedOutput) {
  check_against_reference("moonlight-tied-f32", "tiny-moonlight", arch::MlaLayout::kSplit,
                          [](arch::Deepseek2Config& c) { c.tied_output = true; });
}

// Fused ffn_gate_up_exps computes exactly what the separate gate and up stacks do.
TEST(ExecutorReference, FusedGateUpExpertsEqualSeparate) {
  const auto plain = synth_model("v3-f32", "tiny-v3", all_f32());
  Edit e;
  e.fuse_gate_up = true;
  const gguf::GgufFile a = gguf::GgufFile::open(plain), b = gguf::GgufFile::open(rewrite(plain, "v3-fused", e));
  ASSERT_TRUE(b.find_tensor("blk.3.ffn_gate_up_exps.weight"));
  ASSERT_FALSE(b.find_tensor("blk.3.ffn_up_exps.weight"));
  const auto tokens = test_tokens(6, arch::from_gguf(a).n_vocab, 2);
  ExecutorOptions o;
  o.context = 8;
  o.batch = 3;
  const RunOutput ra = run_model(a, {&host()}, o, tokens, 6), rb = run_model(b, {&host()}, o, tokens, 6);
  EXPECT_EQ(ra.logits, rb.logits);
  EXPECT_EQ(ra.routes, rb.routes);
  // And on PoCL, where the split stacks are uploaded.
  const auto cl = cl_devices();
  ASSERT_FALSE(cl.empty());
  expect_same(ra, run_model(b, {cl[0]}, o, tokens, 6), 1e-3, "fused experts on PoCL");
}

}  // namespace
}  // namespace mixcl::scheduler::test
