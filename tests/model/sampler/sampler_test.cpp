// The sampler: each filter's kept set on hand-built logits, llama.cpp's filter order, greedy ties, the drawn
// distribution against exact probabilities (chi-square, fixed seed), reproducible seeds, degenerate inputs.
#include "model/sampler/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <set>
#include <vector>

#include "common/error.h"

namespace mixcl::sampler {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

std::vector<float> logits_of_probs(const std::vector<double>& p) {
  std::vector<float> l;
  for (double x : p) l.push_back(static_cast<float>(std::log(x)));
  return l;
}

std::set<int32_t> ids(const std::vector<Candidate>& c) {
  std::set<int32_t> s;
  for (const Candidate& x : c) s.insert(x.id);
  return s;
}

std::set<int32_t> kept(const std::vector<float>& logits, const SamplerParams& p) {
  return ids(Sampler(p).distribution(logits));
}

SamplerParams all_off(float temperature = 1.0f) {
  SamplerParams p;
  p.temperature = temperature, p.top_k = 0, p.top_p = 1.0f, p.min_p = 0.0f, p.repeat_penalty = 1.0f;
  return p;
}

TEST(Sampler, GreedyTakesTheLowestIdAmongTies) {
  const std::vector<float> logits = {1.0f, 3.0f, -2.0f, 3.0f, 2.5f};
  EXPECT_EQ(argmax(logits), 1);
  SamplerParams p;
  p.temperature = 0.0f;
  Sampler s(p);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(s.sample(logits), 1);
  const auto d = s.distribution(logits);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].id, 1);
  EXPECT_EQ(d[0].p, 1.0);
  p.temperature = -1.0f;  // negative also means greedy
  EXPECT_EQ(Sampler(p).sample(std::vector<float>{0.0f, 0.0f, 0.0f}), 0);
}

TEST(Sampler, TopKKeepsTheKLargestWithTiesToLowerIds) {
  const std::vector<float> logits = {0.5f, 2.0f, 2.0f, -1.0f, 1.0f};
  SamplerParams p = all_off();
  p.top_k = 2;
  EXPECT_EQ(kept(logits, p), (std::set<int32_t>{1, 2}));
  p.top_k = 3;
  EXPECT_EQ(kept(logits, p), (std::set<int32_t>{1, 2, 4}));
  p.top_k = 100;  // larger than the vocabulary: everything
  EXPECT_EQ(kept(logits, p).size(), 5u);
  p.top_k = 2;
  EXPECT_EQ(kept({1.0f, 1.0f, 1.0f, 1.0f}, p), (std::set<int32_t>{0, 1}));
  auto c = sorted_candidates(logits);
  apply_top_k(c, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].id, 1);
}

TEST(Sampler, TopPKeepsTheShortestPrefixReachingP) {
  // Probabilities 0.5, 0.25, 0.125, 0.125 in shuffled id order.
  const std::vector<float> logits = logits_of_probs({0.125, 0.5, 0.125, 0.25});
  SamplerParams p = all_off();
  p.top_p = 0.49f;
  EXPECT_EQ(kept(logits, p), (std::set<int32_t>{1}));
  p.top_p = 0.7f;
  EXPECT_EQ(kept(logits, p), (std::set<int32_t>{1, 3}));
  p.top_p = 0.76f;  // crosses into the tied 0.125s: the lower id goes first
  EXPECT_EQ(kept(logits, p), (std::set<int32_t>{0, 1, 3}));
  p.top_p = 0.99f;
  EXPECT_EQ(kept(logits, p).size(), 4u);
}

TEST(Sampler, MinPKeepsTokensAboveAFractionOfTheMaximum) {
  const std::vector<float> logits = logits_of_probs({0.125, 0.5, 0.125, 0.25});
  SamplerParams p = all_off();
  p.min_p = 0.3f;  // threshold 0.15
  EXPECT_EQ(kept(logits, p), (std::set<int32_t>{1, 3}));
  p.min_p = 0.2f;  // threshold 0.1
  EXPECT_EQ(kept(logits, p).size(), 4u);
  p.min_p = 0.6f;  // threshold 0.3
  EXPECT_EQ(kept(logits, p), (std::set<int32_t>{1}));
}

