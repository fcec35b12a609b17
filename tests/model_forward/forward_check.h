#pragma once
// Comparison of an engine's logits and expert choices with the reference forward: the logit error relative to
// each position's logit range, and routing with the near-tie policy of docs/model_check.md.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "tests/reference/deepseek2_reference.h"

namespace mixcl::test {

/// Chosen expert ids per MoE layer and position (the executor's ForwardResult::routes shape).
using Routes = std::vector<std::vector<std::vector<int32_t>>>;

/// One routing difference: where, which experts, and how close the reference's decision was.
struct RouteDiff {
  size_t moe_layer = 0, pos = 0;
  std::vector<int> ref_only, engine_only;
  double margin = 0;  // the reference's score gap that the engine's choice crossed (see margin rule)
};

/// Routing compared at every MoE layer and position.
struct RouteCheck {
  size_t compared = 0;           // (layer, position) pairs compared
  std::vector<RouteDiff> diffs;  // every difference, positions in order, layers in order within a position
  double max_margin = 0;         // largest margin among `diffs`
  std::string error;  // non-empty when the engine's routes are malformed (wrong shape, unsorted, wrong count)
};

/// Compares routes (against a reference run that followed the engine's choices, see
/// RefModel::forced_experts, every difference is judged on the same hidden state); the margin of a difference is, for each expert the reference chose and the engine did not,
/// the smallest gap to an expert the engine chose instead: |sel[a] - sel[b]| when b's group was kept by the
/// reference (or there are no groups), else the gap between b's group score and the weakest kept group score.
/// The difference's margin is the largest of these (every swapped-out expert must be explained by a near-tie).
RouteCheck compare_routes(const reference::RefOutput& ref, const reference::RefHparams& hp, const Routes& engine);

/// Logit error of the first `positions` positions.
struct LogitCheck {
  double max_rel = 0;  // max over positions of max |engine - ref| / (max ref - min ref at that position)
  double max_abs = 0;
  size_t worst_pos = 0;
  size_t positions = 0;
  std::string error;  // non-empty when the logits have the wrong size or are not finite
};

/// Compares `logits` ([n][vocab], row-major) with the reference on positions [0, positions).
LogitCheck compare_logits(const reference::RefOutput& ref, std::span<const float> logits, size_t vocab,
                          size_t positions);

/// Logit difference between two engine runs, relative to each position's logit range in `a`.
double max_rel_difference(std::span<const float> a, std::span<const float> b, size_t vocab);

}  // namespace mixcl::test
