#include "tests/model_forward/forward_check.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace mixcl::test {
namespace {

// Group scores as the reference forms them (sum of the two best selection scores of the group).
std::vector<double> group_scores(const std::vector<double>& sel, int64_t n_group) {
  const size_t per = sel.size() / static_cast<size_t>(n_group);
  std::vector<double> g;
  for (int64_t i = 0; i < n_group; ++i) {
    std::vector<double> part(sel.begin() + i * per, sel.begin() + (i + 1) * per);
    std::sort(part.rbegin(), part.rend());
    g.push_back(part[0] + (per > 1 ? part[1] : 0.0));
  }
  return g;
}

double diff_margin(const std::vector<double>& sel, const reference::RefHparams& hp, const std::vector<int>& ref_only,
                   const std::vector<int>& engine_only) {
  const bool groups = hp.n_group > 1;
  const size_t per = groups ? sel.size() / static_cast<size_t>(hp.n_group) : sel.size();
  std::vector<double> g;
  std::vector<bool> kept(groups ? hp.n_group : 1, true);
  double weakest_kept = 0;
  if (groups) {
    g = group_scores(sel, hp.n_group);
    std::vector<int> order(g.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return g[a] > g[b]; });
    std::fill(kept.begin(), kept.end(), false);
    for (int64_t r = 0; r < hp.n_group_used; ++r) kept[order[r]] = true;
    weakest_kept = g[order[hp.n_group_used - 1]];
  }
  double margin = 0;
  for (int a : ref_only) {
    double best = std::numeric_limits<double>::infinity();
    for (int b : engine_only) {
      const size_t gb = static_cast<size_t>(b) / per;
      const double m = kept[gb] ? std::abs(sel[a] - sel[b]) : weakest_kept - g[gb];
      best = std::min(best, m);
    }
    margin = std::max(margin, best);
  }
  return margin;
}

}  // namespace

RouteCheck compare_routes(const reference::RefOutput& ref, const reference::RefHparams& hp, const Routes& engine) {
  RouteCheck rc;
  const size_t layers = ref.experts.size();
  if (engine.size() != layers) {
    rc.error = fmt::format("routes cover {} MoE layers, expected {}", engine.size(), layers);
    return rc;
  }
  const size_t positions = layers ? ref.experts[0].size() : 0;
  for (size_t l = 0; l < layers; ++l)
    if (engine[l].size() != positions) {
      rc.error = fmt::format("routes of MoE layer {} cover {} positions, expected {}", l, engine[l].size(), positions);
      return rc;
    }
  for (size_t p = 0; p < positions; ++p) {
    for (size_t l = 0; l < layers; ++l) {
      const auto& e = engine[l][p];
      if (e.size() != static_cast<size_t>(hp.n_expert_used) || !std::is_sorted(e.begin(), e.end()) ||
          std::adjacent_find(e.begin(), e.end()) != e.end() ||
          std::any_of(e.begin(), e.end(), [&](int32_t id) { return id < 0 || id >= hp.n_expert; })) {
        rc.error = fmt::format("MoE layer {} position {}: engine chose [{}], expected {} distinct sorted ids < {}", l,
                               p, fmt::join(e, ","), hp.n_expert_used, hp.n_expert);
        return rc;
      }
      ++rc.compared;
      const auto& r = ref.experts[l][p];
      std::vector<int> ev(e.begin(), e.end());
      if (ev == r) continue;
      RouteDiff d;
      d.moe_layer = l, d.pos = p;
      std::set_difference(r.begin(), r.end(), ev.begin(), ev.end(), std::back_inserter(d.ref_only));
      std::set_difference(ev.begin(), ev.end(), r.begin(), r.end(), std::back_inserter(d.engine_only));
      d.margin = diff_margin(ref.sel[l][p], hp, d.ref_only, d.engine_only);
      rc.max_margin = std::max(rc.max_margin, d.margin);
      rc.diffs.push_back(std::move(d));
    }
  }
  return rc;
}

LogitCheck compare_logits(const reference::RefOutput& ref, std::span<const float> logits, size_t vocab,
                          size_t positions) {
  LogitCheck lc;
  if (logits.size() < positions * vocab || ref.logits.size() < positions) {
    lc.error = fmt::format("{} logits for {} positions of {} (reference has {} positions)", logits.size(), positions,
                           vocab, ref.logits.size());
    return lc;
  }
  for (size_t p = 0; p < positions; ++p) {
    const auto& r = ref.logits[p];
    if (r.size() != vocab) {
      lc.error = fmt::format("reference position {} has {} logits, expected {}", p, r.size(), vocab);
      return lc;
    }
    const auto [mn, mx] = std::minmax_element(r.begin(), r.end());
    const double range = *mx - *mn;
    for (size_t v = 0; v < vocab; ++v) {
      const double x = logits[p * vocab + v];
      if (!std::isfinite(x)) {
        lc.error = fmt::format("position {} logit {} is {}", p, v, x);
        return lc;
      }
      const double err = std::abs(x - r[v]);
      if (err > lc.max_abs) lc.max_abs = err;
      if (err / range > lc.max_rel) lc.max_rel = err / range, lc.worst_pos = p;
    }
  }
  lc.positions = positions;
  return lc;
}

double max_rel_difference(std::span<const float> a, std::span<const float> b, size_t vocab) {
  if (a.size() != b.size() || vocab == 0 || a.size() % vocab != 0) return std::numeric_limits<double>::infinity();
  double worst = 0;
  for (size_t p = 0; p < a.size() / vocab; ++p) {
    const auto row = a.subspan(p * vocab, vocab);
    const auto [mn, mx] = std::minmax_element(row.begin(), row.end());
    const double range = static_cast<double>(*mx) - *mn;
    for (size_t v = 0; v < vocab; ++v) {
      const double d = std::abs(static_cast<double>(a[p * vocab + v]) - b[p * vocab + v]);
      if (!(d / range <= worst)) worst = d / range;  // also catches NaN
    }
  }
  return worst;
}

}  // namespace mixcl::test