TEST(Sampler, FiltersRunInLlamaCppOrder) {
  // top-p sees the distribution renormalised over top-k's survivors: 0.4/0.3/0.3 -> top-2 0.571/0.429.
  const std::vector<float> logits = logits_of_probs({0.4, 0.3, 0.3});
  SamplerParams p = all_off();
  p.top_p = 0.55f;
  EXPECT_EQ(kept(logits, p), (std::set<int32_t>{0, 1}));  // alone: 0.4 < 0.55, so two tokens
  p.top_k = 2;
  EXPECT_EQ(kept(logits, p), (std::set<int32_t>{0}));  // after top-k: 0.571 >= 0.55
  // min-p and top-p use the untempered logits; temperature only reshapes the survivors.
  const std::vector<float> two = {0.0f, -2.0f};  // ratio e^-2 = 0.135; at temperature 4 it would be 0.61
  SamplerParams q = all_off(4.0f);
  q.min_p = 0.2f;
  EXPECT_EQ(kept(two, q), (std::set<int32_t>{0}));
  q.min_p = 0.0f;
  q.top_p = 0.85f;  // untempered mass of the first token is 0.881 >= 0.85 (tempered it would be 0.62)
  EXPECT_EQ(kept(two, q), (std::set<int32_t>{0}));
}

TEST(Sampler, TemperatureSetsTheFinalProbabilities) {
  const std::vector<float> logits = {1.0f, 0.0f, -1.0f};
  const auto d = Sampler(all_off(0.5f)).distribution(logits);
  ASSERT_EQ(d.size(), 3u);
  const double z = std::exp(2.0) + 1.0 + std::exp(-2.0);
  EXPECT_NEAR(d[0].p, std::exp(2.0) / z, 1e-12);
  EXPECT_NEAR(d[1].p, 1.0 / z, 1e-12);
  EXPECT_NEAR(d[2].p, std::exp(-2.0) / z, 1e-12);
}

// Exact probabilities of the sampler's distribution, written from the definitions with indices (no Candidate).
std::vector<double> expected_probs(const std::vector<float>& logits, const SamplerParams& p) {
  const size_t n = logits.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return logits[a] > logits[b]; });
  size_t keep = p.top_k > 0 ? std::min<size_t>(n, static_cast<size_t>(p.top_k)) : n;
  const double lmax = logits[order[0]];
  double z = 0;
  for (size_t i = 0; i < keep; ++i) z += std::exp(logits[order[i]] - lmax);
  double cum = 0;
  for (size_t i = 0; i < keep; ++i) {
    cum += std::exp(logits[order[i]] - lmax) / z;
    if (cum >= p.top_p) {
      keep = i + 1;
      break;
    }
  }
  size_t m = 1;
  while (m < keep && std::exp(logits[order[m]] - lmax) >= p.min_p) ++m;
  keep = m;
  std::vector<double> probs(n, 0.0);
  double zt = 0;
  for (size_t i = 0; i < keep; ++i) zt += std::exp((logits[order[i]] - lmax) / p.temperature);
  for (size_t i = 0; i < keep; ++i) probs[order[i]] = std::exp((logits[order[i]] - lmax) / p.temperature) / zt;
  return probs;
}

// Pearson chi-square of observed counts against expected probabilities over tokens with p > 0; counts of
// tokens with p = 0 must be zero (returned as +inf otherwise). `df` receives the degrees of freedom.
double chi_square(const std::vector<int>& counts, const std::vector<double>& probs, int draws, int& df) {
  double chi = 0;
  df = -1;
  for (size_t i = 0; i < probs.size(); ++i) {
    if (probs[i] == 0.0) {
      if (counts[i] != 0) return std::numeric_limits<double>::infinity();
      continue;
    }
    const double e = probs[i] * draws;
    chi += (counts[i] - e) * (counts[i] - e) / e;
    ++df;
  }
  return chi;
}

// Upper 1e-4 quantiles of chi-square with df = 1..10 degrees of freedom.
double critical_1e4(int df) {
  static const double kTable[] = {15.137, 18.421, 21.108, 23.513, 25.745, 27.856, 29.878, 31.828, 33.720, 35.564};
  return kTable[df - 1];
}

TEST(Sampler, DrawsFollowTheExactDistribution) {
  const std::vector<float> logits = {0.3f, 2.1f, -0.4f, 1.7f, 1.9f, -3.0f, 0.9f, 1.2f, kNegInf, 0.0f, -1.1f};
  SamplerParams p;
  p.temperature = 0.7f, p.top_k = 8, p.top_p = 0.97f, p.min_p = 0.15f, p.seed = 12345;
  const std::vector<double> probs = expected_probs(logits, p);
  // The filters must really have cut something here, else the test would not tell them apart.
  const auto n_kept = std::count_if(probs.begin(), probs.end(), [](double x) { return x > 0; });
  ASSERT_GE(n_kept, 4);
  ASSERT_LT(n_kept, 7);  // top-k 8, top-p 7, min-p 6 survivors
  // The sampler's own distribution matches the independent computation.
  const auto d = Sampler(p).distribution(logits);
  ASSERT_EQ(static_cast<long>(d.size()), n_kept);
  for (const Candidate& c : d) EXPECT_NEAR(c.p, probs[static_cast<size_t>(c.id)], 1e-12) << c.id;

  Sampler s(p);
  constexpr int kDraws = 200000;
  std::vector<int> counts(logits.size(), 0);
  for (int i = 0; i < kDraws; ++i) ++counts[static_cast<size_t>(s.sample(logits))];
  int df = 0;
  const double chi = chi_square(counts, probs, kDraws, df);
  EXPECT_LT(chi, critical_1e4(df)) << "df " << df;
  // Power check: the same draws against the distribution at temperature 1 are rejected.
  SamplerParams wrong = p;
  wrong.temperature = 1.0f;
  int df2 = 0;
  const double chi_wrong = chi_square(counts, expected_probs(logits, wrong), kDraws, df2);  // sets df2 first
  EXPECT_GT(chi_wrong, 10 * critical_1e4(df2));
}

