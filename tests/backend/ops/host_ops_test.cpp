// The op table (op_harness.h) run on the host device, plus spec checks and error messages.
#include "backend/host/host_ops.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>

#include "tests/backend/ops/op_harness.h"
#include "tests/support/errors.h"

namespace mixcl::backend::ops_test {
namespace {

using ::mixcl::test::error_of;

/// The host implementation as an OpTarget.
class HostTarget final : public OpTarget {
 public:
  explicit HostTarget(HostOptions o = {}) : dev_(o) {}
  Device& device() override { return dev_; }
  HostDevice& host() { return dev_; }
  void get_rows(const WeightView& t, View ids, View out, uint64_t n) override {
    host_get_rows(dev_, t, ids, out, n);
  }
  void rope(View x, View pos, uint64_t nt, uint64_t nh, uint64_t hs, uint64_t off,
            const RopeParams& p) override {
    host_rope(dev_, x, pos, nt, nh, hs, off, p);
  }
  void softmax(View x, uint64_t rows, uint64_t n, float scale) override {
    host_softmax(dev_, x, rows, n, scale);
  }
  void swiglu(View g, View u, View o, uint64_t n, float clamp) override {
    host_swiglu(dev_, g, u, o, n, clamp);
  }
  void router(View l, View b, View ids, View w, uint64_t m, const RouterParams& p) override {
    host_router(dev_, l, b, ids, w, m, p);
  }
  void moe_ffn(const ExpertWeights& w, View x, View ids, View wt, View out, uint64_t m, uint64_t k,
               float clamp) override {
    host_moe_ffn(dev_, w, x, ids, wt, out, m, k, clamp);
  }
  void mla_attention(View q, View kv, DType t, View out, uint64_t m, uint64_t pos0, uint64_t h, uint64_t lkv,
                     uint64_t dr, float scale) override {
    host_mla_attention(dev_, q, kv, t, out, m, pos0, h, lkv, dr, scale);
  }
  void convert(View s, View d, DType t, uint64_t n) override { host_convert(dev_, s, d, t, n); }

