#include "tests/model_forward/engine_expect.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace mixcl::test {
namespace {

std::string describe(const RouteDiff& d) {
  return fmt::format("MoE layer {} position {}: reference chose [{}], engine [{}] instead; reference score gap {:.3g}",
                     d.moe_layer, d.pos, fmt::join(d.ref_only, ","), fmt::join(d.engine_only, ","), d.margin);
}

}  // namespace

MixBound mix_bound(const std::string& mix, Arithmetic arithmetic) {
  // About 1.5-2x the largest error measured over every variant and call pattern (docs/model_check.md has the
  // measured values). Near-ties: largest measured reference score gap 5.4e-3 on the host.
  static const std::map<std::string, MixBound> host = {
      {"f32", {1e-3, 0.0}},
      {"q8_0", {0.04, 0.01}},           // measured 2.46e-2
      {"default", {0.06, 0.01}},        // measured 3.51e-2
      {"experts-q2_k", {0.03, 0.01}},   // measured 1.77e-2
      {"experts-q3_k", {0.045, 0.01}},  // measured 2.68e-2
      {"experts-mxfp4", {0.03, 0.01}},  // measured 1.81e-2
      {"experts-q5_k", {0.035, 0.01}},  // measured 2.05e-2
      {"experts-q6_k", {0.035, 0.01}},  // measured 2.04e-2
  };
  // OpenCL keeps activations in f32: errors ~60x smaller, no near-tie seen (epsilon set 5x the logit noise).
  static const std::map<std::string, MixBound> opencl = {
      {"f32", {1e-3, 0.0}},
      {"default", {4e-4, 1e-3}},        // measured 2.13e-4
      {"experts-mxfp4", {6e-4, 1e-3}},  // measured 3.43e-4
  };
  const auto& table = arithmetic == Arithmetic::kHost ? host : opencl;
  const auto it = table.find(mix);
  if (it == table.end())
    throw std::invalid_argument("no measured bound for storage mix " + mix +
                                (arithmetic == Arithmetic::kHost ? " on the host" : " on OpenCL"));
  return it->second;
}

Measured expect_matches_reference(const LoadedModel& m, const EngineRun& run, double logit_bound, double tie_eps,
                                  const std::string& label) {
  Measured out;
  const size_t vocab = m.written.n_vocab;
  EXPECT_EQ(run.logits.size(), m.tokens.size() * vocab) << label;
  RouteCheck rc = compare_routes(m.ref_out, m.ref.hp, run.routes);
  if (!rc.error.empty()) {
    ADD_FAILURE() << label << ": " << rc.error;
    return out;
  }
  const reference::RefOutput* ref = &m.ref_out;
  reference::RefOutput followed;
  if (!rc.diffs.empty() && tie_eps > 0) {
    reference::RefModel model = m.ref.model();
    model.forced_experts = [&run](int64_t layer, int64_t pos) {
      const auto& ids = run.routes[static_cast<size_t>(layer)][static_cast<size_t>(pos)];
      return std::vector<int>(ids.begin(), ids.end());
    };
    followed = reference::reference_forward(model, m.tokens);
    ref = &followed;
    rc = compare_routes(followed, m.ref.hp, run.routes);
    EXPECT_TRUE(rc.error.empty()) << label << ": " << rc.error;
  }
  out.route_diffs = rc.diffs.size();
  out.tie_margin = rc.max_margin;
  if (tie_eps == 0) {
    EXPECT_TRUE(rc.diffs.empty()) << label << ": " << rc.diffs.size() << " routing differences, first: "
                                  << (rc.diffs.empty() ? "" : describe(rc.diffs.front()));
  }
  size_t reported = 0;
  for (const RouteDiff& d : rc.diffs)
    if (d.margin > tie_eps && reported++ < 3)
      ADD_FAILURE() << label << ": " << describe(d) << " is not a near-tie (<= " << tie_eps << ")";
  const LogitCheck lc = compare_logits(*ref, run.logits, vocab, m.tokens.size());
  EXPECT_TRUE(lc.error.empty()) << label << ": " << lc.error;
  out.max_rel = lc.max_rel;
  EXPECT_LE(lc.max_rel, logit_bound) << label << ": worst position " << lc.worst_pos << ", max abs error "
                                     << lc.max_abs << (ref == &followed ? " (reference following the engine's experts)" : "");
  std::printf("[measure] %-44s max_rel %.3e  route_diffs %zu/%zu  max_tie_margin %.3e\n", label.c_str(), out.max_rel,
              out.route_diffs, rc.compared, out.tie_margin);
  return out;
}

}  // namespace mixcl::test