TEST(Sampler, SeedsAreReproducible) {
  const std::vector<float> logits = {0.1f, 0.2f, 0.3f, 0.0f, -0.1f, 0.25f};
  SamplerParams p = all_off();
  const auto draws = [&](uint64_t seed) {
    p.seed = seed;
    Sampler s(p);
    std::vector<int32_t> out;
    for (int i = 0; i < 64; ++i) out.push_back(s.sample(logits));
    return out;
  };
  EXPECT_EQ(draws(7), draws(7));
  EXPECT_NE(draws(7), draws(8));
}

TEST(Sampler, UniformRngUsesTheStandardMersenneTwisterSequence) {
  // The C++ standard fixes the 10000th output of a default-seeded (5489) mt19937_64: 9981545732273789042.
  UniformRng rng(5489);
  double v = 0;
  for (int i = 0; i < 10000; ++i) v = rng.next();
  EXPECT_EQ(v, static_cast<double>(9981545732273789042ull >> 11) * 0x1.0p-53);
  UniformRng r2(1);
  for (int i = 0; i < 1000; ++i) {
    const double x = r2.next();
    ASSERT_GE(x, 0.0);
    ASSERT_LT(x, 1.0);
  }
}

TEST(Sampler, RepetitionPenaltyDividesPositiveAndMultipliesNegativeLogits) {
  const std::vector<float> logits = {2.0f, 1.0f, -1.0f, 0.5f};
  SamplerParams p = all_off();
  p.repeat_penalty = 2.0f;
  p.repeat_last_n = 2;
  Sampler s(p);
  s.accept(3);  // pushed out of the 2-token window by the next two
  s.accept(0);
  s.accept(2);
  std::map<int32_t, float> got;
  for (const Candidate& c : s.distribution(logits)) got[c.id] = c.logit;
  EXPECT_EQ(got[0], 1.0f);
  EXPECT_EQ(got[1], 1.0f);
  EXPECT_EQ(got[2], -2.0f);
  EXPECT_EQ(got[3], 0.5f);
  p.temperature = 0.0f;
  Sampler g(p);
  g.accept(0);
  EXPECT_EQ(g.sample(logits), 0);  // 1.0 vs 1.0: the tie goes to the lower id
  g.accept(0);
  g.accept(1);
  EXPECT_EQ(g.sample(logits), 0);  // window {0, 1}: logits 1.0, 0.5, -1, 0.5
  g.reset_history();
  EXPECT_EQ(g.sample(logits), 0);
}

TEST(Sampler, DegenerateInputs) {
  std::vector<float> one(9, kNegInf);
  one[5] = -3.0f;
  Sampler s(all_off());
  for (int i = 0; i < 50; ++i) EXPECT_EQ(s.sample(one), 5);
  const auto msg = [](std::vector<float> l) {
    try {
      Sampler(all_off()).sample(l);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  std::vector<float> nan = {0.0f, 1.0f, std::nanf(""), 2.0f};
  EXPECT_NE(msg(nan).find("token 2 is NaN"), std::string::npos) << msg(nan);
  EXPECT_NE(msg({0.0f, std::numeric_limits<float>::infinity()}).find("+inf"), std::string::npos);
  EXPECT_NE(msg(std::vector<float>(4, kNegInf)).find("-inf"), std::string::npos);
  EXPECT_NE(msg({}).find("empty"), std::string::npos);
  SamplerParams g;
  g.temperature = 0;
  EXPECT_THROW(Sampler(g).sample(nan), Error);  // greedy checks too
}

TEST(Sampler, RejectsBadSettings) {
  SamplerParams p;
  p.top_p = 0.0f;
  EXPECT_THROW(Sampler{p}, Error);
  p = {};
  p.min_p = 1.0f;
  EXPECT_THROW(Sampler{p}, Error);
  p = {};
  p.repeat_penalty = 0.0f;
  EXPECT_THROW(Sampler{p}, Error);
  p = {};
  p.temperature = std::nanf("");
  EXPECT_THROW(Sampler{p}, Error);
  p = {};
  p.repeat_last_n = -2;
  EXPECT_THROW(Sampler{p}, Error);
}

}  // namespace
}  // namespace mixcl::sampler