 private:
  HostDevice dev_;
};

// Each table runs on the default thread count and on the portable (non-AVX2) kernels with one thread.
class HostOps : public ::testing::TestWithParam<const char*> {
 protected:
  HostTarget target_{GetParam() == std::string("generic")
                         ? HostOptions{.threads = 1, .budget_bytes = 0, .isa = "generic"}
                         : HostOptions{}};
};

TEST_P(HostOps, GetRows) {
  uint32_t seed = 1;
  for (const auto& c : get_rows_cases()) check_get_rows(target_, c, seed++);
}
TEST_P(HostOps, Rope) {
  uint32_t seed = 100;
  for (const auto& c : rope_cases()) check_rope(target_, c, seed++);
}
TEST_P(HostOps, Softmax) {
  uint32_t seed = 200;
  for (const auto& c : softmax_cases()) check_softmax(target_, c, seed++);
}
TEST_P(HostOps, Swiglu) {
  uint32_t seed = 300;
  for (const auto& c : swiglu_cases()) check_swiglu(target_, c, seed++);
}
TEST_P(HostOps, Convert) {
  uint32_t seed = 400;
  for (const auto& c : convert_cases()) check_convert(target_, c, seed++);
}
TEST_P(HostOps, Router) {
  uint32_t seed = 500;
  for (const auto& c : router_cases()) check_router(target_, c, seed++);
}
TEST_P(HostOps, MlaAttention) {
  uint32_t seed = 600;
  for (const auto& c : attn_cases()) check_attention(target_, c, seed++);
}
TEST_P(HostOps, MoeFfn) {
  uint32_t seed = 700;
  for (const auto& c : moe_cases()) check_moe(target_, c, seed++);
}
INSTANTIATE_TEST_SUITE_P(Isa, HostOps, ::testing::Values("default", "generic"));

// deepseek2.md §5.5: for V3 (d 64, base 10000, L0 4096, β 32/1) pairs 0..10 keep their frequency, pairs
// 23..31 are divided by 40 and pairs 11..22 are blended.
TEST(HostOpsSpec, RopeYarnTableForV3) {
  const auto inv = rope_inv_freqs(yarn_v3());
  ASSERT_EQ(inv.size(), 32u);
  for (int i = 0; i < 32; ++i) {
    const double plain = std::pow(10000.0, -2.0 * i / 64.0);
    if (i <= 10) {
      EXPECT_NEAR(inv[i] / plain, 1.0, 1e-14) << "pair " << i;
    } else if (i >= 23) {
      EXPECT_NEAR(inv[i] / plain, 1.0 / 40.0, 1e-14) << "pair " << i;
    } else {
      const double t = (i - 10) / 13.0;  // lo 10, hi 23
      EXPECT_NEAR(inv[i] / plain, (1 - t) + t / 40.0, 1e-14) << "pair " << i;
      EXPECT_LT(inv[i] / plain, 1.0);
      EXPECT_GT(inv[i] / plain, 1.0 / 40.0);
    }
  }
}

// Adjacent pairs rotate (2i, 2i+1), NEOX pairs (i, i+d/2): a hand-checked quarter turn of pair 0.
TEST(HostOpsSpec, RopePairingByHand) {
  HostTarget t;
  Device& d = t.device();
  for (bool neox : {false, true}) {
    std::vector<float> x = {1, 2, 3, 4};  // one head, n_dims 4; pair 0 has inv freq 1
    std::vector<int32_t> pos = {1};       // pair 0 turns by 1 rad, pair 1 by 10000^(-1/2) = 0.01 rad
    RopeParams p{4, neox, 10000.0f, 1.0f, 0, 32.0f, 1.0f};
    auto bx = put(d, x), bp = put(d, pos);
    t.rope(at(bx), at(bp), 1, 1, 4, 0, p);
    const auto y = get<float>(d, bx, 4);
    const double c0 = std::cos(1.0), s0 = std::sin(1.0), c1 = std::cos(0.01), s1 = std::sin(0.01);
    if (!neox) {
      EXPECT_NEAR(y[0], 1 * c0 - 2 * s0, 1e-6);
      EXPECT_NEAR(y[1], 1 * s0 + 2 * c0, 1e-6);
      EXPECT_NEAR(y[2], 3 * c1 - 4 * s1, 1e-6);
      EXPECT_NEAR(y[3], 3 * s1 + 4 * c1, 1e-6);
    } else {
      EXPECT_NEAR(y[0], 1 * c0 - 3 * s0, 1e-6);
      EXPECT_NEAR(y[2], 1 * s0 + 3 * c0, 1e-6);
      EXPECT_NEAR(y[1], 2 * c1 - 4 * s1, 1e-6);
      EXPECT_NEAR(y[3], 2 * s1 + 4 * c1, 1e-6);
    }
  }
}

// The absorbed form run by the op, with ql = Kbᵀ q_nope and o = Vb ol done in f64 around it, must agree with
// the naive decompressed MHA of deepseek2.md §5.2.
TEST(HostOpsSpec, AbsorbedAttentionMatchesNaiveMha) {
  HostTarget t;
  Device& d = t.device();
  struct Dims {
    uint64_t H, Lkv, dn, dv, dr, pos0, m;
  };
  for (const Dims g : {Dims{3, 40, 16, 24, 8, 14, 3}, Dims{2, 512, 128, 128, 64, 40, 2}}) {
    SCOPED_TRACE(fmt::format("H={} Lkv={} dn={} dv={} dr={}", g.H, g.Lkv, g.dn, g.dv, g.dr));
    std::mt19937 rng(42);
    auto rnd = [&](uint64_t n, float s) {
      const auto f = normal_floats(n, rng, s);
      return std::vector<double>(f.begin(), f.end());
    };
    const uint64_t T = g.pos0 + g.m, D = g.Lkv + g.dr;
    const auto Kb = rnd(g.H * g.Lkv * g.dn, 0.1f), Vb = rnd(g.H * g.dv * g.Lkv, 0.1f);
    const auto c = rnd(T * g.Lkv, 1.0f), k_pe = rnd(T * g.dr, 1.0f);
    const auto q_nope = rnd(g.m * g.H * g.dn, 1.0f), q_pe = rnd(g.m * g.H * g.dr, 1.0f);
    const double scale = 1.0 / std::sqrt(double(g.dn + g.dr));
    std::vector<float> q(g.m * g.H * D), kv(T * D);
    for (uint64_t s = 0; s < T; ++s) {
      for (uint64_t i = 0; i < g.Lkv; ++i) kv[s * D + i] = float(c[s * g.Lkv + i]);
      for (uint64_t i = 0; i < g.dr; ++i) kv[s * D + g.Lkv + i] = float(k_pe[s * g.dr + i]);
    }
    for (uint64_t tok = 0; tok < g.m; ++tok)
      for (uint64_t h = 0; h < g.H; ++h) {
        float* qh = q.data() + (tok * g.H + h) * D;
        for (uint64_t cc = 0; cc < g.Lkv; ++cc) {
          double acc = 0;
          for (uint64_t dd = 0; dd < g.dn; ++dd)
            acc += Kb[(h * g.Lkv + cc) * g.dn + dd] * q_nope[(tok * g.H + h) * g.dn + dd];
          qh[cc] = float(acc);
        }
        for (uint64_t i = 0; i < g.dr; ++i) qh[g.Lkv + i] = float(q_pe[(tok * g.H + h) * g.dr + i]);
      }
    // The naive form sees the f32-rounded cache and queries the op sees.
    std::vector<double> cr(T * g.Lkv), kr(T * g.dr);
    for (uint64_t s = 0; s < T; ++s) {
      for (uint64_t i = 0; i < g.Lkv; ++i) cr[s * g.Lkv + i] = kv[s * D + i];
      for (uint64_t i = 0; i < g.dr; ++i) kr[s * g.dr + i] = kv[s * D + g.Lkv + i];
    }
    auto bq = put(d, q), bkv = put(d, kv), bo = d.allocate(g.m * g.H * g.Lkv * 4);
    t.mla_attention(at(bq), at(bkv), DType::F32, at(bo), g.m, g.pos0, g.H, g.Lkv, g.dr, float(scale));
    const auto ol = get<float>(d, bo, g.m * g.H * g.Lkv);
    for (uint64_t tok = 0; tok < g.m; ++tok) {
      const uint64_t p = g.pos0 + tok;
      std::vector<double> qn(q_nope.begin() + tok * g.H * g.dn, q_nope.begin() + (tok + 1) * g.H * g.dn);
      std::vector<double> qp(g.H * g.dr);
      for (uint64_t i = 0; i < qp.size(); ++i) qp[i] = float(q_pe[tok * g.H * g.dr + i]);
      // q_nope enters the naive form exactly; the absorbed query was rounded to f32 once.
      const auto naive =
          reference::ref_mla_naive(Kb, Vb, qn, qp, cr, kr, p, g.H, g.Lkv, g.dn, g.dv, g.dr, scale);
      std::vector<float> o(g.H * g.dv);
      for (uint64_t h = 0; h < g.H; ++h)
        for (uint64_t v = 0; v < g.dv; ++v) {
          double acc = 0;
          for (uint64_t cc = 0; cc < g.Lkv; ++cc)
            acc += Vb[(h * g.dv + v) * g.Lkv + cc] * ol[(tok * g.H + h) * g.Lkv + cc];
          o[h * g.dv + v] = float(acc);
        }
      EXPECT_LE(reference::normalized_error(o.data(), naive.data(), o.size()), kAbsorbedVsNaiveBound)
          << "token " << tok;
    }
  }
}

// Results do not depend on the number of threads (the cache split and expert scheduling change with it).
TEST(HostOpsSpec, ThreadCountDoesNotChangeResults) {
  HostTarget one(HostOptions{.threads = 1, .budget_bytes = 0, .isa = ""});
  HostTarget two(HostOptions{.threads = 2, .budget_bytes = 0, .isa = ""});
  for (HostTarget* t : {&one, &two}) {
    SCOPED_TRACE(t == &one ? "1 thread" : "2 threads");
    check_attention(*t, {1, 1999, 16, 512, 64, DType::F16, 0.1352338f}, 7);
    check_moe(*t, {DType::Q4_K, DType::Q5_0, 256, 96, 64, 6, 33, 0.0f}, 8);
  }
}

// SwiGLU edge values: NaN propagates (also through the clamp), huge negative gates give -0, huge positive
// ones pass through, and exp's extremes do not overflow into NaN.
TEST(HostOpsSpec, SwigluEdgeValues) {
  HostTarget t;
  Device& d = t.device();
  const std::vector<float> g = {NAN, 1.0f, -200.0f, 200.0f, 88.0f, -88.0f, 0.0f, 30.0f};
  const std::vector<float> u = {1.0f, NAN, 2.0f, 2.0f, 1.0f, 1.0f, 5.0f, -30.0f};
  auto bg = put(d, g), bu = put(d, u), bo = d.allocate(g.size() * 4);
  for (float clamp : {0.0f, 10.0f}) {
    t.swiglu(at(bg), at(bu), at(bo), g.size(), clamp);
    const auto o = get<float>(d, bo, g.size());
    EXPECT_TRUE(std::isnan(o[0]) && std::isnan(o[1])) << "clamp " << clamp;
    for (size_t i = 2; i < g.size(); ++i)
      EXPECT_NEAR(o[i], reference::ref_swiglu(g[i], u[i], clamp), 1e-6 * (1 + std::abs(o[i])))
          << "element " << i << " clamp " << clamp;
  }
}

TEST(HostOpsErrors, MessagesNameTheProblem) {
  HostTarget t;
  Device& d = t.device();
  auto table = put(d, std::vector<float>(4 * 8, 1.0f));
  auto ids = put(d, std::vector<int32_t>{1, 9});
  auto out = d.allocate(2 * 8 * 4);
  std::string msg = error_of([&] { t.get_rows({at(table), DType::F32, 8, 4}, at(ids), at(out), 2); });
  EXPECT_NE(msg.find("id 9"), std::string::npos) << msg;
  EXPECT_NE(msg.find("4 rows"), std::string::npos) << msg;
  msg = error_of([&] { t.get_rows({at(table), DType::IQ2_XXS, 256, 1}, at(ids), at(out), 1); });
  EXPECT_NE(msg.find("IQ2_XXS"), std::string::npos) << msg;

  auto logits = put(d, std::vector<float>(16, 0.0f));
  auto rid = d.allocate(64), rw = d.allocate(64);
  msg = error_of([&] {
    t.router(at(logits), {}, at(rid), at(rw), 1, {Gating::kSigmoid, 16, 4, 3, 1, true, 1});
  });
  EXPECT_NE(msg.find("3 equal groups"), std::string::npos) << msg;
  msg = error_of([&] {
    t.router(at(logits), {}, at(rid), at(rw), 1, {Gating::kSigmoid, 16, 9, 4, 2, true, 1});
  });
  EXPECT_NE(msg.find("hold only 8"), std::string::npos) << msg;
  std::vector<float> nan_logits(16, 0.0f);
  nan_logits[5] = NAN;
  auto bn = put(d, nan_logits);
  msg = error_of([&] {
    t.router(at(bn), {}, at(rid), at(rw), 1, {Gating::kSoftmax, 16, 2, 1, 1, false, 1});
  });
  EXPECT_NE(msg.find("expert 5"), std::string::npos) << msg;

  auto q = d.allocate(1024), kv = d.allocate(64), ao = d.allocate(1024);
  msg = error_of([&] { t.mla_attention(at(q), at(kv), DType::BF16, at(ao), 1, 0, 1, 8, 0, 1.0f); });
  EXPECT_NE(msg.find("BF16"), std::string::npos) << msg;
  msg = error_of([&] { t.mla_attention(at(q), at(kv), DType::F32, at(ao), 1, 10, 1, 8, 0, 1.0f); });
  EXPECT_NE(msg.find("kv cache"), std::string::npos) << msg;

  msg = error_of([&] {
    RopeParams p{6, false, 10000.0f, 1.0f, 0, 32.0f, 1.0f};
    t.rope(at(q), at(ids), 1, 1, 8, 4, p);
  });
  EXPECT_NE(msg.find("do not fit"), std::string::npos) << msg;

  auto w = put(d, std::vector<float>(2 * 8 * 8, 0.1f));
  ExpertWeights ew{{at(w), DType::F32, 8, 8}, {at(w), DType::F32, 8, 8}, {at(w), DType::F32, 8, 8}, 2};
  auto x = put(d, std::vector<float>(8, 1.0f)), mo = d.allocate(32);
  auto mid = put(d, std::vector<int32_t>{0, 2}), mw = put(d, std::vector<float>{0.5f, 0.5f});
  msg = error_of([&] { t.moe_ffn(ew, at(x), at(mid), at(mw), at(mo), 1, 2, 0.0f); });
  EXPECT_NE(msg.find("expert id 2"), std::string::npos) << msg;
  msg = error_of([&] { t.convert(at(x), at(mo), DType::Q8_0, 8); });
  EXPECT_NE(msg.find("Q8_0"), std::string::npos) << msg;
}

TEST(HostOpsSpec, MatmulHeadsMatchesOneMatmulPerHead) {
  for (int threads : {1, 2, 3}) {
    HostDevice d(HostOptions{.threads = threads, .budget_bytes = 0, .isa = ""});
    for (const auto& c : matmul_heads_cases()) check_matmul_heads(d, c);
    check_matmul_heads_errors(d);
  }
}

TEST(HostOpsSpec, Copy2dGathersAndScatters) {
  HostDevice d;
  for (const auto& c : copy_2d_cases()) check_copy_2d(d, c);
  check_copy_2d_errors(d);
}

}  // namespace
}  // namespace mixcl::backend::ops_test
