#pragma once
// The gtest expectation shared by the forward checks: an engine run against the reference with the
// logit bound and the near-tie policy of docs/model_check.md.
#include <cstddef>
#include <string>

#include "tests/model_forward/engine_run.h"

namespace mixcl::test {

/// Bounds of one storage mix on one kind of arrangement (docs/model_check.md): logit error / logit range, and the
/// near-tie epsilon on the reference's selection scores.
struct MixBound {
  double logit_rel;
  double tie_eps;
};

/// Which arithmetic a run used: any layer on the host (activations quantized to 8 bits for the integer dot
/// products) or OpenCL devices only (f32 activations against dequantized weights).
enum class Arithmetic { kHost, kOpenCL };

/// The bound of a storage mix of test_models.h ("f32": the 1e-3 and no near-ties); throws for a
/// combination that was never measured.
MixBound mix_bound(const std::string& mix, Arithmetic arithmetic = Arithmetic::kHost);

/// What one comparison with the reference measured.
struct Measured {
  double max_rel = 0;      // logit error / logit range, worst position
  size_t route_diffs = 0;  // (layer, position) pairs where the engine's experts differ from the reference's
  double tie_margin = 0;   // largest reference score gap among those differences
};

/// Expects `run` to match the reference of `m` at every position. With tie_eps == 0 routing must be identical.
/// Otherwise, where the engine's experts differ, the reference is re-run following the engine's choices
/// (RefModel::forced_experts) so every later position stays comparable, and each difference must be a near-tie:
/// the reference's own score gap (compare_routes' margin) at most tie_eps. Logits: within logit_bound x the
/// position's logit range. Prints a "[measure]" line with `label`.
Measured expect_matches_reference(const LoadedModel& m, const EngineRun& run, double logit_bound, double tie_eps,
                                  const std::string& label);

}  // namespace mixcl::test
