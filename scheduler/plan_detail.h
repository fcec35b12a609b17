#pragma once
// Internals shared by the planner's files (plan.cpp places, plan_cost.cpp predicts, plan_report.cpp prints).
#include <cstdint>
#include <string>
#include <vector>

#include "scheduler/plan.h"

namespace mixcl::scheduler::detail {

/// Cost of `step` at its location (decode: one token; prefill: one batch of options.batch tokens), with
/// the activation copies in and out of it given where the other steps of its layer run.
StepCost step_cost(const Plan& plan, const StepPlan& step, bool prefill);

/// Seconds of one layer's steps in one phase, the shared expert and host experts overlapping where the
/// executor overlaps them (`overlap`); uses the steps' current costs. For placement choices: it includes the
/// copy of the residual on to the next layer's attention (or the head), which the phase totals cost there.
double layer_seconds(const Plan& plan, int layer, bool prefill);

/// Fills every step's decode and prefill cost, decides prefill expert streaming (into `stream_room` bytes
/// free per location, honouring `knobs`), and sums the phases with their bottleneck. Returns the location
/// that received a stream buffer and its size (0 bytes when nothing streams).
std::pair<size_t, uint64_t> cost_plan(Plan& plan, const std::vector<uint64_t>& stream_room,
                                      const SchedulingKnobs& knobs);

/// Activation scratch of a place running steps at `tokens` tokens per pass; `head` adds the logits.
uint64_t scratch_bytes(const arch::Deepseek2Config& c, uint32_t tokens, uint32_t context, bool head);

/// Compact layer list: {0,1,2,5,7,8} -> "0-2, 5, 7-8".
std::string layer_ranges(const std::vector<int>& layers);

/// Bytes per KV-cache element of a cache type (F16: 2, F32: 4); throws for other types.
uint32_t kv_elem_bytes(DType type);

}  // namespace mixcl::scheduler::detail
