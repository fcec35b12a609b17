// The weight generator, the type fallback, the tensor plan's parameter count and the tokenizer padding.
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <vector>

#include "common/error.h"
#include "model/arch/deepseek2_config.h"
#include "model/synth/synth_tensors.h"
#include "model/synth/synth_tokenizer.h"
#include "model/synth/weight_gen.h"

namespace mixcl::synth {
namespace {

uint64_t planned_elements(const arch::Deepseek2Config& c) {
  uint64_t n = 0;
  for (const auto& t : plan_tensors(c, TypeChoice{})) {
    uint64_t e = 1;
    for (auto d : t.dims) e *= d;
    n += e;
  }
  return n;
}

TEST(WeightGen, UnitNormalHasMeanZeroAndUnitVariance) {
  const uint64_t s = tensor_seed(7, "x");
  double sum = 0, sum2 = 0, sum4 = 0;
  float lo = 0, hi = 0;
  constexpr int kN = 1 << 20;
  for (int i = 0; i < kN; ++i) {
    const double v = unit_normal(s, i);
    sum += v, sum2 += v * v, sum4 += v * v * v * v;
    lo = std::min<float>(lo, v), hi = std::max<float>(hi, v);
  }
  const double mean = sum / kN, var = sum2 / kN - mean * mean;
  EXPECT_NEAR(mean, 0.0, 0.005);
  EXPECT_NEAR(var, 1.0, 0.01);
  // Irwin-Hall(4) kurtosis is 3 - 1.2/4 = 2.7: close to Gaussian, and bounded by sqrt(12).
  EXPECT_NEAR(sum4 / kN, 2.7, 0.05);
  EXPECT_GT(lo, -3.47f);
  EXPECT_LT(hi, 3.47f);
  EXPECT_LT(lo, -2.5f);
  EXPECT_GT(hi, 2.5f);
}

TEST(WeightGen, StreamsAreIndependentOfSlabbingAndDifferByKeyAndSeed) {
  std::vector<float> whole(1000), part(300);
  fill_normal(tensor_seed(1, "a"), 0, 1000, 0.5f, 2.0f, whole.data());
  fill_normal(tensor_seed(1, "a"), 700, 300, 0.5f, 2.0f, part.data());
  for (int i = 0; i < 300; ++i) ASSERT_EQ(part[i], whole[700 + i]);
  EXPECT_NE(tensor_seed(1, "a"), tensor_seed(1, "b"));
  EXPECT_NE(tensor_seed(1, "a"), tensor_seed(2, "a"));
  EXPECT_NE(unit_normal(tensor_seed(1, "a"), 5), unit_normal(tensor_seed(2, "a"), 5));
  // Adjacent elements are uncorrelated.
  double c = 0;
  for (int i = 0; i + 1 < 1000; ++i) c += (whole[i] - 0.5) * (whole[i + 1] - 0.5) / 4.0;
  EXPECT_LT(std::abs(c / 999), 0.1);
}

TEST(SynthTypes, FallbackForRowsThatDoNotFitTheBlock) {
  EXPECT_EQ(fitting_type(DType::Q4_K, 512), DType::Q4_K);
  EXPECT_EQ(fitting_type(DType::Q4_K, 128), DType::Q5_0);  // attn_k_b of V3 (quirk Q4)
  EXPECT_EQ(fitting_type(DType::Q2_K, 128), DType::Q4_0);
  EXPECT_EQ(fitting_type(DType::Q3_K, 128), DType::Q4_0);
  EXPECT_EQ(fitting_type(DType::Q5_K, 128), DType::Q5_1);
  EXPECT_EQ(fitting_type(DType::Q6_K, 128), DType::Q8_0);
  EXPECT_EQ(fitting_type(DType::IQ4_XS, 128), DType::IQ4_NL);
  EXPECT_EQ(fitting_type(DType::Q8_0, 48), DType::F16);
  EXPECT_EQ(fitting_type(DType::Q4_K, 48), DType::F16);
  EXPECT_EQ(fitting_type(DType::F32, 7), DType::F32);
}

TEST(SynthTypes, ValidateRejectsUnproducibleAndNonFloatNorms) {
  TypeChoice t;
  EXPECT_NO_THROW(t.validate());
  t.norm = DType::Q8_0;
  EXPECT_THROW(t.validate(), Error);
  t = TypeChoice{};
  t.routed_experts = DType::IQ2_XXS;  // needs an importance matrix: not produced by the host quantizers
  EXPECT_THROW(t.validate(), Error);
}

TEST(SynthPlan, V2LiteEightLayersMatchesTheArithmetic) {
  arch::Deepseek2Config c = arch::geometry("v2-lite");
  c.n_layer = 8;
  EXPECT_EQ(planned_elements(c), arch::total_params(c).total());
  EXPECT_EQ(planned_elements(c), 4'594'374'656ull);  // 2VE + E + 8 attn + dense + 7 (E X + 66 expert)
}

TEST(SynthPlan, FullGeometriesMatchTheArithmetic) {
  for (auto name : {"v2-lite", "v2", "v3", "moonlight", "kimi-k2"}) {
    arch::Deepseek2Config c = arch::geometry(name);
    EXPECT_EQ(planned_elements(c), arch::total_params(c).total()) << name;
    c.mla = arch::MlaLayout::kLegacy;
    c.tied_output = true;
    EXPECT_EQ(planned_elements(c), arch::total_params(c).total()) << name << " legacy tied";
  }
}

TEST(SynthPlan, V3TypesFollowTheClassesAndQuirkQ4) {
  const auto plan = plan_tensors(arch::geometry("v3"), TypeChoice{});
  const auto find = [&](const std::string& n) -> const SynthTensor& {
    for (const auto& t : plan)
      if (t.name == n) return t;
    ADD_FAILURE() << n;
    return plan.front();
  };
  EXPECT_EQ(find("blk.3.attn_k_b.weight").type, DType::Q8_0);  // Q8_0 fits dn = 128
  TypeChoice q4;
  q4.attention = DType::Q4_K;
  for (const auto& t : plan_tensors(arch::geometry("v3"), q4)) {
    if (t.name == "blk.5.attn_k_b.weight") {
      EXPECT_EQ(t.type, DType::Q5_0);
    }
    if (t.name == "blk.5.attn_v_b.weight") {
      EXPECT_EQ(t.type, DType::Q4_K);
    }
  }
  EXPECT_EQ(find("blk.3.ffn_gate_exps.weight").type, DType::Q4_K);
  EXPECT_EQ(find("blk.3.ffn_gate_exps.weight").dims, (std::vector<uint64_t>{7168, 2048, 256}));
  EXPECT_EQ(find("blk.3.ffn_down_exps.weight").dims, (std::vector<uint64_t>{2048, 7168, 256}));
  EXPECT_EQ(find("blk.3.exp_probs_b.bias").type, DType::F32);
  EXPECT_EQ(find("blk.2.ffn_down.weight").dims, (std::vector<uint64_t>{18432, 7168}));
  EXPECT_EQ(find("output.weight").type, DType::Q6_K);
  EXPECT_EQ(find("token_embd.weight").dims, (std::vector<uint64_t>{7168, 129280}));
  EXPECT_EQ(plan.size(), 1u + 61 * 10 + 3 * 3 + 58 * 8 + 2);
}

TEST(SynthTokenizer, PadsToTheFullVocabularyWithUniqueUnusedTokens) {
  const auto small = synth_tokenizer(250, 0);
  const auto t = synth_tokenizer(250, 102400);
  ASSERT_EQ(t.tokens.size(), 102400u);
  ASSERT_EQ(t.token_types.size(), 102400u);
  EXPECT_EQ(t.pre, "deepseek-v3");
  EXPECT_EQ(t.merges, small.merges);
  for (size_t i = 0; i < small.tokens.size(); ++i) ASSERT_EQ(t.tokens[i], small.tokens[i]);
  for (size_t i = small.tokens.size(); i < t.tokens.size(); ++i)
    ASSERT_EQ(t.token_types[i], tokenizer::TokenType::kUnused);
  EXPECT_EQ(std::set<std::string>(t.tokens.begin(), t.tokens.end()).size(), t.tokens.size());
  ASSERT_TRUE(t.bos_id && t.eos_id && t.pad_id);
  EXPECT_EQ(t.tokens[*t.bos_id], kBosText);
  EXPECT_EQ(t.tokens[*t.eos_id], kEosText);
  EXPECT_EQ(t.tokens[*t.pad_id], kPadText);
  EXPECT_EQ(t.token_types[*t.bos_id], tokenizer::TokenType::kControl);
  EXPECT_GE(small.merges.size(), 200u);  // the corpus supports a real vocabulary
  EXPECT_THROW(synth_tokenizer(250, 300), Error);
}

}  // namespace
}  // namespace mixcl::synth
