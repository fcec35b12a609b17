// Malformed models: a missing tensor, a tensor of the wrong shape, an unsupported gating function; each error
// names what is wrong.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>

#include "common/error.h"
#include "executor_test_util.h"

namespace mixcl::scheduler::test {
namespace {

using ::testing::HasSubstr;

std::string load_error(const std::filesystem::path& path) {
  const gguf::GgufFile file = gguf::GgufFile::open(path);
  try {
    Executor ex(file, {&host()}, ExecutorOptions{});
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

std::filesystem::path base() { return synth_model("v3-f32", "tiny-v3", all_f32()); }

TEST(ExecutorErrors, MissingTensorIsNamed) {
  Edit e;
  e.drop = "blk.2.attn_kv_a_norm.weight";
  EXPECT_THAT(load_error(rewrite(base(), "missing-norm", e)),
              AllOf(HasSubstr("blk.2.attn_kv_a_norm.weight"), HasSubstr("missing")));
  e.drop = "blk.3.ffn_down_exps.weight";
  EXPECT_THAT(load_error(rewrite(base(), "missing-experts", e)),
              AllOf(HasSubstr("blk.3.ffn_down_exps.weight"), HasSubstr("missing")));
}

TEST(ExecutorErrors, WrongShapeIsNamedWithTheExpectedDims) {
  const gguf::GgufFile f = gguf::GgufFile::open(base());
  const auto c = arch::from_gguf(f);
  Edit e;
  e.reshape = "blk.1.attn_output.weight";  // {H dv, E} given as {E, H dv}: same bytes, transposed dims
  e.dims = {c.n_embd, uint64_t{c.n_head} * c.v_head_dim};
  const std::string msg = load_error(rewrite(base(), "wrong-shape", e));
  EXPECT_THAT(msg, HasSubstr("blk.1.attn_output.weight"));
  EXPECT_THAT(msg, HasSubstr("{H dv, E}"));
  EXPECT_THAT(msg, HasSubstr(fmt::format("{{{}, {}}}", c.n_head * c.v_head_dim, c.n_embd)));
}

TEST(ExecutorErrors, SoftmaxAfterTopkIsRefusedClearly) {
  Edit e;
  e.metadata = [](gguf::GgufWriter& w) { w.set("deepseek2.expert_gating_func", gguf::GgufValue::u32(3)); };
  EXPECT_THAT(load_error(rewrite(base(), "gating3", e)),
              AllOf(HasSubstr("expert_gating_func = 3"), HasSubstr("not supported")));
}

}  // namespace
}  // namespace mixcl::scheduler::test
