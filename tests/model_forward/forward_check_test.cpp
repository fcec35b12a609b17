// The comparison tools can fail: forcing the reference's experts, route margins computed by hand, malformed
// routes and perturbed logits are all caught.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "tests/model_forward/forward_check.h"
#include "tests/model_forward/test_models.h"

namespace mixcl::test {
namespace {

Routes as_routes(const reference::RefOutput& r) {
  Routes out;
  for (const auto& layer : r.experts) {
    out.emplace_back();
    for (const auto& ids : layer) out.back().emplace_back(ids.begin(), ids.end());
  }
  return out;
}

TEST(ForcedReference, FollowingItsOwnChoiceChangesNothing) {
  const LoadedModel& m = loaded(model_case("tiny-v3", "f32"));
  reference::RefModel model = m.ref.model();
  model.forced_experts = [&](int64_t l, int64_t p) { return m.ref_out.experts[l][p]; };
  const auto out = reference::reference_forward(model, m.tokens);
  // Forced ids come sorted by id, the reference's own by score: only the order of a double sum changes.
  for (size_t p = 0; p < kTestTokens; ++p)
    for (size_t v = 0; v < out.logits[p].size(); ++v) ASSERT_NEAR(out.logits[p][v], m.ref_out.logits[p][v], 1e-12);
  EXPECT_EQ(out.experts, m.ref_out.experts);
}

TEST(ForcedReference, AnotherChoiceChangesThatPositionOnwardOnly) {
  const LoadedModel& m = loaded(model_case("tiny-v2-lite", "f32"));
  const size_t at = 5;
  const auto& own = m.ref_out.experts[0][at];
  std::vector<int> other;
  for (int e = 0; other.size() < own.size(); ++e)
    if (std::find(own.begin(), own.end(), e) == own.end()) other.push_back(e);
  reference::RefModel model = m.ref.model();
  model.forced_experts = [&](int64_t l, int64_t p) {
    return l == 0 && p == static_cast<int64_t>(at) ? other : std::vector<int>{};
  };
  const auto out = reference::reference_forward(model, m.tokens);
  for (size_t p = 0; p < at; ++p) EXPECT_EQ(out.logits[p], m.ref_out.logits[p]) << p;
  EXPECT_NE(out.logits[at], m.ref_out.logits[at]);
  EXPECT_NE(out.logits[at + 1], m.ref_out.logits[at + 1]);  // through the KV cache of later layers
  EXPECT_EQ(out.experts[0][at], own) << "the output records the reference's own choice";
}

TEST(CompareRoutes, IdenticalRoutesHaveNoDifference) {
  const LoadedModel& m = loaded(model_case("tiny-v3", "f32"));
  const RouteCheck rc = compare_routes(m.ref_out, m.ref.hp, as_routes(m.ref_out));
  EXPECT_TRUE(rc.error.empty()) << rc.error;
  EXPECT_TRUE(rc.diffs.empty());
  EXPECT_EQ(rc.compared, m.ref_out.experts.size() * kTestTokens);
}

TEST(CompareRoutes, MarginIsTheScoreGapOfTheSwap) {
  const LoadedModel& m = loaded(model_case("tiny-v2-lite", "f32"));  // no groups
  Routes r = as_routes(m.ref_out);
  const size_t layer = 1, pos = 3;
  const auto& sel = m.ref_out.sel[layer][pos];
  const auto& chosen = m.ref_out.experts[layer][pos];
  // Swap the weakest chosen expert for the best one left out.
  int weakest = chosen[0], best_out = -1;
  for (int e : chosen)
    if (sel[e] < sel[weakest]) weakest = e;
  for (int e = 0; e < static_cast<int>(sel.size()); ++e)
    if (std::find(chosen.begin(), chosen.end(), e) == chosen.end() && (best_out < 0 || sel[e] > sel[best_out]))
      best_out = e;
  std::vector<int32_t> swapped;
  for (int e : chosen) swapped.push_back(e == weakest ? best_out : e);
  std::sort(swapped.begin(), swapped.end());
  r[layer][pos] = swapped;
  const RouteCheck rc = compare_routes(m.ref_out, m.ref.hp, r);
  ASSERT_EQ(rc.diffs.size(), 1u);
  EXPECT_EQ(rc.diffs[0].moe_layer, layer);
  EXPECT_EQ(rc.diffs[0].pos, pos);
  EXPECT_EQ(rc.diffs[0].ref_only, std::vector<int>{weakest});
  EXPECT_EQ(rc.diffs[0].engine_only, std::vector<int>{best_out});
  EXPECT_DOUBLE_EQ(rc.diffs[0].margin, sel[weakest] - sel[best_out]);
  EXPECT_GT(rc.diffs[0].margin, 0.0);
}

TEST(CompareRoutes, ExpertFromADroppedGroupIsJudgedByGroupScores) {
  const LoadedModel& m = loaded(model_case("tiny-v3", "f32"));  // 4 groups of 2, 2 kept
  const auto& hp = m.ref.hp;
  const size_t pos = 2;
  const auto& sel = m.ref_out.sel[0][pos];
  const auto& chosen = m.ref_out.experts[0][pos];
  const int per = static_cast<int>(hp.n_expert / hp.n_group);
  std::vector<double> g(hp.n_group);
  for (int i = 0; i < hp.n_group; ++i) g[i] = sel[i * per] + sel[i * per + 1];
  std::vector<int> order = {0, 1, 2, 3};
  std::sort(order.begin(), order.end(), [&](int a, int b) { return g[a] > g[b]; });
  const int dropped = order[2];  // the best group left out
  for (int e : chosen) ASSERT_NE(e / per, dropped);
  Routes r = as_routes(m.ref_out);
  std::vector<int32_t> ids(chosen.begin(), chosen.end());
  ids[0] = dropped * per;  // replace one expert with one from the dropped group
  std::sort(ids.begin(), ids.end());
  r[0][pos] = ids;
  const RouteCheck rc = compare_routes(m.ref_out, hp, r);
  ASSERT_EQ(rc.diffs.size(), 1u);
  EXPECT_NEAR(rc.diffs[0].margin, g[order[1]] - g[dropped], 1e-12);
}

TEST(CompareRoutes, MalformedRoutesAreErrors) {
  const LoadedModel& m = loaded(model_case("tiny-v3", "f32"));
  Routes r = as_routes(m.ref_out);
  r.pop_back();
  EXPECT_FALSE(compare_routes(m.ref_out, m.ref.hp, r).error.empty());
  r = as_routes(m.ref_out);
  std::reverse(r[0][1].begin(), r[0][1].end());
  EXPECT_FALSE(compare_routes(m.ref_out, m.ref.hp, r).error.empty());
  r = as_routes(m.ref_out);
  r[1][4].pop_back();
  EXPECT_FALSE(compare_routes(m.ref_out, m.ref.hp, r).error.empty());
  r = as_routes(m.ref_out);
  r[0][0].back() = static_cast<int32_t>(m.ref.hp.n_expert);
  EXPECT_FALSE(compare_routes(m.ref_out, m.ref.hp, r).error.empty());
}

TEST(CompareLogits, FindsThePerturbedPosition) {
  const LoadedModel& m = loaded(model_case("tiny-moonlight", "f32"));
  const size_t vocab = m.written.n_vocab;
  std::vector<float> flat;
  for (const auto& row : m.ref_out.logits) flat.insert(flat.end(), row.begin(), row.end());
  LogitCheck lc = compare_logits(m.ref_out, flat, vocab, kTestTokens);
  ASSERT_TRUE(lc.error.empty());
  EXPECT_LT(lc.max_rel, 1e-6);  // only float rounding
  const auto& row = m.ref_out.logits[7];
  const auto [mn, mx] = std::minmax_element(row.begin(), row.end());
  flat[7 * vocab + 3] += static_cast<float>(0.01 * (*mx - *mn));
  lc = compare_logits(m.ref_out, flat, vocab, kTestTokens);
  EXPECT_NEAR(lc.max_rel, 0.01, 1e-5);
  EXPECT_EQ(lc.worst_pos, 7u);
  flat[2 * vocab] = std::nanf("");
  EXPECT_FALSE(compare_logits(m.ref_out, flat, vocab, kTestTokens).error.empty());
  flat.pop_back();
  EXPECT_FALSE(compare_logits(m.ref_out, flat, vocab, kTestTokens).error.empty());
  EXPECT_TRUE(std::isinf(max_rel_difference(flat, std::vector<float>(flat.size() + 1), vocab)));
}

}  // namespace
}  // namespace mixcl::test
