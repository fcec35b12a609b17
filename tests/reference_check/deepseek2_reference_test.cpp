// Checks the double-precision reference forward against facts of the spec and against itself: the two MLA
// layouts of the same weights agree, routing follows hand-built scores, RoPE/YaRN match the spec's table.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <set>

#include "tests/reference/deepseek2_reference.h"

namespace mixcl::reference {
namespace {

RefHparams tiny_hparams() {
  RefHparams hp;
  hp.n_embd = 16, hp.n_layer = 2, hp.n_dense = 1, hp.n_head = 2;
  hp.q_lora_rank = 8, hp.kv_lora_rank = 8, hp.rope_dims = 4, hp.nope_dims = 6, hp.v_dims = 5;
  hp.ffn = 12, hp.ffn_expert = 6, hp.n_expert = 8, hp.n_expert_used = 2, hp.n_shared = 1;
  hp.vocab = 11;
  hp.yarn = true, hp.yarn_factor = 4, hp.yarn_orig_ctx = 64, hp.yarn_log_multiplier = 0.1;
  hp.gating = 2, hp.expert_weights_norm = true, hp.expert_weights_scale = 2.5;
  hp.n_group = 4, hp.n_group_used = 2;
  return hp;
}

struct TinyModel {
  std::map<std::string, RefTensor> tensors;
  RefModel model() const {
    RefModel m;
    m.hp = hp;
    m.tensor = [this](const std::string& n) -> const RefTensor* {
      auto it = tensors.find(n);
      return it == tensors.end() ? nullptr : &it->second;
    };
    return m;
  }
  RefHparams hp;
};

// Random weights for a tiny model; kv_b (legacy layout) is also re-laid out as attn_k_b / attn_v_b.
TinyModel random_model(bool split_layout, uint32_t seed) {
  TinyModel t;
  t.hp = tiny_hparams();
  const auto& hp = t.hp;
  std::mt19937 rng(seed);
  std::normal_distribution<double> nd(0.0, 1.0);
  auto add = [&](const std::string& name, std::vector<uint64_t> dims, double stdev, double mean = 0.0) {
    uint64_t n = 1;
    for (auto d : dims) n *= d;
    RefTensor r{dims, std::vector<double>(n)};
    for (auto& v : r.data) v = mean + stdev * nd(rng);
    t.tensors[name] = std::move(r);
  };
  const uint64_t E = hp.n_embd, H = hp.n_head, dn = hp.nope_dims, dr = hp.rope_dims, dv = hp.v_dims;
  const uint64_t lkv = hp.kv_lora_rank, lq = hp.q_lora_rank;
  add("token_embd.weight", {E, (uint64_t)hp.vocab}, 1.0);
  add("output_norm.weight", {E}, 0.1, 1.0);
  add("output.weight", {E, (uint64_t)hp.vocab}, 0.3);
  for (int l = 0; l < hp.n_layer; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    add(b + "attn_norm.weight", {E}, 0.1, 1.0);
    add(b + "ffn_norm.weight", {E}, 0.1, 1.0);
    add(b + "attn_q_a.weight", {E, lq}, 0.25);
    add(b + "attn_q_a_norm.weight", {lq}, 0.1, 1.0);
    add(b + "attn_q_b.weight", {lq, H * (dn + dr)}, 0.35);
    add(b + "attn_kv_a_mqa.weight", {E, lkv + dr}, 0.25);
    add(b + "attn_kv_a_norm.weight", {lkv}, 0.1, 1.0);
    add(b + "attn_kv_b.weight", {lkv, H * (dn + dv)}, 0.35);
    add(b + "attn_output.weight", {H * dv, E}, 0.3);
    if (split_layout) {
      const RefTensor kvb = t.tensors[b + "attn_kv_b.weight"];
      t.tensors.erase(b + "attn_kv_b.weight");
      RefTensor kb{{dn, lkv, H}, std::vector<double>(dn * lkv * H)};
      RefTensor vb{{lkv, dv, H}, std::vector<double>(lkv * dv * H)};
      for (uint64_t i = 0; i < H; ++i)
        for (uint64_t c = 0; c < lkv; ++c) {
          for (uint64_t d = 0; d < dn; ++d) kb.data[(i * lkv + c) * dn + d] = kvb.data[(i * (dn + dv) + d) * lkv + c];
          for (uint64_t v = 0; v < dv; ++v)
            vb.data[(i * dv + v) * lkv + c] = kvb.data[(i * (dn + dv) + dn + v) * lkv + c];
        }
      t.tensors[b + "attn_k_b.weight"] = kb;
      t.tensors[b + "attn_v_b.weight"] = vb;
    }
    if (l < hp.n_dense) {
      add(b + "ffn_gate.weight", {E, (uint64_t)hp.ffn}, 0.25);
      add(b + "ffn_up.weight", {E, (uint64_t)hp.ffn}, 0.25);
      add(b + "ffn_down.weight", {(uint64_t)hp.ffn, E}, 0.3);
    } else {
      const uint64_t X = hp.n_expert, Fe = hp.ffn_expert;
      add(b + "ffn_gate_inp.weight", {E, X}, 0.5);
      add(b + "exp_probs_b.bias", {X}, 0.05);
      add(b + "ffn_gate_exps.weight", {E, Fe, X}, 0.25);
      add(b + "ffn_up_exps.weight", {E, Fe, X}, 0.25);
      add(b + "ffn_down_exps.weight", {Fe, E, X}, 0.3);
      add(b + "ffn_gate_shexp.weight", {E, Fe}, 0.25);
      add(b + "ffn_up_shexp.weight", {E, Fe}, 0.25);
      add(b + "ffn_down_shexp.weight", {Fe, E}, 0.3);
    }
  }
  return t;
}

TEST(ReferenceForward, RopeYarnMatchesSpecTableForV3) {
  RefHparams hp;
  hp.rope_dims = 64, hp.rope_base = 10000, hp.yarn = true, hp.yarn_factor = 40, hp.yarn_orig_ctx = 4096;
  const auto inv = reference_rope_inv_freq(hp);
  ASSERT_EQ(inv.size(), 32u);
  for (int i = 0; i <= 10; ++i) EXPECT_DOUBLE_EQ(inv[i], std::pow(10000.0, -2.0 * i / 64)) << i;
  for (int i = 23; i < 32; ++i) EXPECT_NEAR(inv[i], std::pow(10000.0, -2.0 * i / 64) / 40, 1e-18) << i;
  const double mid = std::pow(10000.0, -2.0 * 16 / 64);
  EXPECT_LT(inv[16], mid);
  EXPECT_GT(inv[16], mid / 40);
}

TEST(ReferenceForward, AttentionScaleMatchesSpecTable) {
  RefHparams hp;
  hp.nope_dims = 128, hp.rope_dims = 64;
  EXPECT_NEAR(reference_attention_scale(hp), 0.0721688, 1e-7);
  hp.yarn = true, hp.yarn_factor = 40, hp.yarn_log_multiplier = 0.1;
  EXPECT_NEAR(reference_attention_scale(hp), 0.1352338, 1e-7);
  hp.yarn_log_multiplier = 0.0707;
  EXPECT_NEAR(reference_attention_scale(hp), 0.1147214, 1e-6);
}

TEST(ReferenceForward, LegacyAndSplitMlaLayoutsAgree) {
  const TinyModel legacy = random_model(false, 7), split = random_model(true, 7);
  const std::vector<int32_t> tokens = {3, 1, 4, 1, 5, 9, 2, 6};
  const auto a = reference_forward(legacy.model(), tokens);
  const auto b = reference_forward(split.model(), tokens);
  ASSERT_EQ(a.logits.size(), tokens.size());
  for (size_t p = 0; p < tokens.size(); ++p)
    for (size_t v = 0; v < a.logits[p].size(); ++v) ASSERT_NEAR(a.logits[p][v], b.logits[p][v], 1e-12);
  EXPECT_EQ(a.experts, b.experts);
}

TEST(ReferenceForward, CausalPrefixesGiveIdenticalLogits) {
  const TinyModel t = random_model(true, 11);
  const std::vector<int32_t> tokens = {10, 0, 7, 7, 3, 2};
  const auto full = reference_forward(t.model(), tokens);
  const auto prefix = reference_forward(t.model(), std::span(tokens).first(3));
  for (size_t p = 0; p < 3; ++p) EXPECT_EQ(full.logits[p], prefix.logits[p]);
  // A later token changes later positions: the check above is not vacuous.
  EXPECT_NE(full.logits[3], full.logits[2]);
}

TEST(ReferenceForward, GroupLimitedRoutingPicksFromKeptGroupsOnly) {
  const TinyModel t = random_model(true, 5);
  const auto out = reference_forward(t.model(), std::vector<int32_t>{1, 2, 3, 4, 5});
  const auto& hp = t.hp;
  const int per = static_cast<int>(hp.n_expert / hp.n_group);
  for (size_t p = 0; p < 5; ++p) {
    const auto& sel = out.sel[0][p];
    const auto& chosen = out.experts[0][p];
    ASSERT_EQ(chosen.size(), static_cast<size_t>(hp.n_expert_used));
    // Recompute group scores (top-2 sum) and the kept groups by hand.
    std::vector<std::pair<double, int>> g;
    for (int gi = 0; gi < hp.n_group; ++gi) {
      std::vector<double> part(sel.begin() + gi * per, sel.begin() + (gi + 1) * per);
      std::sort(part.rbegin(), part.rend());
      g.push_back({part[0] + part[1], gi});
    }
    std::sort(g.begin(), g.end(), [](auto& a, auto& b) { return a.first > b.first; });
    std::set<int> kept = {g[0].second, g[1].second};
    for (int e : chosen) EXPECT_TRUE(kept.count(e / per)) << "expert " << e << " outside the kept groups";
    // And they are the best experts among the kept groups.
    std::vector<std::pair<double, int>> cand;
    for (int e = 0; e < hp.n_expert; ++e)
      if (kept.count(e / per)) cand.push_back({sel[e], e});
    std::sort(cand.rbegin(), cand.rend());
    std::vector<int> best = {cand[0].second, cand[1].second};
    std::sort(best.begin(), best.end());
    EXPECT_EQ(chosen, best);
  }
}

TEST(ReferenceForward, TiedOutputUsesTokenEmbedding) {
  TinyModel t = random_model(true, 3);
  t.tensors["output.weight"] = t.tensors["token_embd.weight"];
  const auto with_copy = reference_forward(t.model(), std::vector<int32_t>{4, 8});
  t.tensors.erase("output.weight");
  const auto tied = reference_forward(t.model(), std::vector<int32_t>{4, 8});
  EXPECT_EQ(with_copy.logits, tied.logits);
}

}  // namespace
}  // namespace mixcl::reference
