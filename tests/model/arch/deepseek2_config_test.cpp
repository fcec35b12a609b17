// The parameter arithmetic and geometries against the numbers printed in deepseek2.md §8.
#include <gtest/gtest.h>

#include <cmath>

#include "common/error.h"
#include "model/arch/deepseek2_config.h"

namespace mixcl::arch {
namespace {

// Rounds `v` to units of `unit` (e.g. 1e7 gives hundredths of a billion).
long long in_units(uint64_t v, double unit) { return std::llround(static_cast<double>(v) / unit); }

TEST(Deepseek2Config, BlockArithmeticMatchesSpecIntermediates) {
  EXPECT_EQ(attn_params_per_block(geometry("v2-lite")), 13'767'168u);
  EXPECT_EQ(attn_params_per_block(geometry("v2")), 149'237'760u);
  EXPECT_EQ(attn_params_per_block(geometry("v3")), 187'121'664u);
  EXPECT_EQ(attn_params_per_block(geometry("kimi-k2")), 101'138'432u);
  EXPECT_EQ(expert_params(geometry("v2-lite")), 8'650'752u);
  EXPECT_EQ(expert_params(geometry("v2")), 23'592'960u);
  EXPECT_EQ(expert_params(geometry("v3")), 44'040'192u);
}

TEST(Deepseek2Config, ActiveParamsMatchSpecFormulaExactly) {
  // The spec's own sums, written out with its literal intermediate values.
  const uint64_t v2_lite = 209'715'200ull + 2048 + 27ull * 13'767'168 + 67'239'936 + 26ull * 69'337'088;
  const uint64_t v2 = 524'288'000ull + 5120 + 60ull * 149'237'760 + 188'743'680 + 59ull * 189'562'880;
  const uint64_t v3 = 926'679'040ull + 7168 + 61ull * 187'121'664 + 3ull * 396'361'728 + 58ull * 398'196'992;
  const uint64_t kimi = 1'174'405'120ull + 7168 + 61ull * 101'138'432 + 396'361'728 + 60ull * 399'114'624;
  EXPECT_EQ(active_params(geometry("v2-lite")).total(), v2_lite);
  EXPECT_EQ(active_params(geometry("v2")).total(), v2);
  EXPECT_EQ(active_params(geometry("v3")).total(), v3);
  EXPECT_EQ(active_params(geometry("kimi-k2")).total(), kimi);
}

TEST(Deepseek2Config, TotalsToTheSpecDigits) {
  EXPECT_EQ(in_units(total_params(geometry("v2-lite")).total(), 1e7), 1571);  // 15.71 B
  EXPECT_EQ(in_units(total_params(geometry("v2")).total(), 1e7), 23574);      // 235.74 B
  EXPECT_EQ(in_units(total_params(geometry("v3")).total(), 1e7), 67103);      // 671.03 B
  EXPECT_EQ(in_units(total_params(geometry("moonlight")).total(), 1e7), 1596);  // 15.96 B
  EXPECT_EQ(in_units(total_params(geometry("kimi-k2")).total(), 1e8), 10264);   // 1026.4 B
}

TEST(Deepseek2Config, ActiveToTheSpecDigits) {
  EXPECT_EQ(in_units(active_params(geometry("v2-lite")).total(), 1e6), 2451);  // 2.451 B
  EXPECT_EQ(in_units(active_params(geometry("v2")).total(), 1e7), 2085);       // 20.85 B
  EXPECT_EQ(in_units(active_params(geometry("v3")).total(), 1e7), 3663);       // 36.63 B
  EXPECT_EQ(in_units(active_params(geometry("moonlight")).total(), 1e6), 2579);  // 2.579 B
  EXPECT_EQ(in_units(active_params(geometry("kimi-k2")).total(), 1e7), 3169);    // 31.69 B
  // With the embedding table: V2-Lite 2.661 B, V3 37.55 B (the published "37B activated").
  const auto with_embd = [](const Deepseek2Config& c) {
    return active_params(c).total() + static_cast<uint64_t>(c.n_vocab) * c.n_embd;
  };
  EXPECT_EQ(in_units(with_embd(geometry("v2-lite")), 1e6), 2661);
  EXPECT_EQ(in_units(with_embd(geometry("v3")), 1e7), 3755);
}

TEST(Deepseek2Config, BytesPerTokenAtQ4KmAndQ8) {
  // §8: active x 0.6 B (4.8 bpw) and x 1.0625 B (Q8_0), in GB.
  EXPECT_EQ(std::llround(active_params(geometry("v2-lite")).total() * 0.6 / 1e7), 147);
  EXPECT_EQ(std::llround(active_params(geometry("v3")).total() * 0.6 / 1e7), 2198);
  EXPECT_EQ(std::llround(active_params(geometry("kimi-k2")).total() * 1.0625 / 1e7), 3367);
}

TEST(Deepseek2Config, ClassesAddUpAndRoutedScalesWithK) {
  const Deepseek2Config c = geometry("v3");
  const ParamCounts t = total_params(c), a = active_params(c);
  EXPECT_EQ(t.routed_experts, 58ull * 256 * 44'040'192);
  EXPECT_EQ(a.routed_experts, 58ull * 8 * 44'040'192);
  EXPECT_EQ(t.router, 58ull * (7168 * 256 + 256));
  EXPECT_EQ(t.embedding, 129'280ull * 7168);
  EXPECT_EQ(a.embedding, 0u);
  EXPECT_EQ(t.attention + t.norms, 61ull * 187'121'664 + 7168);
  Deepseek2Config tied = c;
  tied.tied_output = true;
  EXPECT_EQ(total_params(tied).total(), t.total() - 129'280ull * 7168);
  EXPECT_EQ(active_params(tied).total(), a.total());
}

TEST(Deepseek2Config, V2LiteEightLayersByHand) {
  Deepseek2Config c = geometry("v2-lite");
  c.n_layer = 8;
  const uint64_t expected =
      2ull * 209'715'200 + 2048 + 8ull * 13'767'168 + 67'239'936 + 7ull * (131'072 + 66ull * 8'650'752);
  EXPECT_EQ(total_params(c).total(), expected);
  EXPECT_EQ(total_params(c).total(), 4'594'374'656ull);
}

TEST(Deepseek2Config, SoftmaxScaleTable) {
  EXPECT_NEAR(geometry("v3").attn_scale(), 0.1352338, 5e-7);
  EXPECT_NEAR(geometry("v2").attn_scale(), 0.1352338, 5e-7);
  EXPECT_NEAR(geometry("v2-lite").attn_scale(), 0.1147214, 5e-7);
  EXPECT_NEAR(geometry("moonlight").attn_scale(), 0.0721688, 5e-7);
  EXPECT_NEAR(geometry("v3").mscale(), 1.368888, 5e-7);
}

TEST(Deepseek2Config, EveryGeometryValidates) {
  for (auto name : geometry_names()) {
    Deepseek2Config c = geometry(name);
    if (c.n_vocab == 0) c.n_vocab = 300;  // tiny geometries take V from their tokenizer
    EXPECT_NO_THROW(c.validate()) << name;
    EXPECT_FALSE(geometry_description(name).empty()) << name;
    EXPECT_EQ(c.name, name);
  }
}

TEST(Deepseek2Config, TinyVariantsCoverEveryRoutingAndQVariant) {
  bool softmax = false, sigmoid = false, sqrt_softplus = false, groups = false, no_q_lora = false,
       q_lora = false, no_yarn = false;
  for (auto name : geometry_names()) {
    if (!name.starts_with("tiny-")) continue;
    const Deepseek2Config c = geometry(name);
    softmax |= c.gating == GatingFunc::kSoftmax;
    sigmoid |= c.gating == GatingFunc::kSigmoid && c.router_bias;
    sqrt_softplus |= c.gating == GatingFunc::kSqrtSoftplus;
    groups |= c.n_group > 1;
    no_q_lora |= c.q_lora_rank == 0;
    q_lora |= c.q_lora_rank > 0;
    no_yarn |= !c.yarn;
  }
  EXPECT_TRUE(softmax && sigmoid && sqrt_softplus && groups && no_q_lora && q_lora && no_yarn);
}

TEST(Deepseek2Config, ValidateNamesTheProblem) {
  Deepseek2Config c = geometry("v3");
  c.n_expert_used = 300;
  EXPECT_THROW(
      {
        try {
          c.validate();
        } catch (const Error& e) {
          EXPECT_NE(std::string(e.what()).find("300 experts used"), std::string::npos) << e.what();
          throw;
        }
      },
      Error);
  c = geometry("v3");
  c.n_group = 7;
  EXPECT_THROW(c.validate(), Error);
  c = geometry("v3");
  c.n_dense = 62;
  EXPECT_THROW(c.validate(), Error);
  c = geometry("v3");
  c.rope_dim = 63;
  EXPECT_THROW(c.validate(), Error);
  EXPECT_THROW(geometry("v4"), Error);
}

}  // namespace
}  // namespace mixcl::arch
