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

void check_against_reference(const std::string& name, const std::string& geometry, arch::MlaLayout mla) {
  const gguf::GgufFile file = gguf::GgufFile::open(synth_model(name, geometry, all_f32(), mla));
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

}  // namespace
}  // namespace mixcl::scheduler::test
